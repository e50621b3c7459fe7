define dso_local i64 @wasm_f0(ptr %vmctx, float %p0, double %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca float
  %l1 = alloca double
  store float %p0, ptr %l0
  store double %p1, ptr %l1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load float, ptr %l0
  %2 = fcmp uno float %1, %1
  br i1 %2, label %trap4, label %L3, !prof !2
L3:
  %4 = fcmp oge float %1, 0xC1E0000000000000
  %5 = fcmp olt float %1, 0x41E0000000000000
  %6 = and i1 %4, %5
  %7 = xor i1 %6, true
  br i1 %7, label %trap3, label %L8, !prof !2
L8:
  %9 = fptosi float %1 to i32
  %10 = load double, ptr %l1
  %11 = call i32 @llvm.fptoui.sat.i32.f64(double %10)
  %12 = fcmp uno double %10, %10
  br i1 %12, label %trap4, label %L13, !prof !2
L13:
  %14 = fcmp ogt double %10, 0xBFF0000000000000
  %15 = fcmp olt double %10, 0x43F0000000000000
  %16 = and i1 %14, %15
  %17 = xor i1 %16, true
  br i1 %17, label %trap3, label %L18, !prof !2
L18:
  %19 = fptoui double %10 to i64
  ret i64 %19
trap3:
  call void @wasabi_rt_trap(i32 3)
  unreachable
trap4:
  call void @wasabi_rt_trap(i32 4)
  unreachable
}
