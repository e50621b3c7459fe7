/* Array-call thunks written by the baseline's encoder, without LLVM (the JIT
 * thunks of compiler/thunks.py are LLVM's: about 35 ms for the first one, on the
 * way to a cold program's first call).
 *
 * `void thunk(fn, vmctx, slots)`: loads the parameters from 16-byte slots 0..n-1,
 * calls fn(vmctx, params...), stores the result (at most one) to slot 0, as
 * thunks.array_thunk_ir does. Plain types only (i32, i64, f32, f64).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "baseline.h"

#define SLOT_SIZE 16

size_t wb_array_thunk(const uint8_t* params, uint32_t nparams, const uint8_t* results,
                      uint32_t nresults, uint8_t** code) {
    *code = NULL;
    if (nresults > 1 || !wb_plain_types(params, nparams) || !wb_plain_types(results, nresults)
        || nparams > 1000)
        return 0;
    xbuf b = {0};
    /* the stack arguments: those past 5 integers (rdi is the vmctx) and 8 floats */
    wb_args args = {1, 0, 0};
    int where;
    for (uint32_t i = 0; i < nparams; i++)
        wb_next_arg(&args, params[i], &where);
    uint32_t stack = args.stack;
    uint32_t frame = (8 * stack + 8 + 15) / 16 * 16 - 8;   /* rsp 16-aligned at the call */
    x_byte(&b, 0x55);                                       /* push rbp */
    x_mov_rr(&b, 1, RBP, RSP);
    x_byte(&b, 0x53);                                       /* push rbx */
    x_op_rr(&b, 0, 1, "\x81", 1, ALU_SUB, RSP, 0);          /* sub rsp, frame */
    x_u32(&b, frame);
    x_mov_rr(&b, 1, RBX, RDX);                              /* rbx = slots */
    x_mov_rr(&b, 1, R11, RDI);                              /* r11 = fn */
    x_mov_rr(&b, 1, RDI, RSI);                              /* rdi = vmctx */
    wb_load_args(&b, params, nparams, RBX, 0, SLOT_SIZE);
    x_call_r(&b, R11);
    if (nresults) {
        uint8_t t = results[0];
        if (wb_is_float(t))
            x_fstore(&b, t == VT_F64, M(RBX, 0), 0);
        else
            x_store(&b, wb_is64(t), M(RBX, 0), RAX);
    }
    x_load(&b, 1, RBX, M(RBP, -8));
    x_byte(&b, 0xC9);                                       /* leave */
    x_byte(&b, 0xC3);                                       /* ret */
    if (b.oom) {
        free(b.p);
        return 0;
    }
    *code = b.p;
    return b.len;
}
