define dso_local i64 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  store i32 %p0, ptr %l0
  %vm0.p = getelementptr inbounds i8, ptr %vmctx, i64 0
  %vm0 = load ptr, ptr %vm0.p, !invariant.load !1
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
  %4 = getelementptr i8, ptr %vm0, i64 %3
  %5 = load volatile i8, ptr %4, align 1
  %6 = freeze i8 %5
  %7 = zext i8 %6 to i32
  %8 = zext i32 %1 to i64
  %9 = add nuw nsw i64 %8, 4
  %10 = getelementptr i8, ptr %vm0, i64 %9
  store volatile i32 %7, ptr %10, align 1
  %11 = zext i32 %1 to i64
  %12 = add nuw nsw i64 %11, 8
  %13 = getelementptr i8, ptr %vm0, i64 %12
  %14 = load volatile i16, ptr %13, align 1
  %15 = freeze i16 %14
  %16 = sext i16 %15 to i64
  ret i64 %16
}
