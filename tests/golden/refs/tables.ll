define dso_local void @wasm_f0(ptr %vmctx) #0 section ".text.wasabi" {
entry:
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %trap10, label %entry.poll, !prof !2
entry.poll:
  %hint.p1 = getelementptr inbounds i8, ptr %vmctx, i64 88
  %hint1 = load volatile i64, ptr %hint.p1, align 8
  %hint.set1 = icmp ne i64 %hint1, 0
  br i1 %hint.set1, label %poll1, label %body, !prof !2
poll1:
  call void @wasabi_rt_poll(ptr %vmctx)
  br label %body
body:
  ret void
trap10:
  call void @wasabi_rt_trap(i32 10)
  unreachable
}
define dso_local i32 @wasm_f1(ptr %vmctx, i32 %p0, ptr %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca ptr
  store i32 %p0, ptr %l0
  store ptr %p1, ptr %l1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %trap10, label %entry.poll, !prof !2
entry.poll:
  %hint.p9 = getelementptr inbounds i8, ptr %vmctx, i64 88
  %hint9 = load volatile i64, ptr %hint.p9, align 8
  %hint.set9 = icmp ne i64 %hint9, 0
  br i1 %hint.set9, label %poll9, label %body, !prof !2
poll9:
  call void @wasabi_rt_poll(ptr %vmctx)
  br label %body
body:
  %v1 = load i32, ptr %l0
  %v2 = call ptr @wasabi_rt_table_get(ptr %vmctx, i32 0, i32 0)
  call void @wasabi_rt_table_set(ptr %vmctx, i32 0, i32 %v1, ptr %v2)
  %v3 = load ptr, ptr %l1
  call void @wasabi_rt_table_fill(ptr %vmctx, i32 1, i32 0, ptr %v3, i32 1)
  call void @wasabi_rt_table_copy(ptr %vmctx, i32 0, i32 0, i32 0, i32 1, i32 1)
  call void @wasabi_rt_table_init(ptr %vmctx, i32 0, i32 0, i32 0, i32 0, i32 1)
  call void @wasabi_rt_elem_drop(ptr %vmctx, i32 0)
  %v4 = call i32 @wasabi_rt_table_size(ptr %vmctx, i32 0)
  %v5 = load ptr, ptr %l1
  %v6 = load i32, ptr %l0
  %v7 = call i32 @wasabi_rt_table_grow(ptr %vmctx, i32 1, ptr %v5, i32 %v6)
  %v8 = add i32 %v4, %v7
  ret i32 %v8
trap10:
  call void @wasabi_rt_trap(i32 10)
  unreachable
}
