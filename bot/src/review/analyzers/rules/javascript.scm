; JavaScript security rules, also compiled against the TypeScript and TSX grammars (which
; extend JavaScript's), so only node kinds all three share appear here. Each pattern names
; its rule with (#set! rule "…") and captures the reported node as @finding; the #…?
; predicates tree-sitter does not know are checked in security/predicates.rs.

; ---- CWE-78: shell command built from a variable --------------------------------------

; child_process.exec(`git log ${ref}`), cp.execSync("rm -rf " + dir)
((call_expression
   function: (member_expression
     object: (_) @_object
     property: (property_identifier) @_function)
   arguments: (arguments
     .
     (_) @command)) @finding
 (#match? @_object "^(child_process|childProcess|cp|shell|shelljs|require\\([\"'](node:)?child_process[\"']\\))$")
 (#any-of? @_function "exec" "execSync")
 (#built-string? @command)
 (#set! rule "javascript.child-process-exec"))

; import { exec } from "child_process"; exec(`convert ${file}`)
((call_expression
   function: (identifier) @_function
   arguments: (arguments
     .
     (_) @command)) @finding
 (#any-of? @_function "exec" "execSync")
 (#file-mentions? "child_process")
 (#built-string? @command)
 (#set! rule "javascript.child-process-exec"))

; ---- CWE-89: SQL built from a template or concatenation ---------------------------------

; db.query(`SELECT … ${id}`), knex.raw("… " + x), prisma.$queryRawUnsafe(`…${x}`)
((call_expression
   function: (member_expression
     property: (property_identifier) @_method)
   arguments: (arguments
     .
     (_) @query)) @finding
 (#any-of? @_method
   "query" "execute" "raw" "unsafe" "$queryRawUnsafe" "$executeRawUnsafe")
 (#built-sql? @query)
 (#set! rule "javascript.sql-string-building"))

; ---- CWE-95: dynamic code evaluation ----------------------------------------------------

; eval(code)
((call_expression
   function: (identifier) @_function
   arguments: (arguments
     .
     (_) @code)) @finding
 (#eq? @_function "eval")
 (#dynamic? @code)
 (#set! rule "javascript.eval"))

; new Function("a", body)
((new_expression
   constructor: (identifier) @_class
   arguments: (arguments
     (_) @code)) @finding
 (#eq? @_class "Function")
 (#dynamic? @code)
 (#set! rule "javascript.new-function"))

; setTimeout("refresh(" + id + ")", 100)
((call_expression
   function: (identifier) @_function
   arguments: (arguments
     .
     (_) @code)) @finding
 (#any-of? @_function "setTimeout" "setInterval")
 (#built-string? @code)
 (#set! rule "javascript.timer-string"))

; window.setTimeout(`refresh(${id})`, 100)
((call_expression
   function: (member_expression
     property: (property_identifier) @_function)
   arguments: (arguments
     .
     (_) @code)) @finding
 (#any-of? @_function "setTimeout" "setInterval")
 (#built-string? @code)
 (#set! rule "javascript.timer-string"))

; ---- CWE-295: TLS verification turned off -----------------------------------------------

; { rejectUnauthorized: false }
((pair
   key: (_) @_key
   value: (false)) @finding
 (#match? @_key "^[\"']?rejectUnauthorized[\"']?$")
 (#set! rule "javascript.reject-unauthorized-false"))

; options.rejectUnauthorized = false
((assignment_expression
   left: (member_expression
     property: (property_identifier) @_key)
   right: (false)) @finding
 (#eq? @_key "rejectUnauthorized")
 (#set! rule "javascript.reject-unauthorized-false"))

; process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"
((assignment_expression
   left: (member_expression
     property: (property_identifier) @_name)
   right: (_) @_value) @finding
 (#eq? @_name "NODE_TLS_REJECT_UNAUTHORIZED")
 (#match? @_value "^([\"'`]0[\"'`]|0)$")
 (#set! rule "javascript.node-tls-reject-unauthorized"))

; process.env["NODE_TLS_REJECT_UNAUTHORIZED"] = "0"
((assignment_expression
   left: (subscript_expression
     index: (string) @_name)
   right: (_) @_value) @finding
 (#match? @_name "^[\"']NODE_TLS_REJECT_UNAUTHORIZED[\"']$")
 (#match? @_value "^([\"'`]0[\"'`]|0)$")
 (#set! rule "javascript.node-tls-reject-unauthorized"))

; spawn(cmd, { env: { NODE_TLS_REJECT_UNAUTHORIZED: "0" } })
((pair
   key: (_) @_name
   value: (_) @_value) @finding
 (#match? @_name "^[\"']?NODE_TLS_REJECT_UNAUTHORIZED[\"']?$")
 (#match? @_value "^([\"'`]0[\"'`]|0)$")
 (#set! rule "javascript.node-tls-reject-unauthorized"))

; ---- CWE-916: weak hash of a password ---------------------------------------------------

; crypto.createHash("md5").update(password).digest("hex")
((call_expression
   function: [
     (identifier) @_function
     (member_expression
       property: (property_identifier) @_function)
   ]
   arguments: (arguments
     .
     (string) @_algorithm)) @finding
 (#eq? @_function "createHash")
 (#match? @_algorithm "^[\"'](?i:md5|sha-?1)[\"']$")
 (#password-hash? @finding)
 (#set! rule "javascript.weak-password-hash"))
