define dso_local i64 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
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
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load i32, ptr %l0
  %v2 = load i32, ptr %l0
  %v3 = zext i32 %v2 to i64
  %v4 = add nuw nsw i64 %v3, 1
  %v5 = getelementptr i8, ptr %vm0, i64 %v4
  %v6 = load volatile i8, ptr %v5, align 1
  %v7 = zext i8 %v6 to i32
  %v8 = zext i32 %v1 to i64
  %v9 = add nuw nsw i64 %v8, 4
  %v10 = getelementptr i8, ptr %vm0, i64 %v9
  store volatile i32 %v7, ptr %v10, align 1
  %v11 = load i32, ptr %l0
  %v12 = zext i32 %v11 to i64
  %v13 = add nuw nsw i64 %v12, 8
  %v14 = getelementptr i8, ptr %vm0, i64 %v13
  %v15 = load volatile i16, ptr %v14, align 1
  %v16 = sext i16 %v15 to i64
  ret i64 %v16
}
