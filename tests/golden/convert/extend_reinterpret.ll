define dso_local double @wasm_f0(ptr %vmctx, i32 %p0, i64 %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca i64
  store i32 %p0, ptr %l0
  store i64 %p1, ptr %l1
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
  %3 = trunc i32 %1 to i8
  %4 = sext i8 %3 to i32
  %5 = bitcast i32 %1 to float
  %6 = load i64, ptr %l1
  %7 = sitofp i64 %6 to double
  %8 = bitcast double %7 to i64
  %9 = uitofp i32 %1 to double
  %10 = fptrunc double %9 to float
  %11 = fpext float %10 to double
  ret double %11
}
