; Python security rules. Each pattern names its rule with (#set! rule "…") and captures the
; reported node as @finding; the #…? predicates tree-sitter does not know are checked in
; security/predicates.rs. Captures starting with _ only feed predicates.

; ---- CWE-78: shell command built from a variable --------------------------------------

; subprocess.run(f"ls {path}", shell=True)
((call
   function: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_function)
   arguments: (argument_list
     .
     (_) @command
     (keyword_argument
       name: (identifier) @_shell
       value: (true)))) @finding
 (#eq? @_module "subprocess")
 (#any-of? @_function "call" "run" "Popen" "check_call" "check_output")
 (#eq? @_shell "shell")
 (#dynamic? @command)
 (#set! rule "python.subprocess-shell-true"))

; from subprocess import run; run(cmd, shell=True)
((call
   function: (identifier) @_function
   arguments: (argument_list
     .
     (_) @command
     (keyword_argument
       name: (identifier) @_shell
       value: (true)))) @finding
 (#any-of? @_function "call" "run" "Popen" "check_call" "check_output")
 (#eq? @_shell "shell")
 (#dynamic? @command)
 (#set! rule "python.subprocess-shell-true"))

; os.system("rm " + path), os.popen(cmd), subprocess.getoutput(f"…")
((call
   function: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_function)
   arguments: (argument_list
     .
     (_) @command)) @finding
 (#any-of? @_module "os" "subprocess" "commands")
 (#any-of? @_function "system" "popen" "getoutput" "getstatusoutput")
 (#dynamic? @command)
 (#set! rule "python.os-system"))

; ---- CWE-89: SQL built by formatting ----------------------------------------------------

; cursor.execute(f"SELECT … {x}"), cursor.execute("… %s" % x), pd.read_sql("…" + x, conn)
((call
   function: (attribute
     attribute: (identifier) @_method)
   arguments: (argument_list
     .
     (_) @query)) @finding
 (#any-of? @_method
   "execute" "executemany" "executescript" "mogrify" "raw" "read_sql" "read_sql_query")
 (#built-sql? @query)
 (#set! rule "python.sql-string-formatting"))

; ---- CWE-95: dynamic code evaluation ----------------------------------------------------

; eval(expression), exec(code)
((call
   function: (identifier) @_function
   arguments: (argument_list
     .
     (_) @code)) @finding
 (#any-of? @_function "eval" "exec")
 (#dynamic? @code)
 (#set! rule "python.eval"))

; ---- CWE-502: unsafe deserialisation ----------------------------------------------------

; pickle.loads(data), pickle.load(f), pickle.Unpickler(f)
((call
   function: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_function)) @finding
 (#any-of? @_module "pickle" "cPickle" "_pickle" "dill" "cloudpickle")
 (#any-of? @_function "load" "loads" "Unpickler")
 (#set! rule "python.pickle-load"))

; marshal.loads(data)
((call
   function: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_function)) @finding
 (#eq? @_module "marshal")
 (#any-of? @_function "load" "loads")
 (#set! rule "python.marshal-load"))

; yaml.load(data), yaml.load(data, Loader=yaml.Loader | FullLoader | UnsafeLoader)
((call
   function: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_function)
   arguments: (argument_list) @arguments) @finding
 (#eq? @_module "yaml")
 (#any-of? @_function "load" "load_all")
 (#yaml-unsafe? @arguments)
 (#set! rule "python.yaml-unsafe-load"))

; yaml.unsafe_load(data), yaml.full_load(data)
((call
   function: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_function)) @finding
 (#eq? @_module "yaml")
 (#any-of? @_function "unsafe_load" "unsafe_load_all" "full_load" "full_load_all")
 (#set! rule "python.yaml-unsafe-load"))

; ---- CWE-295: TLS verification turned off -----------------------------------------------

; requests.get(url, verify=False), session.post(…, verify=False), httpx.Client(verify=False)
((call
   function: (attribute
     attribute: (identifier) @_method)
   arguments: (argument_list
     (keyword_argument
       name: (identifier) @_verify
       value: (false)) @finding))
 (#eq? @_verify "verify")
 (#any-of? @_method
   "get" "post" "put" "patch" "delete" "head" "options" "request" "send" "stream"
   "Client" "AsyncClient")
 (#set! rule "python.requests-verify-false"))

; session.verify = False
((assignment
   left: (attribute
     object: (_) @_object
     attribute: (identifier) @_verify)
   right: (false)) @finding
 (#eq? @_verify "verify")
 (#match? @_object "(?i)(session|client)$")
 (#set! rule "python.requests-verify-false"))

; ssl._create_unverified_context(), also assigned as the default context factory
((attribute
   object: (identifier) @_module
   attribute: (identifier) @_attribute) @finding
 (#eq? @_module "ssl")
 (#eq? @_attribute "_create_unverified_context")
 (#set! rule "python.ssl-unverified-context"))

; context.verify_mode = ssl.CERT_NONE
((assignment
   left: (attribute
     attribute: (identifier) @_attribute)
   right: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_none)) @finding
 (#eq? @_attribute "verify_mode")
 (#eq? @_module "ssl")
 (#eq? @_none "CERT_NONE")
 (#set! rule "python.ssl-unverified-context"))

; ssl.wrap_socket(sock, cert_reqs=ssl.CERT_NONE)
((keyword_argument
   name: (identifier) @_name
   value: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_none)) @finding
 (#eq? @_name "cert_reqs")
 (#eq? @_module "ssl")
 (#eq? @_none "CERT_NONE")
 (#set! rule "python.ssl-unverified-context"))

; ---- CWE-916: weak hash of a password ---------------------------------------------------

; hashlib.md5(password.encode()).hexdigest()
((call
   function: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_function)) @finding
 (#eq? @_module "hashlib")
 (#any-of? @_function "md5" "sha1")
 (#password-hash? @finding)
 (#set! rule "python.weak-password-hash"))

; hashlib.new("md5", password)
((call
   function: (attribute
     object: (identifier) @_module
     attribute: (identifier) @_function)
   arguments: (argument_list
     .
     (string) @_algorithm)) @finding
 (#eq? @_module "hashlib")
 (#eq? @_function "new")
 (#match? @_algorithm "^[bBrRuU]*[\"'](?i:md5|sha-?1)[\"']$")
 (#password-hash? @finding)
 (#set! rule "python.weak-password-hash"))

; from hashlib import md5; md5(password)
((call
   function: (identifier) @_function) @finding
 (#any-of? @_function "md5" "sha1")
 (#password-hash? @finding)
 (#set! rule "python.weak-password-hash"))
