define dso_local i64 @wasm_f0(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  store i32 %p0, ptr %l0
  %vm8.p = getelementptr inbounds i8, ptr %vmctx, i64 8
  %vm8 = load ptr, ptr %vm8.p, !invariant.load !1
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
  %v5 = load ptr, ptr %vm8
  %v6 = getelementptr inbounds i8, ptr %vm8, i64 8
  %v7 = load i64, ptr %v6
  %v8 = add nuw nsw i64 %v4, 1
  %v9 = icmp ugt i64 %v8, %v7
  br i1 %v9, label %trap5, label %L10, !prof !2
L10:
  %v11 = getelementptr i8, ptr %v5, i64 %v4
  %v12 = load i8, ptr %v11, align 1
  %v13 = zext i8 %v12 to i32
  %v14 = zext i32 %v1 to i64
  %v15 = add nuw nsw i64 %v14, 4
  %v16 = add nuw nsw i64 %v15, 4
  %v17 = icmp ugt i64 %v16, %v7
  br i1 %v17, label %trap5, label %L18, !prof !2
L18:
  %v19 = getelementptr i8, ptr %v5, i64 %v15
  store i32 %v13, ptr %v19, align 1
  %v20 = load i32, ptr %l0
  %v21 = zext i32 %v20 to i64
  %v22 = add nuw nsw i64 %v21, 8
  %v23 = add nuw nsw i64 %v22, 2
  %v24 = icmp ugt i64 %v23, %v7
  br i1 %v24, label %trap5, label %L25, !prof !2
L25:
  %v26 = getelementptr i8, ptr %v5, i64 %v22
  %v27 = load i16, ptr %v26, align 1
  %v28 = sext i16 %v27 to i64
  ret i64 %v28
trap5:
  call void @wasabi_rt_trap(i32 5)
  unreachable
}
