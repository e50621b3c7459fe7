;; integer width changes, sign extension, int <-> float conversion and reinterpretation
(module
  (func (param i32 i64) (result f64)
    (drop (i64.extend_i32_u (local.get 0)))
    (drop (i32.extend8_s (local.get 0)))
    (drop (f32.reinterpret_i32 (local.get 0)))
    (drop (i64.reinterpret_f64 (f64.convert_i64_s (local.get 1))))
    (f64.promote_f32 (f32.demote_f64 (f64.convert_i32_u (local.get 0))))))
