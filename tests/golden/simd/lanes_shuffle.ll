define dso_local i32 @wasm_f0(ptr %vmctx, <2 x i64> %p0, i32 %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca <2 x i64>
  %l1 = alloca i32
  store <2 x i64> %p0, ptr %l0
  store i32 %p1, ptr %l1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load <2 x i64>, ptr %l0
  %v2 = load i32, ptr %l1
  %v3 = bitcast <2 x i64> %v1 to <4 x i32>
  %v4 = insertelement <4 x i32> %v3, i32 %v2, i64 1
  %v5 = bitcast <4 x i32> %v4 to <2 x i64>
  %v6 = load i32, ptr %l1
  %v7 = trunc i32 %v6 to i8
  %v8 = insertelement <16 x i8> poison, i8 %v7, i64 0
  %v9 = shufflevector <16 x i8> %v8, <16 x i8> poison, <16 x i32> zeroinitializer
  %v10 = bitcast <16 x i8> %v9 to <2 x i64>
  %v11 = load <2 x i64>, ptr %l0
  %v12 = bitcast <2 x i64> %v11 to <16 x i8>
  %v13 = call <16 x i8> @llvm.uadd.sat.v16i8(<16 x i8> %v12, <16 x i8> <i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112>)
  %v14 = call <16 x i8> @llvm.x86.ssse3.pshuf.b.128(<16 x i8> %v9, <16 x i8> %v13)
  %v15 = bitcast <16 x i8> %v14 to <2 x i64>
  %v16 = bitcast <2 x i64> %v5 to <16 x i8>
  %v17 = shufflevector <16 x i8> %v16, <16 x i8> %v14, <16 x i32> <i32 0, i32 17, i32 2, i32 19, i32 4, i32 21, i32 6, i32 23, i32 8, i32 25, i32 10, i32 27, i32 12, i32 29, i32 14, i32 31>
  %v18 = bitcast <16 x i8> %v17 to <2 x i64>
  %v19 = extractelement <16 x i8> %v17, i64 3
  %v20 = zext i8 %v19 to i32
  ret i32 %v20
}
