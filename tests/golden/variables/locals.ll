define dso_local double @wasm_f0(ptr %vmctx, i32 %p0, float %p1) #0 section ".text.wasabi" {
entry:
  %l0 = alloca i32
  %l1 = alloca float
  %l2 = alloca i64
  %l3 = alloca double
  %l4 = alloca <2 x i64>
  %l5 = alloca ptr
  store i32 %p0, ptr %l0
  store float %p1, ptr %l1
  store i64 0, ptr %l2
  store double 0.0, ptr %l3
  store <2 x i64> zeroinitializer, ptr %l4
  store ptr null, ptr %l5
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  store i32 3, ptr %l0
  %1 = sext i32 3 to i64
  store i64 %1, ptr %l2
  %2 = load float, ptr %l1
  %3 = fpext float %2 to double
  store double %3, ptr %l3
  ret double %3
}
