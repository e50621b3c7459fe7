define dso_local <2 x i64> @wasm_f0(ptr %vmctx, <2 x i64> %p0, <2 x i64> %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca <2 x i64>
  %l1 = alloca <2 x i64>
  store <2 x i64> %p0, ptr %l0
  store <2 x i64> %p1, ptr %l1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load <2 x i64>, ptr %l0
  %v2 = load <2 x i64>, ptr %l1
  %v3 = bitcast <2 x i64> %v2 to <4 x i32>
  %v4 = bitcast <2 x i64> %v1 to <4 x i32>
  %v5 = add <4 x i32> %v4, %v3
  %v6 = bitcast <4 x i32> %v5 to <2 x i64>
  %v7 = load <2 x i64>, ptr %l0
  %v8 = load <2 x i64>, ptr %l1
  %v9 = bitcast <2 x i64> %v8 to <4 x float>
  %v10 = bitcast <2 x i64> %v7 to <4 x float>
  %v11 = call <4 x float> @llvm.minimum.v4f32(<4 x float> %v10, <4 x float> %v9)
  %v12 = fcmp uno <4 x float> %v10, %v9
  %v13 = fadd <4 x float> %v10, %v9
  %v14 = select <4 x i1> %v12, <4 x float> %v13, <4 x float> %v11
  %v15 = bitcast <4 x float> %v14 to <2 x i64>
  %v16 = load <2 x i64>, ptr %l0
  %v17 = load <2 x i64>, ptr %l1
  %v18 = bitcast <2 x i64> %v17 to <8 x i16>
  %v19 = bitcast <2 x i64> %v16 to <8 x i16>
  %v20 = mul <8 x i16> %v19, %v18
  %v21 = bitcast <8 x i16> %v20 to <2 x i64>
  %v22 = load <2 x i64>, ptr %l0
  %v23 = bitcast <2 x i64> %v22 to <8 x i16>
  %v24 = icmp eq <8 x i16> %v20, %v23
  %v25 = sext <8 x i1> %v24 to <8 x i16>
  %v26 = bitcast <8 x i16> %v25 to <2 x i64>
  %v27 = and <2 x i64> %v6, %v26
  %v28 = xor <2 x i64> %v26, <i64 -1, i64 -1>
  %v29 = and <2 x i64> %v15, %v28
  %v30 = or <2 x i64> %v27, %v29
  ret <2 x i64> %v30
}
