define dso_local i32 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  store i32 %p0, ptr %l0
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %trap10, label %body, !prof !2
body:
  %v1 = load i32, ptr %l0
  br label %L2
L2:
  %v3 = phi i32 [%v1, %body], [%v11, %L7]
  %v4 = load i32, ptr %l0
  %v5 = icmp eq i32 %v4, 0
  %v6 = zext i1 %v5 to i32
  br i1 %v5, label %L9, label %L8
L9:
  br label %L7
L8:
  %v10 = add i32 %v3, 1
  br label %L7
L7:
  %v11 = phi i32 [%v3, %L9], [%v10, %L8]
  %v12 = load i32, ptr %l0
  %v13 = sub i32 %v12, 1
  store i32 %v13, ptr %l0
  %v14 = load i32, ptr %l0
  store i32 %v14, ptr %l0
  %v15 = icmp ne i32 %v14, 0
  br i1 %v15, label %L2, label %L16
L16:
  ret i32 %v11
trap10:
  call void @wasabi_rt_trap(i32 10)
  unreachable
}
