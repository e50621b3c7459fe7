;; a counting loop (header phi of a loop parameter) with if/else inside
(module
  (func (param i32) (result i32)
    (local.get 0)
    (loop (param i32) (result i32)
      (if (param i32) (result i32) (i32.eqz (local.get 0))
        (then)
        (else (i32.const 1) (i32.add)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if 0 (local.tee 0 (local.get 0))))))
