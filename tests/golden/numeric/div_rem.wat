;; trapping division and remainder (zero and overflow checks)
(module
  (func (param i32 i32 i64 i64) (result i64)
    (drop (i32.div_s (local.get 0) (local.get 1)))
    (drop (i32.rem_u (local.get 0) (local.get 1)))
    (i64.rem_s (local.get 2) (local.get 3))))
