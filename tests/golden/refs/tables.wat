;; table.get/set/size/grow/fill/copy/init and elem.drop
(module
  (table $t 2 funcref)
  (table $u 1 externref)
  (func $f)
  (elem $e func $f)
  (func (param i32 externref) (result i32)
    (table.set $t (local.get 0) (table.get $t (i32.const 0)))
    (table.fill $u (i32.const 0) (local.get 1) (i32.const 1))
    (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))
    (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop $e)
    (i32.add (table.size $t) (table.grow $u (local.get 1) (local.get 0)))))
