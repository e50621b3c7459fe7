define dso_local i64 @wasm_f0(ptr %vmctx, i32 %p0, i32 %p1, i64 %p2, i64 %p3) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca i32
  %l2 = alloca i64
  %l3 = alloca i64
  store i32 %p0, ptr %l0
  store i32 %p1, ptr %l1
  store i64 %p2, ptr %l2
  store i64 %p3, ptr %l3
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
  %v3 = icmp eq i32 %v2, 0
  br i1 %v3, label %trap2, label %L4, !prof !2
L4:
  %v5 = icmp eq i32 %v1, -2147483648
  %v6 = icmp eq i32 %v2, -1
  %v7 = and i1 %v5, %v6
  br i1 %v7, label %trap3, label %L8, !prof !2
L8:
  %v9 = sdiv i32 %v1, %v2
  %v10 = load i32, ptr %l0
  %v11 = load i32, ptr %l1
  %v12 = icmp eq i32 %v11, 0
  br i1 %v12, label %trap2, label %L13, !prof !2
L13:
  %v14 = urem i32 %v10, %v11
  %v15 = load i64, ptr %l2
  %v16 = load i64, ptr %l3
  %v17 = icmp eq i64 %v16, 0
  br i1 %v17, label %trap2, label %L18, !prof !2
L18:
  %v19 = icmp eq i64 %v16, -1
  %v20 = select i1 %v19, i64 1, i64 %v16
  %v21 = srem i64 %v15, %v20
  ret i64 %v21
trap2:
  call void @wasabi_rt_trap(i32 2)
  unreachable
trap3:
  call void @wasabi_rt_trap(i32 3)
  unreachable
}
