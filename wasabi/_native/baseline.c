/* The baseline compiler's driver: prologue and epilogue, the walk over the body, and
 * what the CPU must have (see baseline.h for the design). The stack and registers
 * are in baseline_stack.c, control flow in baseline_control.c, the other opcodes in
 * baseline_ops.c, baseline_float.c and baseline_calls.c.
 */
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "builtins.h"
#include "runtime.h"
#include "vmctx.h"

#define MAX_LOCALS 4096
#define MAX_FRAME (48 * 1024)

/* ---- frames: prologue, epilogue ---- */

/* where a cached local's register is saved: r13 is pushed by every function */
static int32_t save_slot(int reg) { return reg == R14 ? R14_SAVE : reg == R15 ? R15_SAVE : 0; }

void wb_emit_epilogue(wb_ctx* c) {
    for (uint32_t k = 0; k < c->ncached; k++)
        if (save_slot(c->cached_reg[k]))
            x_load(&c->b, 1, c->cached_reg[k], M(RBP, save_slot(c->cached_reg[k])));
    x_load(&c->b, 1, RBX, M(RBP, -8));
    x_load(&c->b, 1, R12, M(RBP, -16));
    x_load(&c->b, 1, R13, M(RBP, -24));
    x_byte(&c->b, 0xC9);            /* leave */
    x_byte(&c->b, 0xC3);            /* ret */
}

/* return the top value (not popped: a br_if's fall-through keeps it) */
void wb_emit_return(wb_ctx* c) {
    if (c->sig->nresults == 1 && c->sp) {
        wb_value* v = &c->stack[c->sp - 1];
        uint32_t at = c->sp - 1;
        if (wb_is_float(v->type)) {
            if (v->kind == K_REG)
                x_fmov(&c->b, 0, v->reg);
            else
                wb_load_into(c, v, 0, at);
        } else if (v->kind == K_REG) {
            x_mov_rr(&c->b, 1, RAX, v->reg);
        } else {
            wb_load_into(c, v, RAX, at);
        }
    }
    wb_emit_epilogue(c);
}


static void emit_prologue(wb_ctx* c) {
    xbuf* b = &c->b;
    x_byte(b, 0x55);                                    /* push rbp */
    x_mov_rr(b, 1, RBP, RSP);
    x_byte(b, 0x53);                                    /* push rbx */
    x_byte(b, 0x41);                                    /* push r12 */
    x_byte(b, 0x54);
    x_byte(b, 0x41);                                    /* push r13 */
    x_byte(b, 0x55);
    x_op_rr(b, 0, 1, "\x81", 1, ALU_SUB, RSP, 0);       /* sub rsp, imm32 (patched) */
    c->frame_size_at = b->len;
    x_u32(b, 0);
    x_mov_rr(b, 1, VMCTX_REG, RDI);
    x_load(b, 1, MEMBASE_REG, M(RDI, (int32_t)offsetof(VMContext, mem_base)));
    if (c->m->count_branches)
        c->out->sites_at = (uint32_t)x_movabs(b, SITES_REG, 0);
    for (uint32_t k = 0; k < c->ncached; k++)
        if (save_slot(c->cached_reg[k]))
            x_store(b, 1, M(RBP, save_slot(c->cached_reg[k])), c->cached_reg[k]);
    /* parameters into their local slots (or registers; an i32 with its upper half
     * zero, as the caller may not have left it) */
    wb_args args = {1, 0, 0};                           /* (rdi: the vmctx) */
    for (uint32_t i = 0; i < c->nparams; i++) {
        uint8_t t = c->local_types[i];
        xmem slot = wb_local(c, i);
        int cached = wb_local_reg(c, i);
        int where;
        switch (wb_next_arg(&args, t, &where)) {
        case ARG_XMM: x_fstore(b, t == VT_F64, slot, where); break;
        case ARG_GPR:
            if (cached >= 0)
                x_mov_rr(b, wb_is64(t), cached, where);
            else
                x_store(b, 1, slot, where);
            break;
        default:                                        /* above the return address */
            if (cached >= 0) {
                x_load(b, wb_is64(t), cached, M(RBP, 16 + 8 * where));
            } else {
                x_load(b, 1, SCRATCH, M(RBP, 16 + 8 * where));
                x_store(b, 1, slot, SCRATCH);
            }
        }
    }
    for (uint32_t k = 0; k < c->ncached; k++)           /* the declared ones start at 0 */
        if (c->cached_local[k] >= c->nparams)
            x_op_rr(b, 0, 0, "\x31", 1, c->cached_reg[k], c->cached_reg[k], 0);  /* xor */
    /* the other locals start at zero: 16 bytes a store (rep stosq costs tens of
     * cycles to start, on every call) */
    uint32_t zeros = c->nlocals - c->nparams;
    if (zeros > 64) {
        x_op_rr(b, 0, 0, "\x31", 1, RAX, RAX, 0);       /* xor eax, eax */
        x_lea(b, RDI, wb_local(c, c->nlocals - 1));
        x_mov_imm(b, 0, RCX, zeros);
        x_byte(b, 0xF3);                                /* rep stosq */
        x_byte(b, 0x48);
        x_byte(b, 0xAB);
    } else if (zeros > 1) {
        xmem lowest = wb_local(c, c->nlocals - 1);
        x_sse_rr(b, 0, 0, 0x57, XSCRATCH, XSCRATCH);    /* xorps */
        for (uint32_t k = 0; k < zeros / 2; k++)
            x_sse_rm(b, 0, 0, 0x11, XSCRATCH, M(RBP, lowest.disp + 16 * (int32_t)k));  /* movups */
        if (zeros & 1)
            x_store_imm(b, 1, M(RBP, lowest.disp + 16 * (int32_t)(zeros / 2)), 0);
    } else if (zeros) {
        x_store_imm(b, 1, wb_local(c, c->nparams), 0);
    }
    /* the stack check (translator.stack_check_lines): rsp below this thread's limit
     * calls wasabi_rt_stack_slow, which traps or polls. The limit is thread-local, at
     * a constant offset from fs (as LLVM's code reads it), or else read through vmctx */
    int64_t tpoff = wrt_stack_limit_tpoff();
    if (tpoff >= INT32_MIN && tpoff <= INT32_MAX) {
        x_byte(b, 0x64);                                /* cmp rsp, fs:[tpoff] */
        x_byte(b, 0x48);
        x_byte(b, 0x3B);
        x_byte(b, 0x24);
        x_byte(b, 0x25);
        x_u32(b, (uint32_t)tpoff);
    } else {
        x_load(b, 1, RAX, M(VMCTX_REG, (int32_t)offsetof(VMContext, stack_limit_tpoff)));
        x_byte(b, 0x64);                                /* mov rax, fs:[rax] */
        x_load(b, 1, RAX, M(RAX, 0));
        x_alu_rr(b, ALU_CMP, 1, RSP, RAX);
    }
    size_t ok = x_jcc(b, CC_AE);
    if (c->m->interruptible)
        x_mov_rr(b, 1, RDI, VMCTX_REG);
    else
        x_op_rr(b, 0, 0, "\x31", 1, RDI, RDI, 0);
    wb_call_abs(c, (const void*)wasabi_rt_stack_slow);
    x_patch32(b, ok, (uint32_t)(b->len - (ok + 4)));
    if (c->m->counts) {                                 /* PGO: one more call */
        x_mov_imm(b, 1, RAX, (uint64_t)(uintptr_t)&c->m->counts[2 * (size_t)c->index]);
        x_alu_mi(b, ALU_ADD, 1, M(RAX, 0), 1);
    }
}

