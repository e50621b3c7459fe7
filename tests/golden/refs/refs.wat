;; ref.null, ref.is_null, ref.func and select over references
(module
  (func $f)
  (elem declare func $f)
  (func (param externref i32) (result funcref)
    (drop (ref.is_null (local.get 0)))
    (select (result funcref) (ref.func $f) (ref.null func) (local.get 1))))
