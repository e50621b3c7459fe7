define dso_local {i32, i64} @wasm_f1(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
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
  %v2 = insertvalue {i32, i64} poison, i32 %v1, 0
  %v3 = insertvalue {i32, i64} %v2, i64 5, 1
  ret {i32, i64} %v3
}
define dso_local i32 @wasm_f2(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  store i32 %p0, ptr %l0
  %vm24.p = getelementptr inbounds i8, ptr %vmctx, i64 24
  %vm24 = load ptr, ptr %vm24.p, !invariant.load !1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %v1 = load i32, ptr %l0
  %v2 = getelementptr inbounds i8, ptr %vm24, i64 0
  %v3 = load ptr, ptr %v2
  %v4 = getelementptr inbounds i8, ptr %v2, i64 8
  %v5 = load ptr, ptr %v4
  %v6 = icmp ne ptr %v5, %vmctx
  br i1 %v6, label %L7, label %L8
L7:
  call void @wasabi_rt_gate_enter(ptr %v5)
  br label %L8
L8:
  %v9 = notail call i32 %v3(ptr %v5, i32 %v1)
  br i1 %v6, label %L10, label %L11
L10:
  call void @wasabi_rt_gate_leave(ptr %v5)
  br label %L11
L11:
  %v12 = notail call {i32, i64} @wasm_f1(ptr %vmctx, i32 %v9)
  %v13 = extractvalue {i32, i64} %v12, 0
  %v14 = extractvalue {i32, i64} %v12, 1
  ret i32 %v13
}
