; Java security rules. Each pattern names its rule with (#set! rule "…") and captures the
; reported node as @finding, plus as @span a larger node whose added lines also count; the
; #…? predicates tree-sitter does not know are checked in security/predicates.rs. Captures
; starting with _ only feed predicates.

; ---- CWE-78: command built from a variable ----------------------------------------------

; Runtime.getRuntime().exec("ping " + host)
((method_invocation
   object: (method_invocation
     object: (identifier) @_class
     name: (identifier) @_get)
   name: (identifier) @_exec
   arguments: (argument_list
     .
     (_) @command)) @finding
 (#eq? @_class "Runtime")
 (#eq? @_get "getRuntime")
 (#eq? @_exec "exec")
 (#shell-injectable? @command)
 (#set! rule "java.runtime-exec"))

; Runtime rt = Runtime.getRuntime(); rt.exec(command)
((method_invocation
   object: (identifier) @_runtime
   name: (identifier) @_exec
   arguments: (argument_list
     .
     (_) @command)) @finding
 (#match? @_runtime "^(rt|runtime)$")
 (#eq? @_exec "exec")
 (#shell-injectable? @command)
 (#set! rule "java.runtime-exec"))

; new ProcessBuilder("sh", "-c", "tar xf " + name)
((object_creation_expression
   type: (_) @_class
   arguments: (argument_list
     .
     (string_literal) @_shell
     .
     (string_literal) @_flag
     .
     (_) @script)) @finding
 (#match? @_class "(^|\\.)ProcessBuilder$")
 (#match? @_shell "^\"(/usr)?(/bin/)?(sh|bash|zsh|dash|ksh|cmd|cmd\\.exe)\"$")
 (#match? @_flag "^\"[-/]c\"$")
 (#dynamic? @script)
 (#set! rule "java.process-builder-shell"))

; ---- CWE-89: SQL built by concatenation or formatting -----------------------------------

; statement.executeQuery("SELECT … WHERE name = '" + name + "'")
((method_invocation
   name: (identifier) @_method
   arguments: (argument_list
     .
     (_) @query)) @finding
 (#any-of? @_method
   "executeQuery" "executeUpdate" "executeLargeUpdate" "execute" "addBatch"
   "prepareStatement" "prepareCall" "createQuery" "createNativeQuery" "createSQLQuery"
   "queryForObject" "queryForList" "queryForMap" "queryForRowSet" "query" "update"
   "batchUpdate")
 (#built-sql? @query)
 (#set! rule "java.sql-string-building"))

; ---- CWE-502: unsafe deserialisation ----------------------------------------------------

; new ObjectInputStream(input) … readObject()
((object_creation_expression
   type: (_) @_class) @finding
 (#match? @_class "(^|\\.)ObjectInputStream$")
 (#reads-object? @finding)
 (#set! rule "java.object-input-stream"))

; ---- CWE-295: TLS verification turned off -----------------------------------------------

; public void checkServerTrusted(X509Certificate[] chain, String authType) {}
((method_declaration
   name: (identifier) @finding
   body: (block) @body) @span
 (#eq? @finding "checkServerTrusted")
 (#empty-body? @body)
 (#set! rule "java.trust-all-certificates"))

; public boolean verify(String hostname, SSLSession session) { return true; }
((method_declaration
   name: (identifier) @finding
   parameters: (formal_parameters
     (formal_parameter)
     (formal_parameter
       type: (type_identifier) @_session))
   body: (block
     (return_statement
       (true)) @return)) @span
 (#eq? @finding "verify")
 (#eq? @_session "SSLSession")
 (#only-statement? @return)
 (#set! rule "java.hostname-verifier-accept-all"))

; connection.setHostnameVerifier((host, session) -> true)
((method_invocation
   name: (identifier) @_method
   arguments: (argument_list
     (lambda_expression
       body: (true)) @finding))
 (#any-of? @_method
   "setHostnameVerifier" "setDefaultHostnameVerifier" "hostnameVerifier"
   "setSSLHostnameVerifier")
 (#set! rule "java.hostname-verifier-accept-all"))

; new NoopHostnameVerifier()
((object_creation_expression
   type: (type_identifier) @_class) @finding
 (#eq? @_class "NoopHostnameVerifier")
 (#set! rule "java.hostname-verifier-accept-all"))

; NoopHostnameVerifier.INSTANCE, SSLConnectionSocketFactory.ALLOW_ALL_HOSTNAME_VERIFIER
((field_access
   object: (identifier) @_class
   field: (identifier) @_field) @finding
 (#any-of? @_class "NoopHostnameVerifier" "SSLConnectionSocketFactory" "SSLSocketFactory")
 (#any-of? @_field "INSTANCE" "ALLOW_ALL_HOSTNAME_VERIFIER")
 (#set! rule "java.hostname-verifier-accept-all"))

; ---- CWE-916: weak hash of a password ---------------------------------------------------

; MessageDigest.getInstance("MD5").digest(password.getBytes())
((method_invocation
   object: (identifier) @_class
   name: (identifier) @_method
   arguments: (argument_list
     .
     (string_literal) @_algorithm)) @finding
 (#eq? @_class "MessageDigest")
 (#eq? @_method "getInstance")
 (#match? @_algorithm "^\"(?i:md5|md2|sha-?1)\"$")
 (#password-hash? @finding)
 (#set! rule "java.weak-password-hash"))
