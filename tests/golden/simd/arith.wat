;; v128 integer and float lanes: add, mul, min, compare, bitselect
(module
  (func (param v128 v128) (result v128)
    (v128.bitselect
      (i32x4.add (local.get 0) (local.get 1))
      (f32x4.min (local.get 0) (local.get 1))
      (i16x8.eq (i16x8.mul (local.get 0) (local.get 1)) (local.get 0)))))
