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
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load i32, ptr %l0
  %v2 = zext i32 %v1 to i64
  %v3 = load i32, ptr %l0
  %v4 = trunc i32 %v3 to i8
  %v5 = sext i8 %v4 to i32
  %v6 = load i32, ptr %l0
  %v7 = bitcast i32 %v6 to float
  %v8 = load i64, ptr %l1
  %v9 = sitofp i64 %v8 to double
  %v10 = bitcast double %v9 to i64
  %v11 = load i32, ptr %l0
  %v12 = uitofp i32 %v11 to double
  %v13 = fptrunc double %v12 to float
  %v14 = fpext float %v13 to double
  ret double %v14
}
