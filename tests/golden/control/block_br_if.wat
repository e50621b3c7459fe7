;; a block whose result comes from a br_if and from its fallthrough (an end phi)
(module
  (func (param i32) (result i32)
    (block (result i32)
      (br_if 0 (i32.const 7) (local.get 0))
      (drop)
      (i32.const 9))))
