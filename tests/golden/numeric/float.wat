;; float arithmetic, min/max (NaN and signed-zero rules), copysign, sqrt, nearest, constants
(module
  (func (param f32 f64 f64) (result f64)
    (drop (f32.min (local.get 0) (f32.const -0.0)))
    (f64.add
      (f64.max (local.get 1) (local.get 2))
      (f64.copysign (f64.sqrt (local.get 1)) (f64.nearest (f64.const 0x1.8p+1))))))
