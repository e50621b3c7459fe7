/* The baseline compiler's calls: into C (the runtime's builtins and baseline_rt.c's
 * helpers) and to wasm functions, direct, through imports and through tables, with
 * the gates of other instances (see baseline.h, and compiler/emit/calls.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "builtins.h"
#include "runtime.h"
#include "vmctx.h"

#define VM(field) M(VMCTX_REG, (int32_t)offsetof(VMContext, field))

/* ---- calls into C: the runtime's builtins and the helpers of baseline_rt.c ---- */

/* fn(vmctx?, imms..., the top n values in stack order); pushes a result of type rt */
void wb_call_native(wb_ctx* c, const void* fn, int with_vmctx, const int64_t* imms,
                        int nimm, uint32_t n, uint8_t rt) {
    wb_spill_all(c);
    c->gpr_used = c->xmm_used = 0;     /* (all in slots now) */
    int ints = 0, floats = 0;
    if (with_vmctx)
        x_mov_rr(&c->b, 1, WB_INT_ARGS[ints++], VMCTX_REG);
    for (int i = 0; i < nimm; i++)
        x_mov_imm(&c->b, 1, WB_INT_ARGS[ints++], (uint64_t)imms[i]);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t at = c->sp - n + i;
        uint8_t t = c->stack[at].type;
        if (wb_is_float(t))
            x_fload(&c->b, t == VT_F64, floats++, wb_slot(c, at));
        else
            x_load(&c->b, wb_is64(t), WB_INT_ARGS[ints++], wb_slot(c, at));
    }
    c->sp -= n;
    wb_call_abs(c, fn);
    if (!rt)
        return;
    if (rt == VT_I32)
        x_mov_rr(&c->b, 0, RAX, RAX);           /* C leaves the upper half undefined */
    wb_push_reg(c, rt, wb_is_float(rt) ? 0 : RAX);
}

/* ---- calls ---- */

/* a callee's signature: plain types, at most one result */
static int compilable(const wb_functype* ft) {
    return ft->nresults <= 1 && wb_plain_types(ft->params, ft->nparams)
           && wb_plain_types(ft->results, ft->nresults);
}

uint32_t wb_load_args(xbuf* b, const uint8_t* types, uint32_t n, int base, int32_t first,
                      int32_t stride) {
    wb_args args = {1, 0, 0};                           /* (rdi: the vmctx) */
    for (uint32_t i = 0; i < n; i++) {
        xmem from = M(base, first + stride * (int32_t)i);
        int where;
        switch (wb_next_arg(&args, types[i], &where)) {
        case ARG_XMM: x_fload(b, types[i] == VT_F64, where, from); break;
        case ARG_GPR: x_load(b, wb_is64(types[i]), where, from); break;
        default:
            x_load(b, 1, RAX, from);
            x_store(b, 1, M(RSP, 8 * where), RAX);
        }
    }
    return args.stack;
}

/* the arguments, all in their slots from depth sp0, into registers and the stack */
static void call_args(wb_ctx* c, const wb_functype* ft, uint32_t sp0) {
    /* (slots of greater depth lie 8 bytes lower) */
    uint32_t stack = wb_load_args(&c->b, ft->params, ft->nparams, RBP, wb_slot(c, sp0).disp, -8);
    if (8 * stack > c->outgoing)
        c->outgoing = 8 * stack;
}

static void push_result(wb_ctx* c, const wb_functype* ft) {
    if (!ft->nresults)
        return;
    uint8_t t = ft->results[0];
    if (t == VT_I32)
        x_mov_rr(&c->b, 0, RAX, RAX);
    wb_push_reg(c, t, wb_is_float(t) ? 0 : RAX);
}

/* a call through the record at TEMP_SLOT whose vmctx may be another instance's:
 * that instance's gate is entered around it (calls.py) */
