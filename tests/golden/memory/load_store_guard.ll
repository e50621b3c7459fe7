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
  %6 = zext i8 %5 to i32
  %7 = zext i32 %1 to i64
  %8 = add nuw nsw i64 %7, 4
  %9 = getelementptr i8, ptr %vm0, i64 %8
  store volatile i32 %6, ptr %9, align 1
  %10 = zext i32 %1 to i64
  %11 = add nuw nsw i64 %10, 8
  %12 = getelementptr i8, ptr %vm0, i64 %11
  %13 = load volatile i16, ptr %12, align 1
  %14 = sext i16 %13 to i64
  ret i64 %14
}
