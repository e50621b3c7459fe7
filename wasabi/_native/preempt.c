/* Asynchronous interruption: stopping a loop that has no code to stop it.
 *
 * Compiled loops carry no interrupt check (a load and a branch per iteration
 * cost 5-19% on loop kernels). Instead, while a running instance has hints
 * pending (control.c), the watchdog sends the thread inside it a signal,
 * WRT_PREEMPT_SIGNAL. Our handler looks at where the thread was: inside an
 * entry, at a PC in registered JIT code, it rewrites the signal context so
 * that, when the handler returns, the thread runs wrt_preempt_trampoline
 * instead. The trampoline saves every register (general, flags, and the
 * x87/SSE/AVX/AVX-512 state with XSAVE), calls wrt_preempt_poll (entry.c),
 * which is wasabi_rt_poll on the instance(s) this thread is inside, restores
 * everything and returns to the interrupted instruction. The poll traps as a
 * loop poll would (a _longjmp to the entry, from a normal C frame: compiled
 * frames own nothing), runs Python's signal handlers for a Ctrl-C, or finds
 * nothing and returns.
 *
 * Anywhere else (in a builtin, in Python code of a host call, in the trampoline
 * or the poll itself) the signal does nothing but chain to the handler it
 * replaced: the function-entry check, the return to a loop, or the
 * watchdog's next signal delivers the hint. Running the poll where a call was
 * not compiled is safe because compiled code keeps no state the poll can
 * invalidate: memory bases and table arrays never move (memory.c, tables.c),
 * sizes only grow, and values of globals a loop holds in registers are those
 * it read before the poll, as if the poll had come just after the loop's
 * last use of them.
 *
 * The trampoline is entered with the stack pointer below the interrupted
 * code's red zone (128 bytes it may use without moving rsp) and the
 * interrupted PC pushed as a return address; `ret $128` returns there and
 * frees the red zone gap. The handler runs on the alternate stack (SA_ONSTACK),
 * so the signal frame is not where we push.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "runtime.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>

#define RED_ZONE 128
/* room the trampoline and the poll's C frames need below the red zone */
#define PREEMPT_STACK_NEED (64u * 1024u)

/* the XSAVE area's size for this CPU's enabled state (0: FXSAVE, 512 bytes);
 * read by the trampoline */
__attribute__((visibility("hidden"))) uint64_t wrt_xsave_bytes;
__attribute__((visibility("hidden"))) void wrt_preempt_poll_hidden(void);

void wrt_preempt_poll_hidden(void) { wrt_preempt_poll(); }

/* XSAVE's requested-feature bitmap: x87, SSE, AVX, the AVX-512 opmask and
 * upper halves: everything compiled code may use (never AMX) */
#define XSAVE_MASK "0xe7"

__asm__(
    ".text\n"
    ".globl wrt_preempt_trampoline\n"
    ".hidden wrt_preempt_trampoline\n"
    ".type wrt_preempt_trampoline,@function\n"
    "wrt_preempt_trampoline:\n"
    "  pushfq\n"
    "  pushq %rax\n  pushq %rcx\n  pushq %rdx\n  pushq %rbx\n"
    "  pushq %rbp\n  pushq %rsi\n  pushq %rdi\n  pushq %r8\n"
    "  pushq %r9\n  pushq %r10\n  pushq %r11\n  pushq %r12\n"
    "  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, %rbp\n"
    "  movq wrt_xsave_bytes(%rip), %rax\n"
    "  testq %rax, %rax\n"
    "  jz 1f\n"
    "  subq %rax, %rsp\n"
    "  andq $-64, %rsp\n"
    "  xorl %eax, %eax\n"                 /* the XSAVE header must start zeroed */
    "  movq %rax, 512(%rsp)\n  movq %rax, 520(%rsp)\n  movq %rax, 528(%rsp)\n"
    "  movq %rax, 536(%rsp)\n  movq %rax, 544(%rsp)\n  movq %rax, 552(%rsp)\n"
    "  movq %rax, 560(%rsp)\n  movq %rax, 568(%rsp)\n"
    "  movl $" XSAVE_MASK ", %eax\n"
    "  xorl %edx, %edx\n"
    "  xsave64 (%rsp)\n"
    "  call wrt_preempt_poll_hidden\n"
    "  movl $" XSAVE_MASK ", %eax\n"
    "  xorl %edx, %edx\n"
    "  xrstor64 (%rsp)\n"
    "  jmp 2f\n"
    "1:\n"
    "  subq $512, %rsp\n"
    "  andq $-64, %rsp\n"
    "  fxsave64 (%rsp)\n"
    "  call wrt_preempt_poll_hidden\n"
    "  fxrstor64 (%rsp)\n"
    "2:\n"
    "  movq %rbp, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n"
    "  popq %r11\n  popq %r10\n  popq %r9\n  popq %r8\n"
    "  popq %rdi\n  popq %rsi\n  popq %rbp\n  popq %rbx\n"
    "  popq %rdx\n  popq %rcx\n  popq %rax\n"
    "  popfq\n"
    "  ret $128\n"
    ".size wrt_preempt_trampoline, .-wrt_preempt_trampoline\n");

