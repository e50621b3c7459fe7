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
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  %2 = zext i32 %1 to i64
  %3 = getelementptr i8, ptr %vm0, i64 %2
  %4 = load volatile <2 x i64>, ptr %3, align 1
  %5 = zext i32 %1 to i64
  %6 = add nuw nsw i64 %5, 16
  %7 = getelementptr i8, ptr %vm0, i64 %6
  store volatile <2 x i64> %4, ptr %7, align 1
  %8 = zext i32 %1 to i64
  %9 = getelementptr i8, ptr %vm0, i64 %8
  %10 = load volatile i8, ptr %9, align 1
  %11 = insertelement <16 x i8> poison, i8 %10, i64 0
  %12 = shufflevector <16 x i8> %11, <16 x i8> poison, <16 x i32> zeroinitializer
  %13 = bitcast <16 x i8> %12 to <2 x i64>
  %14 = bitcast <2 x i64> %13 to <4 x i32>
  %15 = zext i32 %1 to i64
  %16 = getelementptr i8, ptr %vm0, i64 %15
  %17 = load volatile i32, ptr %16, align 1
  %18 = insertelement <4 x i32> %14, i32 %17, i64 2
  %19 = bitcast <4 x i32> %18 to <2 x i64>
  ret <2 x i64> %19
}
