define dso_local double @wasm_f0(ptr %vmctx, float %p0, double %p1, double %p2) #0 section ".text.wasabi" {
entry:
  %l0 = alloca float
  %l1 = alloca double
  %l2 = alloca double
  store float %p0, ptr %l0
  store double %p1, ptr %l1
  store double %p2, ptr %l2
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load float, ptr %l0
  %2 = call float @llvm.minimum.f32(float %1, float 0x8000000000000000)
  %3 = fcmp uno float %1, 0x8000000000000000
  %4 = fadd float %1, 0x8000000000000000
  %5 = select i1 %3, float %4, float %2
  %6 = load double, ptr %l1
  %7 = load double, ptr %l2
  %8 = call double @llvm.maximum.f64(double %6, double %7)
  %9 = fcmp uno double %6, %7
  %10 = fadd double %6, %7
  %11 = select i1 %9, double %10, double %8
  %12 = call double @llvm.sqrt.f64(double %6)
  %13 = call double @llvm.roundeven.f64(double 0x4008000000000000)
  %14 = call double @llvm.copysign.f64(double %12, double %13)
  %15 = fadd double %11, %14
  ret double %15
}
