define dso_local void @wasm_f0(ptr %vmctx) #0 section ".text.wasabi" {
entry:
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  ret void
}
define dso_local i32 @wasm_f1(ptr %vmctx, i32 %p0, ptr %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca ptr
  store i32 %p0, ptr %l0
  store ptr %p1, ptr %l1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  %2 = call ptr @wasabi_rt_table_get(ptr %vmctx, i32 0, i32 0)
  call void @wasabi_rt_table_set(ptr %vmctx, i32 0, i32 %1, ptr %2)
  %3 = load ptr, ptr %l1
  call void @wasabi_rt_table_fill(ptr %vmctx, i32 1, i32 0, ptr %3, i32 1)
  call void @wasabi_rt_table_copy(ptr %vmctx, i32 0, i32 0, i32 0, i32 1, i32 1)
  call void @wasabi_rt_table_init(ptr %vmctx, i32 0, i32 0, i32 0, i32 0, i32 1)
  call void @wasabi_rt_elem_drop(ptr %vmctx, i32 0)
  %4 = call i32 @wasabi_rt_table_size(ptr %vmctx, i32 0)
  %5 = call i32 @wasabi_rt_table_grow(ptr %vmctx, i32 1, ptr %3, i32 %1)
  %6 = add i32 %4, %5
  ret i32 %6
}
