define dso_local i32 @wasm_f0(ptr %vmctx, i32 %p0, i32 %p1, i64 %p2) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca i32
  %l2 = alloca i64
  store i32 %p0, ptr %l0
  store i32 %p1, ptr %l1
  store i64 %p2, ptr %l2
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load i32, ptr %l0
  %v2 = load i32, ptr %l1
  %v3 = and i32 %v2, 31
  %v4 = shl i32 %v1, %v3
  %v5 = load i32, ptr %l1
  %v6 = call i32 @llvm.ctpop.i32(i32 %v5)
  %v7 = call i32 @llvm.fshl.i32(i32 %v4, i32 %v4, i32 %v6)
  %v8 = load i32, ptr %l0
  %v9 = load i32, ptr %l1
  %v10 = icmp slt i32 %v8, %v9
  %v11 = zext i1 %v10 to i32
  %v12 = load i64, ptr %l2
  %v13 = mul i64 %v12, -3
  %v14 = call i64 @llvm.ctlz.i64(i64 %v13, i1 false)
  %v15 = trunc i64 %v14 to i32
  %v16 = add i32 %v11, %v15
  %v17 = add i32 %v7, %v16
  ret i32 %v17
}
