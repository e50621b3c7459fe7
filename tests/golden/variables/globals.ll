define dso_local float @wasm_f0(ptr %vmctx) #0 section ".text.wasabi" {
entry:
  %vm32.p = getelementptr inbounds i8, ptr %vmctx, i64 32
  %vm32 = load ptr, ptr %vm32.p, !invariant.load !1
  %g0.p = getelementptr inbounds ptr, ptr %vm32, i64 0
  %g0 = load ptr, ptr %g0.p, !invariant.load !1
  %g1.p = getelementptr inbounds ptr, ptr %vm32, i64 1
  %g1 = load ptr, ptr %g1.p, !invariant.load !1
  %g2.p = getelementptr inbounds ptr, ptr %vm32, i64 2
  %g2 = load ptr, ptr %g2.p, !invariant.load !1
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %sl = call i64 asm "movq %fs:wasabi_stack_limit_tpoff, $0", "=r"() #2
  %sov = icmp ult i64 %sp, %sl
  br i1 %sov, label %stack.slow, label %body, !prof !2
stack.slow:
  call preserve_mostcc void @wasabi_rt_stack_slow(ptr %vmctx)
  br label %body
body:
  %1 = load i32, ptr %g0, !invariant.load !1
  %2 = zext i32 %1 to i64
  store i64 %2, ptr %g1
  %3 = load float, ptr %g2, !invariant.load !1
  ret float %3
}
