; Go security rules. Each pattern names its rule with (#set! rule "…") and captures the
; reported node as @finding; the #…? predicates tree-sitter does not know are checked in
; security/predicates.rs. Captures starting with _ only feed predicates.

; ---- CWE-78: shell command built from a variable --------------------------------------

; exec.Command("sh", "-c", "tar xf " + name)
((call_expression
   function: (selector_expression
     operand: (identifier) @_package
     field: (field_identifier) @_function)
   arguments: (argument_list
     .
     (interpreted_string_literal) @_shell
     .
     (interpreted_string_literal) @_flag
     .
     (_) @script)) @finding
 (#eq? @_package "exec")
 (#eq? @_function "Command")
 (#match? @_shell "^\"(/usr)?(/bin/)?(sh|bash|zsh|dash|ksh)\"$")
 (#eq? @_flag "\"-c\"")
 (#dynamic? @script)
 (#set! rule "go.exec-shell-command"))

; exec.CommandContext(ctx, "bash", "-c", fmt.Sprintf("…%s", x))
((call_expression
   function: (selector_expression
     operand: (identifier) @_package
     field: (field_identifier) @_function)
   arguments: (argument_list
     .
     (_)
     .
     (interpreted_string_literal) @_shell
     .
     (interpreted_string_literal) @_flag
     .
     (_) @script)) @finding
 (#eq? @_package "exec")
 (#eq? @_function "CommandContext")
 (#match? @_shell "^\"(/usr)?(/bin/)?(sh|bash|zsh|dash|ksh)\"$")
 (#eq? @_flag "\"-c\"")
 (#dynamic? @script)
 (#set! rule "go.exec-shell-command"))

; ---- CWE-89: SQL built by formatting or concatenation ---------------------------------

; db.Query(fmt.Sprintf("SELECT … WHERE name = '%s'", name)), tx.Exec("DELETE … " + id)
((call_expression
   function: (selector_expression
     field: (field_identifier) @_method)
   arguments: (argument_list
     (_) @query)) @finding
 (#any-of? @_method
   "Query" "QueryContext" "QueryRow" "QueryRowContext" "Exec" "ExecContext"
   "Prepare" "PrepareContext" "Queryx" "QueryRowx" "MustExec" "Select" "Get" "Raw")
 (#built-sql? @query)
 (#set! rule "go.sql-string-building"))

; ---- CWE-295: TLS verification turned off -----------------------------------------------

; &tls.Config{InsecureSkipVerify: true}
((keyed_element
   key: (literal_element
     (_) @_field)
   value: (literal_element
     (true))) @finding
 (#eq? @_field "InsecureSkipVerify")
 (#set! rule "go.insecure-skip-verify"))

; config.InsecureSkipVerify = true
((assignment_statement
   left: (expression_list
     (selector_expression
       field: (field_identifier) @_field))
   right: (expression_list
     (true))) @finding
 (#eq? @_field "InsecureSkipVerify")
 (#set! rule "go.insecure-skip-verify"))

; ---- CWE-916: weak hash of a password ---------------------------------------------------

; md5.Sum([]byte(password)); h := sha1.New(); h.Write([]byte(password))
((call_expression
   function: (selector_expression
     operand: (identifier) @_package
     field: (field_identifier) @_function)) @finding
 (#any-of? @_package "md5" "sha1")
 (#any-of? @_function "Sum" "New")
 (#password-hash? @finding)
 (#set! rule "go.weak-password-hash"))
