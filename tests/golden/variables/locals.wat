;; parameters and locals of every scalar type (allocas), local.tee
(module
  (func (param i32 f32) (result f64)
    (local i64 f64 v128 externref)
    (local.set 2 (i64.extend_i32_s (local.tee 0 (i32.const 3))))
    (local.set 3 (f64.promote_f32 (local.get 1)))
    (local.get 3)))