static void call_foreign(wb_ctx* c, const wb_functype* ft, uint32_t sp0) {
    xbuf* b = &c->b;
    xmem temp = M(RBP, TEMP_SLOT);
    x_load(b, 1, RDI, M(SCRATCH, 8));
    x_alu_rr(b, ALU_CMP, 1, RDI, VMCTX_REG);
    size_t same1 = x_jcc(b, CC_E);
    wb_call_abs(c, (const void*)wasabi_rt_gate_enter);
    x_patch32(b, same1, (uint32_t)(b->len - (same1 + 4)));
    call_args(c, ft, sp0);
    x_load(b, 1, SCRATCH, temp);
    x_load(b, 1, RDI, M(SCRATCH, 8));
    x_call_m(b, M(SCRATCH, 0));
    c->sp = sp0;
    if (ft->nresults) {                 /* kept in its slot across the gate's call */
        uint8_t t = ft->results[0];
        if (wb_is_float(t))
            x_fstore(b, t == VT_F64, wb_slot(c, sp0), 0);
        else
            x_store(b, 1, wb_slot(c, sp0), RAX);
    }
    x_load(b, 1, SCRATCH, temp);
    x_load(b, 1, RDI, M(SCRATCH, 8));
    x_alu_rr(b, ALU_CMP, 1, RDI, VMCTX_REG);
    size_t same2 = x_jcc(b, CC_E);
    wb_call_abs(c, (const void*)wasabi_rt_gate_leave);
    x_patch32(b, same2, (uint32_t)(b->len - (same2 + 4)));
    if (ft->nresults)
        wb_push(c, K_SLOT, ft->results[0]);
}

/* one argument that moves from a register into another (both of one class) */
typedef struct arg_move {
    int from, to;
} arg_move;

/* the register moves `moves[0..n)` (no two with one target), in an order where none
 * overwrites a register another still reads: a cycle goes through `scratch` */
static void parallel_moves(xbuf* b, arg_move* moves, uint32_t n, int is_float, int scratch) {
    while (n) {
        uint32_t k = 0;
        for (; k < n; k++) {
            int read = 0;
            for (uint32_t j = 0; j < n; j++)
                read |= j != k && moves[j].from == moves[k].to;
            if (!read)
                break;
        }
        if (k == n) {                   /* every target is read: a cycle */
            if (is_float)
                x_fmov(b, scratch, moves[0].from);
            else
                x_mov_rr(b, 1, scratch, moves[0].from);
            moves[0].from = scratch;
            continue;
        }
        if (is_float)
            x_fmov(b, moves[k].to, moves[k].from);
        else
            x_mov_rr(b, 1, moves[k].to, moves[k].from);
        moves[k] = moves[--n];
    }
}

/* a direct call's arguments, the entries from sp0 up, into their registers and stack
 * words straight from where they are (call_args reads them from their slots): the
 * entries below sp0 (alive across the call) go to their slots; then the arguments in
 * registers move (after the stack words, which read them), then those in slots and
 * constants load. Every register is free afterwards. */
static void move_args(wb_ctx* c, const wb_functype* ft, uint32_t sp0) {
    xbuf* b = &c->b;
    if (c->sp > sp0 && c->stack[c->sp - 1].kind == K_CMP)
        wb_materialize_cmp(c);
    wb_spill_below(c, sp0);
    arg_move gprs[6], xmms[8];
    uint32_t ngprs = 0, nxmms = 0;
    wb_args args = {1, 0, 0};                           /* (rdi: the vmctx) */
    for (uint32_t i = 0; i < ft->nparams; i++) {
        wb_value* v = &c->stack[sp0 + i];
        uint8_t t = ft->params[i];
        int to;
        int kind = wb_next_arg(&args, t, &to);
        if (kind == ARG_STACK)
            wb_store_value(c, sp0 + i, M(RSP, 8 * to));
        else if (v->kind == K_REG && kind == ARG_XMM) {
            xmms[nxmms++] = (arg_move){v->reg, to};
        } else if (v->kind == K_REG) {
            gprs[ngprs++] = (arg_move){v->reg, to};
        }
    }
    if (8 * args.stack > c->outgoing)
        c->outgoing = 8 * args.stack;
    parallel_moves(b, gprs, ngprs, 0, SCRATCH);
    parallel_moves(b, xmms, nxmms, 1, XSCRATCH);
    wb_args again = {1, 0, 0};
    for (uint32_t i = 0; i < ft->nparams; i++) {
        int to;
        int kind = wb_next_arg(&again, ft->params[i], &to);
        if (kind != ARG_STACK && c->stack[sp0 + i].kind != K_REG)
            wb_load_into(c, &c->stack[sp0 + i], to, sp0 + i);
    }
    c->gpr_used = c->xmm_used = 0;
}

