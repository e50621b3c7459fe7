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
  %v5 = phi i32 [%v1, %body], [%v13, %L9]
  %hint.p4 = getelementptr inbounds i8, ptr %vmctx, i64 88
  %hint4 = load volatile i64, ptr %hint.p4, align 8
  %hint.set4 = icmp ne i64 %hint4, 0
  br i1 %hint.set4, label %poll4, label %L3, !prof !2
poll4:
  call void @wasabi_rt_poll(ptr %vmctx)
  br label %L3
L3:
  %v6 = load i32, ptr %l0
  %v7 = icmp eq i32 %v6, 0
  %v8 = zext i1 %v7 to i32
  br i1 %v7, label %L11, label %L10
L11:
  br label %L9
L10:
  %v12 = add i32 %v5, 1
  br label %L9
L9:
  %v13 = phi i32 [%v5, %L11], [%v12, %L10]
  %v14 = load i32, ptr %l0
  %v15 = sub i32 %v14, 1
  store i32 %v15, ptr %l0
  %v16 = load i32, ptr %l0
  store i32 %v16, ptr %l0
  %v17 = icmp ne i32 %v16, 0
  br i1 %v17, label %L2, label %L18
L18:
  ret i32 %v13
}
