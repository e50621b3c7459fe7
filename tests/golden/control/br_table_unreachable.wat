;; br_table to three labels, return, unreachable and the dead code after them
(module
  (func (param i32) (result i32)
    (block
      (block
        (br_table 0 1 0 (local.get 0)))
      (return (i32.const 1)))
    (unreachable)
    (i32.const 2)))
