define dso_local i32 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  store i32 %p0, ptr %l0
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  ret i32 %1
}
define dso_local i32 @wasm_f1(ptr %vmctx, i32 %p0, i32 %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca i32
  store i32 %p0, ptr %l0
  store i32 %p1, ptr %l1
  %vm40.p = getelementptr inbounds i8, ptr %vmctx, i64 40
  %vm40 = load ptr, ptr %vm40.p, !invariant.load !1
  %tab0.p = getelementptr inbounds ptr, ptr %vm40, i64 0
  %tab0 = load ptr, ptr %tab0.p, !invariant.load !1
  %vm48.p = getelementptr inbounds i8, ptr %vmctx, i64 48
  %vm48 = load ptr, ptr %vm48.p, !invariant.load !1
  %tid0.p = getelementptr inbounds i64, ptr %vm48, i64 0
  %tid0 = load i64, ptr %tid0.p, !invariant.load !1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  %2 = load i32, ptr %l1
  %3 = getelementptr inbounds i8, ptr %tab0, i64 8
  %4 = load i64, ptr %3
  %5 = zext i32 %2 to i64
  %6 = icmp uge i64 %5, %4
  br i1 %6, label %trap7, label %L7, !prof !2
L7:
  %8 = load ptr, ptr %tab0
  %9 = getelementptr inbounds ptr, ptr %8, i64 %5
  %10 = load ptr, ptr %9
  %11 = icmp eq ptr %10, null
  br i1 %11, label %L12, label %L13, !prof !2
L12:
  call void @wasabi_rt_trap_element(i32 %2)
  unreachable
L13:
  %14 = getelementptr inbounds i8, ptr %10, i64 16
  %15 = load i64, ptr %14
  %16 = icmp ne i64 %15, %tid0
  br i1 %16, label %trap9, label %L17, !prof !2
L17:
  %18 = load ptr, ptr %10
  %19 = notail call i32 %18(ptr %vmctx, i32 %1)
  ret i32 %19
trap7:
  call void @wasabi_rt_trap(i32 7)
  unreachable
trap9:
  call void @wasabi_rt_trap(i32 9)
  unreachable
}
