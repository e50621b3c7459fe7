;; a direct call to a defined function and to an imported one, with two results
(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func $pair (param i32) (result i32 i64) (local.get 0) (i64.const 5))
  (func (param i32) (result i32)
    (call $pair (call $h (local.get 0)))
    (drop)))
