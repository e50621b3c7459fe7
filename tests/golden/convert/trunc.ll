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
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load float, ptr %l0
  %v2 = fcmp uno float %v1, %v1
  br i1 %v2, label %trap4, label %L3, !prof !2
L3:
  %v4 = fcmp oge float %v1, 0xC1E0000000000000
  %v5 = fcmp olt float %v1, 0x41E0000000000000
  %v6 = and i1 %v4, %v5
  %v7 = xor i1 %v6, true
  br i1 %v7, label %trap3, label %L8, !prof !2
L8:
  %v9 = fptosi float %v1 to i32
  %v10 = load double, ptr %l1
  %v11 = call i32 @llvm.fptoui.sat.i32.f64(double %v10)
  %v12 = load double, ptr %l1
  %v13 = fcmp uno double %v12, %v12
  br i1 %v13, label %trap4, label %L14, !prof !2
L14:
  %v15 = fcmp ogt double %v12, 0xBFF0000000000000
  %v16 = fcmp olt double %v12, 0x43F0000000000000
  %v17 = and i1 %v15, %v16
  %v18 = xor i1 %v17, true
  br i1 %v18, label %trap3, label %L19, !prof !2
L19:
  %v20 = fptoui double %v12 to i64
  ret i64 %v20
trap3:
  call void @wasabi_rt_trap(i32 3)
  unreachable
trap4:
  call void @wasabi_rt_trap(i32 4)
  unreachable
}
