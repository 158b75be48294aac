; Python definitions for review context (review::context).
; Captures: @definition.<kind> on the definition node, @name on its name.
; The first pattern capturing a node wins: methods before functions.
; Decorators are added to a definition's span in code (decorated_definition).

(class_definition
  body: (block
    [
      (function_definition
        name: (identifier) @name) @definition.method
      (decorated_definition
        definition: (function_definition
          name: (identifier) @name) @definition.method)
    ]))

(function_definition
  name: (identifier) @name) @definition.function

(class_definition
  name: (identifier) @name) @definition.class
