define dso_local i64 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
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
  %2 = zext i32 %1 to i64
  %3 = add nuw nsw i64 %2, 1
  %4 = load ptr, ptr %vm8
  %5 = getelementptr inbounds i8, ptr %vm8, i64 8
  %6 = load i64, ptr %5
  %7 = add nuw nsw i64 %3, 1
  %8 = icmp ugt i64 %7, %6
  br i1 %8, label %trap5, label %L9, !prof !2
L9:
  %10 = getelementptr i8, ptr %4, i64 %3
  %11 = load i8, ptr %10, align 1
  %12 = zext i8 %11 to i32
  %13 = zext i32 %1 to i64
  %14 = add nuw nsw i64 %13, 4
  %15 = add nuw nsw i64 %14, 4
  %16 = icmp ugt i64 %15, %6
  br i1 %16, label %trap5, label %L17, !prof !2
L17:
  %18 = getelementptr i8, ptr %4, i64 %14
  store i32 %12, ptr %18, align 1
  %19 = load i32, ptr %l0
  %20 = zext i32 %19 to i64
  %21 = add nuw nsw i64 %20, 8
  %22 = add nuw nsw i64 %21, 2
  %23 = icmp ugt i64 %22, %6
  br i1 %23, label %trap5, label %L24, !prof !2
L24:
  %25 = getelementptr i8, ptr %4, i64 %21
  %26 = load i16, ptr %25, align 1
  %27 = sext i16 %26 to i64
  ret i64 %27
trap5:
  call void @wasabi_rt_trap(i32 5)
  unreachable
}
