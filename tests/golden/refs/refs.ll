define dso_local void @wasm_f0(ptr %vmctx) #0 section ".text.wasabi" {
entry:
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call void @wasabi_rt_stack_slow(ptr %vmctx)
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
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load ptr, ptr %l0
  %v2 = icmp eq ptr %v1, null
  %v3 = zext i1 %v2 to i32
  %v4 = getelementptr inbounds i8, ptr %vm24, i64 0
  %v5 = load i32, ptr %l1
  %v6 = icmp ne i32 %v5, 0
  %v7 = select i1 %v6, ptr %v4, ptr null
  ret ptr %v7
}
