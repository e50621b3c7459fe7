define dso_local {i32, i64} @wasm_f1(ptr %vmctx, i32 %p0) #0 section ".text.wasabi" {
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
  %2 = insertvalue {i32, i64} poison, i32 %1, 0
  %3 = insertvalue {i32, i64} %2, i64 5, 1
  ret {i32, i64} %3
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
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  %2 = getelementptr inbounds i8, ptr %vm24, i64 0
  %3 = load ptr, ptr %2
  %4 = getelementptr inbounds i8, ptr %2, i64 8
  %5 = load ptr, ptr %4
  %6 = icmp ne ptr %5, %vmctx
  br i1 %6, label %L7, label %L8
L7:
  call void @wasabi_rt_gate_enter(ptr %5)
  br label %L8
L8:
  %9 = notail call i32 %3(ptr %5, i32 %1)
  br i1 %6, label %L10, label %L11
L10:
  call void @wasabi_rt_gate_leave(ptr %5)
  br label %L11
L11:
  %12 = notail call {i32, i64} @wasm_f1(ptr %vmctx, i32 %9)
  %13 = extractvalue {i32, i64} %12, 0
  %14 = extractvalue {i32, i64} %12, 1
  ret i32 %13
}
