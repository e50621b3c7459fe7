define dso_local i32 @wasm_f0(ptr %vmctx, <2 x i64> %p0, i32 %p1) #4 section ".text.wasabi" {
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
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load <2 x i64>, ptr %l0
  %2 = load i32, ptr %l1
  %3 = bitcast <2 x i64> %1 to <4 x i32>
  %4 = insertelement <4 x i32> %3, i32 %2, i64 1
  %5 = bitcast <4 x i32> %4 to <2 x i64>
  %6 = trunc i32 %2 to i8
  %7 = insertelement <16 x i8> poison, i8 %6, i64 0
  %8 = shufflevector <16 x i8> %7, <16 x i8> poison, <16 x i32> zeroinitializer
  %9 = bitcast <16 x i8> %8 to <2 x i64>
  %10 = bitcast <2 x i64> %1 to <16 x i8>
  %11 = call <16 x i8> @llvm.uadd.sat.v16i8(<16 x i8> %10, <16 x i8> <i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112, i8 112>)
  %12 = call <16 x i8> @llvm.x86.ssse3.pshuf.b.128(<16 x i8> %8, <16 x i8> %11)
  %13 = bitcast <16 x i8> %12 to <2 x i64>
  %14 = bitcast <2 x i64> %5 to <16 x i8>
  %15 = shufflevector <16 x i8> %14, <16 x i8> %12, <16 x i32> <i32 0, i32 17, i32 2, i32 19, i32 4, i32 21, i32 6, i32 23, i32 8, i32 25, i32 10, i32 27, i32 12, i32 29, i32 14, i32 31>
  %16 = bitcast <16 x i8> %15 to <2 x i64>
  %17 = extractelement <16 x i8> %15, i64 3
  %18 = zext i8 %17 to i32
  ret i32 %18
}
