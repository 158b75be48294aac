; Rust definitions for review context (review::context).
; Captures: @definition.<kind> on the definition node, @name on its name.
; When several patterns capture the same node, the first pattern in this file wins,
; so the specific ones (methods) come before the general ones (functions).

; Methods: functions in an impl or trait body (a mod body is a declaration_list too,
; hence the explicit parents).
(impl_item
  body: (declaration_list
    (function_item
      name: (identifier) @name) @definition.method))

(trait_item
  body: (declaration_list
    [
      (function_item
        name: (identifier) @name)
      (function_signature_item
        name: (identifier) @name)
    ] @definition.method))

(function_item
  name: (identifier) @name) @definition.function

; `impl Type` and `impl Trait for Type`: @name is the implementing type (its text is
; cleaned of generics, references and paths in code).
(impl_item
  type: (_) @name) @definition.impl

(struct_item
  name: (type_identifier) @name) @definition.struct

(union_item
  name: (type_identifier) @name) @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(trait_item
  name: (type_identifier) @name) @definition.trait

(type_item
  name: (type_identifier) @name) @definition.type

; Only inline modules: `mod foo;` has no body to enclose anything.
(mod_item
  name: (identifier) @name
  body: (declaration_list)) @definition.module

(macro_definition
  name: (identifier) @name) @definition.macro
