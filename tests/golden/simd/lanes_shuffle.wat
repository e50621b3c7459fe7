;; lane extract/replace, splat, shuffle and swizzle
(module
  (func (param v128 i32) (result i32)
    (i8x16.extract_lane_u 3
      (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31
        (i32x4.replace_lane 1 (local.get 0) (local.get 1))
        (i8x16.swizzle (i8x16.splat (local.get 1)) (local.get 0))))))
