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
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load float, ptr %l0
  %v2 = call float @llvm.minimum.f32(float %v1, float 0x8000000000000000)
  %v3 = fcmp uno float %v1, 0x8000000000000000
  %v4 = fadd float %v1, 0x8000000000000000
  %v5 = select i1 %v3, float %v4, float %v2
  %v6 = load double, ptr %l1
  %v7 = load double, ptr %l2
  %v8 = call double @llvm.maximum.f64(double %v6, double %v7)
  %v9 = fcmp uno double %v6, %v7
  %v10 = fadd double %v6, %v7
  %v11 = select i1 %v9, double %v10, double %v8
  %v12 = load double, ptr %l1
  %v13 = call double @llvm.sqrt.f64(double %v12)
  %v14 = call double @llvm.roundeven.f64(double 0x4008000000000000)
  %v15 = call double @llvm.copysign.f64(double %v13, double %v14)
  %v16 = fadd double %v11, %v15
  ret double %v16
}