/* ---- the function ---- */

static int set_locals(wb_ctx* c, const uint8_t* declared, uint32_t ndeclared) {
    uint64_t total = (uint64_t)c->nparams + ndeclared;
    if (total > MAX_LOCALS) {
        wb_refuse(c, "too many locals");
        return 0;
    }
    c->nlocals = (uint32_t)total;
    c->local_types = malloc(total ? total : 1);
    if (!c->local_types) {
        wb_refuse(c, "out of memory");
        return 0;
    }
    memcpy(c->local_types, c->sig->params, c->nparams);
    memcpy(c->local_types + c->nparams, declared, ndeclared);
    if (!wb_plain_types(c->local_types, c->nlocals)) {
        wb_refuse(c, "a local of a type the baseline does not compile");
        return 0;
    }
    return 1;
}

static void run(wb_ctx* c) {
    wb_frame* f = wb_push_frame(c, F_FUNC);
    if (!f)
        return;
    f->nresults = c->sig->nresults;
    f->results = c->sig->results;
    while (c->nframes && !c->refused) {
        if (c->dead)
            wb_skip_dead(c);
        if (c->p >= c->end) {
            wb_refuse(c, "body ends inside a block");
            return;
        }
        uint8_t op = *c->p++;
        if (c->sp && c->stack[c->sp - 1].kind == K_CMP && op != 0x0D && op != 0x04
            && op != 0x1B && op != 0x45)
            wb_materialize_cmp(c);
        if (wb_control(c, op))
            continue;
        if (!wb_op(c, op) && !c->refused)
            wb_refuse(c, "instruction not in the baseline");
    }
}

/* the locals a pass keeps in registers */
typedef struct cached_locals {
    uint32_t n;
    uint32_t local[WB_MAX_CACHED];
    uint8_t reg[WB_MAX_CACHED];
} cached_locals;

/* one pass over the body: the code into *out; with `uses`, *uses gets the weighted
 * uses of each local (malloc'd, the caller's to free; NULL if refused) */
