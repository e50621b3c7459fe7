;; imported and defined globals, mutable and immutable (invariant loads)
(module
  (import "env" "g" (global $imp i32))
  (global $m (mut i64) (i64.const 0))
  (global $c f32 (f32.const 1.5))
  (func (result f32)
    (global.set $m (i64.extend_i32_u (global.get $imp)))
    (global.get $c)))
