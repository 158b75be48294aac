; JavaScript definitions for review context (review::context).
; Captures: @definition.<kind> on the definition node, @name on its name, @receiver on
; the object a function is assigned to (`Router.prototype.handle = function …`), and
; @export.name on identifiers a CommonJS module exports (`module.exports = name`).
; The first pattern capturing a node wins, so a function bound to a name is known by
; that name rather than by its own (`app.init = function init() {}` is `app.init`).

(method_definition
  name: (_) @name) @definition.method

(field_definition
  property: (_) @name
  value: [(arrow_function) (function_expression) (generator_function)] @definition.method)

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)] @definition.function)

; `module.exports = function …` names nothing (the function's own name, if any, is used).
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

(function_expression
  name: (identifier) @name) @definition.function

(generator_function
  name: (identifier) @name) @definition.function

(class_declaration
  name: (_) @name) @definition.class

(class
  name: (_) @name) @definition.class

; CommonJS exports: `module.exports = name`, `exports.x = name`, `module.exports = { a, b }`.
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

(assignment_expression
  left: (member_expression
    object: (identifier) @_module
    property: (property_identifier) @_exports)
  right: (object
    (shorthand_property_identifier) @export.name)
  (#eq? @_module "module")
  (#eq? @_exports "exports"))
