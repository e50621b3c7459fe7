;; i32/i64 arithmetic, comparisons, shifts, rotates and bit counts
(module
  (func (param i32 i32 i64) (result i32)
    (i32.add
      (i32.rotl (i32.shl (local.get 0) (local.get 1)) (i32.popcnt (local.get 1)))
      (i32.add (i32.lt_s (local.get 0) (local.get 1))
               (i32.wrap_i64 (i64.clz (i64.mul (local.get 2) (i64.const -3))))))))
