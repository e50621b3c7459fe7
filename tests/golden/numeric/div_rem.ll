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
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %l0
  %2 = load i32, ptr %l1
  %3 = icmp eq i32 %2, 0
  br i1 %3, label %trap2, label %L4, !prof !2
L4:
  %5 = icmp eq i32 %1, -2147483648
  %6 = icmp eq i32 %2, -1
  %7 = and i1 %5, %6
  br i1 %7, label %trap3, label %L8, !prof !2
L8:
  %9 = sdiv i32 %1, %2
  %10 = load i32, ptr %l0
  %11 = load i32, ptr %l1
  %12 = icmp eq i32 %11, 0
  br i1 %12, label %trap2, label %L13, !prof !2
L13:
  %14 = urem i32 %10, %11
  %15 = load i64, ptr %l2
  %16 = load i64, ptr %l3
  %17 = icmp eq i64 %16, 0
  br i1 %17, label %trap2, label %L18, !prof !2
L18:
  %19 = icmp eq i64 %16, -1
  %20 = select i1 %19, i64 1, i64 %16
  %21 = srem i64 %15, %20
  ret i64 %21
trap2:
  call void @wasabi_rt_trap(i32 2)
  unreachable
trap3:
  call void @wasabi_rt_trap(i32 3)
  unreachable
}
