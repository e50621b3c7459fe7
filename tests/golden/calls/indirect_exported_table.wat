;; call_indirect through an exported table: the host may set another instance's
;; function into it, so the callee's vmctx is compared and its gate entered
(module
  (type $ii (func (param i32) (result i32)))
  (table (export "t") 2 funcref)
  (func $id (type $ii) (local.get 0))
  (elem (i32.const 0) $id)
  (func (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 0) (local.get 1))))