__attribute__((visibility("hidden"))) void wrt_preempt_trampoline(void);

static wrt_chain chain;                /* the handler we replaced */
static uint64_t redirects;            /* how many signals became a poll (tests read it) */

static void xsave_size_init(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
        return;                        /* FXSAVE: no AVX state to keep */
    __cpuid_count(0xd, 0, a, b, c, d);
    wrt_xsave_bytes = (uint64_t)b + 64;   /* + room to align down to 64 */
}

/* Whether the interrupted thread can run the trampoline: inside an entry, at a
 * PC of compiled code, this handler on the alternate stack, room below. */
static int can_redirect(ucontext_t* uc) {
    if (!wrt_in_entry())
        return 0;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    if (!wrt_pc_in_code(pc))
        return 0;
    stack_t ss;
    if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
        return 0;
    uintptr_t low = wrt_thread_stack_low();
    return low && sp > low + PREEMPT_STACK_NEED + RED_ZONE;
}

static void redirect(ucontext_t* uc) {
    greg_t* g = uc->uc_mcontext.gregs;
    uintptr_t sp = (uintptr_t)g[REG_RSP] - RED_ZONE - sizeof(uintptr_t);
    *(uintptr_t*)sp = (uintptr_t)g[REG_RIP];
    g[REG_RSP] = (greg_t)sp;
    g[REG_RIP] = (greg_t)(uintptr_t)wrt_preempt_trampoline;
    __atomic_add_fetch(&redirects, 1, __ATOMIC_RELAXED);
}

int wrt_preempt_here(void* uctx) {
    if (!can_redirect((ucontext_t*)uctx))
        return 0;
    redirect((ucontext_t*)uctx);
    return 1;
}

static void on_preempt(int sig, siginfo_t* info, void* uctx) {
    int saved = errno;
    if (!wrt_preempt_here(uctx)) {
        const struct sigaction* prev = wrt_chained(&chain);
        if (prev->sa_flags & SA_SIGINFO)
            prev->sa_sigaction(sig, info, uctx);
        else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN)
            prev->sa_handler(sig);       /* (SIGURG's default action is to ignore it) */
    }
    errno = saved;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Ours on top of whatever is installed now; called again by the watchdog
 * (Python's signal.signal may have replaced it). */
void wrt_preempt_ensure(void) {
    pthread_once(&init_once, xsave_size_init);
    wrt_chain_install(WRT_PREEMPT_SIGNAL, on_preempt, SA_RESTART, &chain);
}

int wrt_preempt_supported(void) { return 1; }

void wrt_preempt_thread(pthread_t thread) { pthread_kill(thread, WRT_PREEMPT_SIGNAL); }

uint64_t wrt_preempt_redirects(void) { return __atomic_load_n(&redirects, __ATOMIC_RELAXED); }

#else   /* elsewhere compiled loops poll (compiler/module_ir.py LOOP_POLLS) */

void wrt_preempt_ensure(void) {}
int wrt_preempt_here(void* uctx) { (void)uctx; return 0; }
int wrt_preempt_supported(void) { return 0; }
void wrt_preempt_thread(pthread_t thread) { (void)thread; }
uint64_t wrt_preempt_redirects(void) { return 0; }

#endif