void wb_call(wb_ctx* c, uint32_t func) {
    const wb_module* m = c->m;
    if (func >= m->nfuncs || m->func_types[func] >= m->ntypes || (uint64_t)func * 24 > INT32_MAX) {
        wb_refuse(c, "function index");
        return;
    }
    const wb_functype* ft = &m->types[m->func_types[func]];
    if (!compilable(ft) || ft->nparams > c->sp) {
        wb_refuse(c, "a call the baseline does not compile");
        return;
    }
    uint32_t sp0 = c->sp - ft->nparams;
    int32_t disp = (int32_t)(func * 24);
    if (func < m->nimported_funcs || m->foreign_records) {
        wb_spill_all(c);
        c->gpr_used = c->xmm_used = 0;
        x_load(&c->b, 1, SCRATCH, VM(funcs));
        x_lea(&c->b, SCRATCH, M(SCRATCH, disp));
        x_store(&c->b, 1, M(RBP, TEMP_SLOT), SCRATCH);
        call_foreign(c, ft, sp0);
        return;
    }
    /* a defined function's record holds this instance's vmctx */
    move_args(c, ft, sp0);
    x_mov_rr(&c->b, 1, RDI, VMCTX_REG);
    x_load(&c->b, 1, SCRATCH, VM(funcs));
    x_call_m(&c->b, M(SCRATCH, disp));
    c->sp = sp0;
    push_result(c, ft);
}

void wb_call_indirect(wb_ctx* c, uint32_t type_index, uint32_t table) {
    const wb_module* m = c->m;
    if (type_index >= m->ntypes || table >= m->ntables || (uint64_t)type_index * 8 > INT32_MAX
        || (uint64_t)table * 8 > INT32_MAX) {
        wb_refuse(c, "call_indirect immediates");
        return;
    }
    const wb_functype* ft = &m->types[type_index];
    if (!compilable(ft) || ft->nparams + 1 > c->sp) {
        wb_refuse(c, "a call the baseline does not compile");
        return;
    }
    xbuf* b = &c->b;
    uint32_t sp0 = c->sp - 1 - ft->nparams;
    if (m->own_functions_only) {
        /* the arguments stay where they are (move_args), out of rax and rcx, which
         * the index and the checks use */
        wb_materialize_cmp(c);
        wb_spill_below(c, sp0);
        wb_evict(c, RAX);
        c->gpr_used |= 1u << RAX;           /* (so that rcx's value does not go there) */
        wb_evict(c, RCX);
        wb_value index = wb_pop(c);
        if (index.kind == K_REG)
            x_mov_rr(b, 0, RAX, index.reg);              /* zero-extended */
        else
            wb_load_into(c, &index, RAX, c->sp);
        wb_free_value(c, index);
    } else {
        wb_spill_all(c);
        c->gpr_used = c->xmm_used = 0;
        c->sp--;
        x_load(b, 0, RAX, wb_slot(c, c->sp));               /* the index, zero-extended */
    }
    x_load(b, 1, SCRATCH, VM(tables));
    x_load(b, 1, SCRATCH, M(SCRATCH, (int32_t)(8 * table)));
    x_alu_rm(b, ALU_CMP, 1, RAX, M(SCRATCH, (int32_t)offsetof(wrt_table, size)));
    wb_trap_if(c, CC_AE, TRAP_UNDEFINED_ELEMENT);
    x_load(b, 1, SCRATCH, M(SCRATCH, (int32_t)offsetof(wrt_table, elems)));
    x_load(b, 1, SCRATCH, MX(SCRATCH, RAX, 8, 0));
    x_test_rr(b, 1, SCRATCH, SCRATCH);
    size_t present = x_jcc(b, CC_NE);
    x_mov_rr(b, 0, RDI, RAX);                               /* "uninitialized element N" */
    wb_call_abs(c, (const void*)wasabi_rt_trap_element);
    x_patch32(b, present, (uint32_t)(b->len - (present + 4)));
    x_load(b, 1, RCX, VM(type_ids));
    x_load(b, 1, RCX, M(RCX, (int32_t)(8 * type_index)));
    x_alu_rm(b, ALU_CMP, 1, RCX, M(SCRATCH, (int32_t)offsetof(wrt_func, type_id)));
    wb_trap_if(c, CC_NE, TRAP_INDIRECT_CALL_MISMATCH);
    x_store(b, 1, M(RBP, TEMP_SLOT), SCRATCH);
    if (!m->own_functions_only) {
        call_foreign(c, ft, sp0);
        return;
    }
    move_args(c, ft, sp0);
    x_mov_rr(b, 1, RDI, VMCTX_REG);
    x_load(b, 1, SCRATCH, M(RBP, TEMP_SLOT));
    x_call_m(b, M(SCRATCH, 0));
    c->sp = sp0;
    push_result(c, ft);
}
