define dso_local <2 x i64> @wasm_f0(ptr %vmctx, i32 %p0) #4 section ".text.wasabi" {
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
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  %2 = zext i32 %1 to i64
  %3 = getelementptr i8, ptr %vm0, i64 %2
  %4 = load volatile <2 x i64>, ptr %3, align 1
  %5 = bitcast <2 x i64> %4 to <2 x i64>
  %6 = zext i32 %1 to i64
  %7 = add nuw nsw i64 %6, 16
  %8 = getelementptr i8, ptr %vm0, i64 %7
  store volatile <2 x i64> %5, ptr %8, align 1
  %9 = zext i32 %1 to i64
  %10 = getelementptr i8, ptr %vm0, i64 %9
  %11 = load volatile i8, ptr %10, align 1
  %12 = bitcast i8 %11 to i8
  %13 = insertelement <16 x i8> poison, i8 %12, i64 0
  %14 = shufflevector <16 x i8> %13, <16 x i8> poison, <16 x i32> zeroinitializer
  %15 = bitcast <16 x i8> %14 to <2 x i64>
  %16 = bitcast <2 x i64> %15 to <4 x i32>
  %17 = zext i32 %1 to i64
  %18 = getelementptr i8, ptr %vm0, i64 %17
  %19 = load volatile i32, ptr %18, align 1
  %20 = bitcast i32 %19 to i32
  %21 = insertelement <4 x i32> %16, i32 %20, i64 2
  %22 = bitcast <4 x i32> %21 to <2 x i64>
  ret <2 x i64> %22
}
