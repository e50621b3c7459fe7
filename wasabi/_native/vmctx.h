/* The one C layout of the VMContext and the records it points to.
 *
 * Twin of wasabi/abi/vmctx.py (offsets) and wasabi/abi/traps.py (codes);
 * tests/test_abi.py checks that both sides agree, so change them together.
 */
#ifndef WASABI_VMCTX_H
#define WASABI_VMCTX_H

#include <stddef.h>
#include <stdint.h>

/* trap codes: the value given to wasabi_rt_trap and returned by wasabi_entry */
#define TRAP_NONE                   0
#define TRAP_UNREACHABLE            1
#define TRAP_INT_DIV_ZERO           2
#define TRAP_INT_OVERFLOW           3
#define TRAP_INVALID_CONVERSION     4
#define TRAP_OOB_MEMORY             5
#define TRAP_OOB_TABLE              6
#define TRAP_UNDEFINED_ELEMENT      7
#define TRAP_UNINITIALIZED_ELEMENT  8
#define TRAP_INDIRECT_CALL_MISMATCH 9
#define TRAP_STACK_EXHAUSTED        10
#define TRAP_HOST_EXCEPTION         11
#define TRAP_COMPILE_ERROR          12
#define TRAP_NULL_REFERENCE         13
#define TRAP_OUT_OF_FUEL            14
#define TRAP_INTERRUPTED            15
#define TRAP_WASI_EXIT              16
#define TRAP_INSTANCE_BUSY          17
#define TRAP_DEADLINE               18
#define TRAP_KEYBOARD_INTERRUPT     19

/* VMContext.interrupt: bits asking the code to call wasabi_rt_poll (control.c) */
#define HINT_SIGINT     1u
#define HINT_INTERRUPT  2u
#define HINT_DEADLINE   4u
#define HINT_NUDGE      8u      /* no reason: a poll and nothing else (wrt_store_nudge) */

#define WASM_PAGE_SIZE      65536u
#define WASM_MAX_PAGES      65536u              /* 4 GiB of 32-bit memory */
#define MEMORY_RESERVATION  (8ull << 30)        /* 4 GiB addressable + 4 GiB guard */
#define GLOBAL_CELL_SIZE    16
#define TABLE_NO_MAX        UINT64_MAX

/* wrt_memory.flags: the reservation covers MEMORY_RESERVATION bytes, so compiled
 * code may rely on guard pages instead of explicit bounds checks */
#define MEMORY_FLAG_GUARDED 1u
/* its store has a limiter that memory.grow must ask first (limits.c) */
#define MEMORY_FLAG_LIMITER 2u

typedef struct wrt_memory {
    uint8_t* base;          /* never moves */
    uint64_t size;          /* accessible bytes */
    uint64_t max_pages;     /* the most it may grow to: the declared maximum (or
                             * WASM_MAX_PAGES), lowered to its store's memory_pages limit */
    uint64_t reserved;      /* bytes of address space reserved at base */
    uint64_t flags;
} wrt_memory;

/* a funcref value is a pointer to one of these (NULL = null) */
typedef struct wrt_func {
    void* code;             /* code(vmctx, params...) */
    void* vmctx;            /* callee's VMContext, or its wrt_host record */
    uint64_t type_id;       /* canonical signature id */
} wrt_func;

typedef struct wrt_table {
    uint64_t* elems;        /* never moves: reserved for the capacity (tables.c) */
    uint64_t size;
    uint64_t max;           /* declared maximum, TABLE_NO_MAX: none (the store's
                             * table_elements limit lowers the capacity instead, tables.c) */
    uint64_t elem_type;     /* 0x70 funcref, 0x6F externref */
} wrt_table;

typedef struct wrt_segment {
    void* ptr;
    uint64_t len;           /* 0 once dropped */
} wrt_segment;

/* VMContext.kind: tells a VMContext from a host function's record (a funcref's
 * vmctx may be either; see wrt_host) */
#define WRT_KIND_VMCTX 0x58544d435657ull   /* "WVMCTX" */

typedef struct VMContext {
    uint8_t* mem_base;          /*  0 */
    wrt_memory* memory;         /*  8 */
    int64_t stack_limit_tpoff;  /* 16: this thread's stack limit is at thread pointer + this */
    wrt_func* funcs;            /* 24 */
    uint8_t** globals;          /* 32 */
    wrt_table** tables;         /* 40 */
    uint64_t* type_ids;         /* 48 */
    wrt_segment* datas;         /* 56 */
    wrt_segment* elems;         /* 64 */
    void* instance;             /* 72: borrowed PyObject* */
    int64_t* fuel;              /* 80: the store's remaining fuel (Options(fuel=True) code) */
    uint64_t interrupt;         /* 88: HINT_* bits: nonzero makes the code call wasabi_rt_poll */
    uint64_t gate_owner;        /* 96: token of the thread running this instance, 0 if idle */
    uint64_t gate_depth;        /* 104: nesting of entries by that thread (wasm->host->wasm) */
    uint64_t kind;              /* 112: WRT_KIND_VMCTX */
    struct wrt_store_ctl* ctl;  /* 120: the store's control block (control.c) */
} VMContext;

/* The host record a host function's wrt_func.vmctx points to. `func` is the
 * Python HostFunction (borrowed: its owner keeps it alive). It is as long as a
 * VMContext up to `kind`, which is never WRT_KIND_VMCTX (records start zeroed),
 * so that the cross-instance gate (wasabi_rt_gate_enter) can tell the two apart. */
typedef struct wrt_host {
    void* func;
    uint64_t type_id;
    uint64_t unused_[12];       /* 16..111 */
    uint64_t kind;              /* 112: 0 */
} wrt_host;

#define VMCTX_SIZE sizeof(VMContext)

#endif
