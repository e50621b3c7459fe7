define dso_local <2 x i64> @wasm_f0(ptr %vmctx, <2 x i64> %p0, <2 x i64> %p1) #4 section ".text.wasabi" {
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
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load <2 x i64>, ptr %l0
  %2 = load <2 x i64>, ptr %l1
  %3 = bitcast <2 x i64> %2 to <4 x i32>
  %4 = bitcast <2 x i64> %1 to <4 x i32>
  %5 = add <4 x i32> %4, %3
  %6 = bitcast <4 x i32> %5 to <2 x i64>
  %7 = bitcast <2 x i64> %2 to <4 x float>
  %8 = bitcast <2 x i64> %1 to <4 x float>
  %9 = call <4 x float> @llvm.minimum.v4f32(<4 x float> %8, <4 x float> %7)
  %10 = fcmp uno <4 x float> %8, %7
  %11 = fadd <4 x float> %8, %7
  %12 = select <4 x i1> %10, <4 x float> %11, <4 x float> %9
  %13 = bitcast <4 x float> %12 to <2 x i64>
  %14 = bitcast <2 x i64> %2 to <8 x i16>
  %15 = bitcast <2 x i64> %1 to <8 x i16>
  %16 = mul <8 x i16> %15, %14
  %17 = bitcast <8 x i16> %16 to <2 x i64>
  %18 = bitcast <2 x i64> %1 to <8 x i16>
  %19 = icmp eq <8 x i16> %16, %18
  %20 = sext <8 x i1> %19 to <8 x i16>
  %21 = bitcast <8 x i16> %20 to <2 x i64>
  %22 = and <2 x i64> %6, %21
  %23 = xor <2 x i64> %21, <i64 -1, i64 -1>
  %24 = and <2 x i64> %13, %23
  %25 = or <2 x i64> %22, %24
  ret <2 x i64> %25
}
