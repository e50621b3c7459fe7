define dso_local i32 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  store i32 %p0, ptr %l0
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load i32, ptr %l0
  br label %L2
L2:
  %v4 = phi i32 [%v1, %body], [%v12, %L8]
  br label %L3
L3:
  %v5 = load i32, ptr %l0
  %v6 = icmp eq i32 %v5, 0
  %v7 = zext i1 %v6 to i32
  br i1 %v6, label %L10, label %L9
L10:
  br label %L8
L9:
  %v11 = add i32 %v4, 1
  br label %L8
L8:
  %v12 = phi i32 [%v4, %L10], [%v11, %L9]
  %v13 = load i32, ptr %l0
  %v14 = sub i32 %v13, 1
  store i32 %v14, ptr %l0
  %v15 = load i32, ptr %l0
  store i32 %v15, ptr %l0
  %v16 = icmp ne i32 %v15, 0
  br i1 %v16, label %L2, label %L17
L17:
  ret i32 %v12
}
