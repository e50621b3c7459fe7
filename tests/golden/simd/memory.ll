define dso_local <2 x i64> @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
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
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load i32, ptr %l0
  %v2 = load i32, ptr %l0
  %v3 = zext i32 %v2 to i64
  %v4 = getelementptr i8, ptr %vm0, i64 %v3
  %v5 = load volatile <2 x i64>, ptr %v4, align 1
  %v6 = zext i32 %v1 to i64
  %v7 = add nuw nsw i64 %v6, 16
  %v8 = getelementptr i8, ptr %vm0, i64 %v7
  store volatile <2 x i64> %v5, ptr %v8, align 1
  %v9 = load i32, ptr %l0
  %v10 = load i32, ptr %l0
  %v11 = zext i32 %v10 to i64
  %v12 = getelementptr i8, ptr %vm0, i64 %v11
  %v13 = load volatile i8, ptr %v12, align 1
  %v14 = insertelement <16 x i8> poison, i8 %v13, i64 0
  %v15 = shufflevector <16 x i8> %v14, <16 x i8> poison, <16 x i32> zeroinitializer
  %v16 = bitcast <16 x i8> %v15 to <2 x i64>
  %v17 = bitcast <2 x i64> %v16 to <4 x i32>
  %v18 = zext i32 %v9 to i64
  %v19 = getelementptr i8, ptr %vm0, i64 %v18
  %v20 = load volatile i32, ptr %v19, align 1
  %v21 = insertelement <4 x i32> %v17, i32 %v20, i64 2
  %v22 = bitcast <4 x i32> %v21 to <2 x i64>
  ret <2 x i64> %v22
}
