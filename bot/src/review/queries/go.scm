; Go definitions for review context (review::context).
; Captures: @definition.<kind> on the definition node, @name on its name, @receiver on a
; method's receiver type (its text is cleaned of `*` and type parameters in code).
; The first pattern capturing a node wins: struct and interface before plain types.

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: (_) @receiver))
  name: (field_identifier) @name) @definition.method

(function_declaration
  name: (identifier) @name) @definition.function

; Methods an interface declares.
(method_elem
  name: (field_identifier) @name) @definition.method

(type_spec
  name: (type_identifier) @name
  type: (struct_type)) @definition.struct

(type_spec
  name: (type_identifier) @name
  type: (interface_type)) @definition.interface

(type_spec
  name: (type_identifier) @name) @definition.type

(type_alias
  name: (type_identifier) @name) @definition.type
