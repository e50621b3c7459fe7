;; golden: table_calls
;; LAZY/REPL: a call to a defined function goes through its vmctx funcs record
(module
  (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (param i32) (result i32) (call $f (local.get 0))))
