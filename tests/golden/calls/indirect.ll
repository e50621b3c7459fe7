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
  ret i32 %v1
}
define dso_local i32 @wasm_f1(ptr %vmctx, i32 %p0, i32 %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca i32
  store i32 %p0, ptr %l0
  store i32 %p1, ptr %l1
  %vm40.p = getelementptr inbounds i8, ptr %vmctx, i64 40
  %vm40 = load ptr, ptr %vm40.p, !invariant.load !1
  %tab0.p = getelementptr inbounds ptr, ptr %vm40, i64 0
  %tab0 = load ptr, ptr %tab0.p, !invariant.load !1
  %vm48.p = getelementptr inbounds i8, ptr %vmctx, i64 48
  %vm48 = load ptr, ptr %vm48.p, !invariant.load !1
  %tid0.p = getelementptr inbounds i64, ptr %vm48, i64 0
  %tid0 = load i64, ptr %tid0.p, !invariant.load !1
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
  %v3 = getelementptr inbounds i8, ptr %tab0, i64 8
  %v4 = load i64, ptr %v3
  %v5 = zext i32 %v2 to i64
  %v6 = icmp uge i64 %v5, %v4
  br i1 %v6, label %trap7, label %L7, !prof !2
L7:
  %v8 = load ptr, ptr %tab0
  %v9 = getelementptr inbounds ptr, ptr %v8, i64 %v5
  %v10 = load ptr, ptr %v9
  %v11 = icmp eq ptr %v10, null
  br i1 %v11, label %L12, label %L13, !prof !2
L12:
  call void @wasabi_rt_trap_element(i32 %v2)
  unreachable
L13:
  %v14 = getelementptr inbounds i8, ptr %v10, i64 16
  %v15 = load i64, ptr %v14
  %v16 = icmp ne i64 %v15, %tid0
  br i1 %v16, label %trap9, label %L17, !prof !2
L17:
  %v18 = load ptr, ptr %v10
  %v19 = getelementptr inbounds i8, ptr %v10, i64 8
  %v20 = load ptr, ptr %v19
  %v21 = icmp ne ptr %v20, %vmctx
  br i1 %v21, label %L22, label %L23
L22:
  call void @wasabi_rt_gate_enter(ptr %v20)
  br label %L23
L23:
  %v24 = notail call i32 %v18(ptr %v20, i32 %v1)
  br i1 %v21, label %L25, label %L26
L25:
  call void @wasabi_rt_gate_leave(ptr %v20)
  br label %L26
L26:
  ret i32 %v24
trap7:
  call void @wasabi_rt_trap(i32 7)
  unreachable
trap9:
  call void @wasabi_rt_trap(i32 9)
  unreachable
}