static void compile_pass(const wb_module* m, uint32_t index, const uint8_t* locals,
                         uint32_t nlocals, const uint8_t* body, size_t len, wb_result* out,
                         const cached_locals* cached, uint64_t** uses) {
    memset(out, 0, sizeof *out);
    wb_ctx ctx;
    wb_ctx* c = &ctx;
    memset(c, 0, sizeof *c);
    c->m = m;
    if (cached) {
        c->ncached = cached->n;
        memcpy(c->cached_local, cached->local, sizeof c->cached_local);
        memcpy(c->cached_reg, cached->reg, sizeof c->cached_reg);
    }
    c->index = index;
    c->p = body;
    c->end = body + len;
    c->out = out;
    c->body = body;
    for (int i = 0; i < WB_TRAP_CODES; i++)
        c->trap_label[i] = -1;
    if (index < m->nimported_funcs || index >= m->nfuncs || m->func_types[index] >= m->ntypes) {
        out->refused = "not a defined function";
        return;
    }
    c->sig = &m->types[m->func_types[index]];
    c->nparams = c->sig->nparams;
    if (c->sig->nresults > 1 || !wb_plain_types(c->sig->params, c->sig->nparams)
        || !wb_plain_types(c->sig->results, c->sig->nresults)) {
        out->refused = "a signature the baseline does not compile";
        return;
    }
    c->osr_ok = m->counts && len <= m->osr_max_body;
    if (set_locals(c, locals, nlocals)) {
        if (uses && !(c->local_uses = calloc(c->nlocals ? c->nlocals : 1, sizeof *c->local_uses)))
            wb_refuse(c, "out of memory");
        emit_prologue(c);
        run(c);
        wb_emit_trap_stubs(c);
        wb_resolve_fixups(c);
    }
    /* below the pushes (SAVED bytes): r14's and r15's places, the temporary, the
     * slots, the outgoing arguments; rsp 16-aligned after it all */
    uint64_t need = (HEADER - SAVED) + 8ull * (c->nlocals + c->max_depth) + c->outgoing;
    uint64_t frame = (SAVED + need + 15) / 16 * 16 - SAVED;
    if (!c->refused && frame > MAX_FRAME)
        wb_refuse(c, "frame too large");
    if (!c->refused && c->b.oom)
        wb_refuse(c, "out of memory");
    if (!c->refused && c->nframes)
        wb_refuse(c, "body ends inside a block");
    if (!c->refused) {
        x_patch32(&c->b, c->frame_size_at, (uint32_t)frame);
        out->code = c->b.p;
        out->size = c->b.len;
        c->b.p = NULL;
    } else {
        out->refused = c->refused;
        out->nosr = 0;
        free(out->sites);
        out->sites = NULL;
        out->nsites = 0;
    }
    if (uses && !c->refused)
        *uses = c->local_uses;
    else
        free(c->local_uses);
    free(c->b.p);
    free(c->stack);
    free(c->frames);
    free(c->labels);
    free(c->fixups);
    free(c->local_types);
}

/* the most used locals (at least two weighted uses: only integer ones are counted),
 * most used first, in r14, r15, then r13 if it holds no branch counters */
static void choose_cached(const wb_module* m, uint32_t n, const uint64_t* uses,
                          cached_locals* out) {
    static const uint8_t regs[WB_MAX_CACHED] = {R14, R15, R13};
    uint32_t most = m->count_branches ? WB_MAX_CACHED - 1 : WB_MAX_CACHED;
    memset(out, 0, sizeof *out);
    for (uint32_t k = 0; k < most; k++) {
        uint32_t best = n;
        for (uint32_t i = 0; i < n; i++) {
            int taken = 0;
            for (uint32_t j = 0; j < out->n; j++)
                taken |= out->local[j] == i;
            if (!taken && uses[i] >= 2 && (best == n || uses[i] > uses[best]))
                best = i;
        }
        if (best == n)
            return;
        out->local[out->n] = best;
        out->reg[out->n++] = regs[k];
    }
}

void wb_compile(const wb_module* m, uint32_t index, const uint8_t* locals, uint32_t nlocals,
                const uint8_t* body, size_t len, wb_result* out) {
    if (!m->cache_locals) {
        compile_pass(m, index, locals, nlocals, body, len, out, NULL, NULL);
        return;
    }
    uint64_t* uses = NULL;
    compile_pass(m, index, locals, nlocals, body, len, out, NULL, &uses);
    if (out->refused || !uses)
        return;
    cached_locals cached;
    choose_cached(m, m->types[m->func_types[index]].nparams + nlocals, uses, &cached);
    free(uses);
    if (!cached.n)
        return;                     /* the first pass's code is as good */
    free(out->code);
    free(out->sites);
    compile_pass(m, index, locals, nlocals, body, len, out, &cached, NULL);
}

int wb_supported(void) {
#if defined(__x86_64__) && defined(__linux__)
    unsigned a, b, cx, d;
    if (!__get_cpuid(1, &a, &b, &cx, &d))
        return 0;
    int sse41 = (cx >> 19) & 1, popcnt = (cx >> 23) & 1;
    if (!__get_cpuid(0x80000001, &a, &b, &cx, &d))
        return 0;
    int lzcnt = (cx >> 5) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &cx, &d))
        return 0;
    int bmi1 = (b >> 3) & 1;
    return sse41 && popcnt && lzcnt && bmi1;
#else
    return 0;
#endif
}
