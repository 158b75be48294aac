; TypeScript definitions for review context (review::context); also used for TSX.
; Captures: @definition.<kind> on the definition node, @name on its name, @receiver on
; the object a function is assigned to, @export.name on CommonJS-exported identifiers.
; The first pattern capturing a node wins (a bound name beats a function's own name).

(method_definition
  name: (_) @name) @definition.method

(method_signature
  name: (_) @name) @definition.method

(abstract_method_signature
  name: (_) @name) @definition.method

(public_field_definition
  name: (_) @name
  value: [(arrow_function) (function_expression) (generator_function)] @definition.method)

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)] @definition.function)

(assignment_expression
  left: (member_expression
    object: (_) @receiver
    property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)] @definition.function
  (#not-eq? @name "exports"))

(assignment_expression
  left: (identifier) @name
  right: [(arrow_function) (function_expression) (generator_function)] @definition.function)

(pair
  key: [(property_identifier) (string)] @name
  value: [(arrow_function) (function_expression) (generator_function)] @definition.function)

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

; Overloads and `declare function`.
(function_signature
  name: (identifier) @name) @definition.function

(function_expression
  name: (identifier) @name) @definition.function

(generator_function
  name: (identifier) @name) @definition.function

(class_declaration
  name: (_) @name) @definition.class

(abstract_class_declaration
  name: (_) @name) @definition.class

(class
  name: (_) @name) @definition.class

(interface_declaration
  name: (_) @name) @definition.interface

(enum_declaration
  name: (_) @name) @definition.enum

(type_alias_declaration
  name: (_) @name) @definition.type

; `namespace A {}` and `module "x" {}`.
(internal_module
  name: (_) @name) @definition.module

(module
  name: (_) @name) @definition.module

; CommonJS exports, as in JavaScript.
(assignment_expression
  left: (member_expression
    object: (identifier) @_module
    property: (property_identifier) @_exports)
  right: (identifier) @export.name
  (#eq? @_module "module")
  (#eq? @_exports "exports"))

(assignment_expression
  left: (member_expression
    object: (identifier) @_exports)
  right: (identifier) @export.name
  (#eq? @_exports "exports"))
