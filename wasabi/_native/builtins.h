/* The C runtime functions compiled code calls; twin of wasabi/abi/builtins.py.
 *
 * Argument order: vmctx, then the immediates with the memory or table first
 * (as in the text format: `table.init $table $elem`, `table.copy $dst $src`),
 * then the operands in stack order. Every bounds failure traps (longjmp).
 */
#ifndef WASABI_BUILTINS_H
#define WASABI_BUILTINS_H

#include <stdint.h>

__attribute__((noreturn, cold)) void wasabi_rt_trap(int32_t code);
__attribute__((noreturn, cold)) void wasabi_rt_trap_element(int32_t index);

int32_t wasabi_rt_memory_grow(void* vmctx, int32_t mem, int32_t delta_pages);
void wasabi_rt_memory_fill(void* vmctx, int32_t mem, int32_t dst, int32_t value, int32_t n);
void wasabi_rt_memory_copy(void* vmctx, int32_t dst_mem, int32_t src_mem, int32_t dst, int32_t src, int32_t n);
void wasabi_rt_memory_init(void* vmctx, int32_t mem, int32_t data, int32_t dst, int32_t src, int32_t n);
void wasabi_rt_data_drop(void* vmctx, int32_t data);

void* wasabi_rt_table_get(void* vmctx, int32_t table, int32_t index);
void wasabi_rt_table_set(void* vmctx, int32_t table, int32_t index, void* ref);
int32_t wasabi_rt_table_size(void* vmctx, int32_t table);
int32_t wasabi_rt_table_grow(void* vmctx, int32_t table, void* init, int32_t delta);
void wasabi_rt_table_fill(void* vmctx, int32_t table, int32_t dst, void* ref, int32_t n);
void wasabi_rt_table_copy(void* vmctx, int32_t dst_table, int32_t src_table, int32_t dst, int32_t src, int32_t n);
void wasabi_rt_table_init(void* vmctx, int32_t table, int32_t elem, int32_t dst, int32_t src, int32_t n);
void wasabi_rt_elem_drop(void* vmctx, int32_t elem);

void wasabi_rt_host_call(void* hostrec, void* slots);

/* around a call into another instance (callee = the callee's VMContext or a host record) */
void wasabi_rt_gate_enter(void* callee);
void wasabi_rt_gate_leave(void* callee);

/* vmctx->interrupt was nonzero at a function entry, in a loop (preempt.c) or at a
 * loop header (where loops poll): trap if an
 * interrupt, deadline or Ctrl-C is due, else return (control.c) */
void wasabi_rt_poll(void* vmctx);

/* On x86-64 Linux compiled code calls wasabi_rt_stack_slow with LLVM's
 * preserve_mostcc (abi/builtins.py CALLING_CONVENTIONS): it keeps every general-purpose
 * register, so a function entry saves nothing around its cold call (a leaf function
 * then needs no prologue: 7% of the SQLite shell's instructions). It is a trampoline
 * (WASABI_REGISTER_KEEPING) that saves the registers C may change and calls the C
 * function `target` (XMM registers are the caller's to save, as preserve_mostcc
 * has it). In assembly: compilers' no_caller_saved_registers differ (clang's does
 * not keep argument registers, gcc's refuses a body that may touch SSE). */
#if defined(__x86_64__) && defined(__linux__)
#define WASABI_REGISTER_KEEPING(name, target)                                       \
    __asm__(".text\n.globl " #name "\n.type " #name ",@function\n" #name ":\n"     \
            "push %rax\npush %rcx\npush %rdx\npush %rsi\npush %rdi\n"                \
            "push %r8\npush %r9\npush %r10\npush %r11\n" /* 9 x 8: aligned */        \
            "call " #target "@PLT\n"                                                  \
            "pop %r11\npop %r10\npop %r9\npop %r8\npop %rdi\n"                       \
            "pop %rsi\npop %rdx\npop %rcx\npop %rax\nret\n.size " #name ",.-" #name)
#else
#define WASABI_REGISTER_KEEPING(name, target)                                       \
    void name(void* arg) { target(arg); }
#endif

/* a function entry's stack check failed: a real overflow traps; a limit forced
 * by control.c (an interrupt is due) is restored and vmctx polled (entry.c) */
void wasabi_rt_stack_slow(void* vmctx);

#endif
