define dso_local i32 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  store i32 %p0, ptr %l0
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  br label %L2
L2:
  %3 = phi i32 [%1, %body], [%11, %L7]
  %4 = load i32, ptr %l0
  %5 = icmp eq i32 %4, 0
  %6 = zext i1 %5 to i32
  br i1 %5, label %L9, label %L8
L9:
  br label %L7
L8:
  %10 = add i32 %3, 1
  br label %L7
L7:
  %11 = phi i32 [%3, %L9], [%10, %L8]
  %12 = load i32, ptr %l0
  %13 = sub i32 %12, 1
  store i32 %13, ptr %l0
  store i32 %13, ptr %l0
  %14 = icmp ne i32 %13, 0
  br i1 %14, label %L2, label %L15
L15:
  ret i32 %11
}
