; Rust security rules. Each pattern names its rule with (#set! rule "…") and captures the
; reported node as @finding; the #…? predicates tree-sitter does not know are checked in
; security/predicates.rs. Captures starting with _ only feed predicates.

; ---- CWE-78: shell script built from a variable -----------------------------------------

; Command::new("sh").arg("-c").arg(format!("tar xf {name}"))
((call_expression
   function: (field_expression
     value: (call_expression
       function: (field_expression
         value: (call_expression
           function: (scoped_identifier
             path: (_) @_type
             name: (identifier) @_new)
           arguments: (arguments
             .
             (string_literal) @_shell
             .))
         field: (field_identifier) @_arg)
       arguments: (arguments
         .
         (string_literal) @_flag
         .))
     field: (field_identifier) @_arg2)
   arguments: (arguments
     .
     (_) @script
     .)) @finding
 (#match? @_type "(^|::)Command$")
 (#eq? @_new "new")
 (#match? @_shell "^\"(/usr)?(/bin/)?(sh|bash|zsh|dash|ksh)\"$")
 (#eq? @_arg "arg")
 (#eq? @_flag "\"-c\"")
 (#eq? @_arg2 "arg")
 (#dynamic? @script)
 (#set! rule "rust.shell-command-format"))

; Command::new("bash").args(["-c", &script])
((call_expression
   function: (field_expression
     value: (call_expression
       function: (scoped_identifier
         path: (_) @_type
         name: (identifier) @_new)
       arguments: (arguments
         .
         (string_literal) @_shell
         .))
     field: (field_identifier) @_args)
   arguments: (arguments
     .
     [
       (array_expression
         .
         (string_literal) @_flag
         .
         (_) @script)
       (reference_expression
         value: (array_expression
           .
           (string_literal) @_flag
           .
           (_) @script))
     ]
     .)) @finding
 (#match? @_type "(^|::)Command$")
 (#eq? @_new "new")
 (#match? @_shell "^\"(/usr)?(/bin/)?(sh|bash|zsh|dash|ksh)\"$")
 (#eq? @_args "args")
 (#eq? @_flag "\"-c\"")
 (#dynamic? @script)
 (#set! rule "rust.shell-command-format"))

; ---- CWE-89: SQL built with format! -----------------------------------------------------

; sqlx::query(&format!("SELECT … WHERE name = '{name}'")), query_as::<_, T>(&format!(…))
((call_expression
   function: [
     (identifier) @_function
     (scoped_identifier
       name: (identifier) @_function)
     (generic_function
       function: [
         (identifier) @_function
         (scoped_identifier
           name: (identifier) @_function)
       ])
   ]
   arguments: (arguments
     .
     (_) @query)) @finding
 (#any-of? @_function
   "query" "query_as" "query_scalar" "query_with" "query_as_with" "query_scalar_with"
   "raw_sql" "sql_query")
 (#built-sql? @query)
 (#set! rule "rust.sql-format"))

; conn.execute(&format!("DELETE … {id}"), []) (rusqlite, postgres, diesel)
((call_expression
   function: (field_expression
     field: (field_identifier) @_method)
   arguments: (arguments
     .
     (_) @query)) @finding
 (#any-of? @_method
   "execute" "query" "query_row" "query_one" "query_opt" "prepare" "prepare_cached"
   "batch_execute" "execute_batch" "simple_query")
 (#built-sql? @query)
 (#set! rule "rust.sql-format"))

; ---- CWE-295: TLS verification turned off -----------------------------------------------

; reqwest::Client::builder().danger_accept_invalid_certs(true)
((call_expression
   function: (field_expression
     field: (field_identifier) @finding)
   arguments: (arguments
     .
     (boolean_literal) @_value
     .))
 (#any-of? @finding "danger_accept_invalid_certs" "danger_accept_invalid_hostnames")
 (#eq? @_value "true")
 (#set! rule "rust.danger-accept-invalid-certs"))

; ---- CWE-916: weak hash of a password ---------------------------------------------------

; md5::compute(password), Sha1::digest(password.as_bytes()), Md5::new() + update(password)
((call_expression
   function: (scoped_identifier
     path: (_) @_path
     name: (identifier) @_function)) @finding
 (#match? @_path "(^|::)(md5|Md5|sha1|Sha1)$")
 (#any-of? @_function "compute" "digest" "new" "new_with_prefix")
 (#password-hash? @finding)
 (#set! rule "rust.weak-password-hash"))
