;; trapping float -> int truncation and the saturating forms
(module
  (func (param f32 f64) (result i64)
    (drop (i32.trunc_f32_s (local.get 0)))
    (drop (i32.trunc_sat_f64_u (local.get 1)))
    (i64.trunc_f64_u (local.get 1))))
