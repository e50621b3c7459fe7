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
define dso_local ptr @wasm_f1(ptr %vmctx, ptr %p0, i32 %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca ptr
  %l1 = alloca i32
  store ptr %p0, ptr %l0
  store i32 %p1, ptr %l1
  %vm24.p = getelementptr inbounds i8, ptr %vmctx, i64 24
  %vm24 = load ptr, ptr %vm24.p, !invariant.load !1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load ptr, ptr %l0
  %2 = icmp eq ptr %1, null
  %3 = zext i1 %2 to i32
  %4 = getelementptr inbounds i8, ptr %vm24, i64 0
  %5 = load i32, ptr %l1
  %6 = icmp ne i32 %5, 0
  %7 = select i1 %6, ptr %4, ptr null
  ret ptr %7
}
