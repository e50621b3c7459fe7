define dso_local void @wasm_f0(ptr %vmctx) #0 section ".text.wasabi" {
entry:
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %trap10, label %entry.poll, !prof !2
entry.poll:
  %hint.p1 = getelementptr inbounds i8, ptr %vmctx, i64 88
  %hint1 = load volatile i64, ptr %hint.p1, align 8
  %hint.set1 = icmp ne i64 %hint1, 0
  br i1 %hint.set1, label %poll1, label %body, !prof !2
poll1:
  call void @wasabi_rt_poll(ptr %vmctx)
  br label %body
body:
  ret void
trap10:
  call void @wasabi_rt_trap(i32 10)
  unreachable
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
  br i1 %sov, label %trap10, label %entry.poll, !prof !2
entry.poll:
  %hint.p8 = getelementptr inbounds i8, ptr %vmctx, i64 88
  %hint8 = load volatile i64, ptr %hint.p8, align 8
  %hint.set8 = icmp ne i64 %hint8, 0
  br i1 %hint.set8, label %poll8, label %body, !prof !2
poll8:
  call void @wasabi_rt_poll(ptr %vmctx)
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
trap10:
  call void @wasabi_rt_trap(i32 10)
  unreachable
}
