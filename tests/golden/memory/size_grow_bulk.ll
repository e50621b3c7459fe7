define dso_local i32 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  store i32 %p0, ptr %l0
  %vm8.p = getelementptr inbounds i8, ptr %vmctx, i64 8
  %vm8 = load ptr, ptr %vm8.p, !invariant.load !1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  call void @wasabi_rt_memory_fill(ptr %vmctx, i32 0, i32 0, i32 1, i32 %1)
  call void @wasabi_rt_memory_copy(ptr %vmctx, i32 0, i32 0, i32 8, i32 0, i32 %1)
  call void @wasabi_rt_memory_init(ptr %vmctx, i32 0, i32 0, i32 16, i32 0, i32 3)
  call void @wasabi_rt_data_drop(ptr %vmctx, i32 0)
  %2 = getelementptr inbounds i8, ptr %vm8, i64 8
  %3 = load i64, ptr %2
  %4 = lshr i64 %3, 16
  %5 = trunc i64 %4 to i32
  %6 = call i32 @wasabi_rt_memory_grow(ptr %vmctx, i32 0, i32 %1)
  %7 = add i32 %5, %6
  ret i32 %7
}
