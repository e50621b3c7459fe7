;; v128 load/store, load-splat, load-lane
(module
  (memory 1)
  (func (param i32) (result v128)
    (v128.store offset=16 (local.get 0) (v128.load (local.get 0)))
    (v128.load32_lane 2 (local.get 0) (v128.load8_splat (local.get 0)))))
