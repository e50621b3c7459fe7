define dso_local i32 @wasm_f0(ptr %vmctx, i32 %p0, i32 %p1, i64 %p2) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca i32
  %l2 = alloca i64
  store i32 %p0, ptr %l0
  store i32 %p1, ptr %l1
  store i64 %p2, ptr %l2
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
  %3 = and i32 %2, 31
  %4 = shl i32 %1, %3
  %5 = call i32 @llvm.ctpop.i32(i32 %2)
  %6 = call i32 @llvm.fshl.i32(i32 %4, i32 %4, i32 %5)
  %7 = icmp slt i32 %1, %2
  %8 = zext i1 %7 to i32
  %9 = load i64, ptr %l2
  %10 = mul i64 %9, -3
  %11 = call i64 @llvm.ctlz.i64(i64 %10, i1 false)
  %12 = trunc i64 %11 to i32
  %13 = add i32 %8, %12
  %14 = add i32 %6, %13
  ret i32 %14
}
