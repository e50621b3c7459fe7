;; loads and stores with offsets in guard-page mode (no bounds checks)
(module
  (memory 1)
  (func (param i32) (result i64)
    (i32.store offset=4 (local.get 0) (i32.load8_u offset=1 (local.get 0)))
    (i64.load16_s offset=8 align=2 (local.get 0))))
