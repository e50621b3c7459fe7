;; call_indirect through table 0: bounds, null and signature checks
(module
  (type $ii (func (param i32) (result i32)))
  (table 2 funcref)
  (func $id (type $ii) (local.get 0))
  (elem (i32.const 0) $id)
  (func (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 0) (local.get 1))))
