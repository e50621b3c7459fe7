"""The VMContext: one per instance, the first argument of every compiled function.

Layout (x86-64 / aarch64, 8-byte fields). The C twin is wasabi/_native/vmctx.h;
tests/test_abi.py checks that offsets and sizes agree.

    off  field          type            meaning
    0    mem_base       u8*             base of memory 0, NULL if none. Never moves: memories are
                                        8 GiB reservations, so code may load it once per function.
    8    memory         wrt_memory*     memory 0's record (its current size lives there, shared
                                        with every instance that imports the memory)
    16   stack_limit_tpoff i64          where this thread's stack limit (the lowest allowed stack
                                        pointer) is: thread pointer + this. The limit belongs to the
                                        thread, not the instance (a VMContext is shared by every
                                        caller); the offset is one per process (static TLS)
    24   funcs          wrt_func*       one record per function index (imports first)
    32   globals        u8**            one pointer per global index to its 16-byte cell
    40   tables         wrt_table**     one pointer per table index
    48   type_ids       u64*            canonical signature id per module type index
    56   datas          wrt_segment*    one per data segment {ptr, len}; len = 0 once dropped
    64   elems          wrt_segment*    one per elem segment {ptr to u64 refs, len}; 0 once dropped
    72   instance       PyObject*       borrowed back pointer to the Python Instance
    80   fuel           i64*            the store's remaining fuel, read and written by code
                                        compiled with Options(fuel=True)
    88   interrupt      u64             HINT_* bits; nonzero makes the code call wasabi_rt_poll at
                                        the next function entry or loop back-edge (control.c)
    96   gate_owner     u64             token of the thread inside this instance, 0 if idle: a
                                        second thread entering a busy instance gets an error
    104  gate_depth     u64             entries by that thread (wasm -> host -> wasm nests)
    112  kind           u64             WRT_KIND_VMCTX: tells a VMContext from a host function's
                                        record, whose `kind` (same offset) is 0
    120  ctl            wrt_store_ctl*  the store's control block: interrupt, deadline (control.c)

Records:
    wrt_memory  { u8* base; u64 size /* bytes */; u64 max_pages; u64 reserved /* bytes */;
                  u64 flags }
    wrt_func    { void* code; void* vmctx; u64 type_id }   == a funcref value (NULL = null)
                  code is called as code(vmctx, params...) with the signature of type_id.
    wrt_table   { u64* elems; u64 size; u64 max /* UINT64_MAX: none */; u64 elem_type }
                  elems are funcref (wrt_func*) or externref (PyObject*, kept alive by the
                  Store) values; 0 is null.
    wrt_segment { void* ptr; u64 len }

Values in compiled code: i32 -> i32, i64 -> i64, f32 -> float, f64 -> double,
v128 -> <2 x i64> at call boundaries, funcref/externref -> ptr.
Functions: `@wasm_f<index>(ptr %vmctx, params...)` returning void, the single value,
or a literal struct {t0, t1, ...} for several results.
"""

POINTER_SIZE = 8

VMCTX_MEM_BASE = 0
VMCTX_MEMORY = 8
VMCTX_STACK_LIMIT_TPOFF = 16
VMCTX_FUNCS = 24
VMCTX_GLOBALS = 32
VMCTX_TABLES = 40
VMCTX_TYPE_IDS = 48
VMCTX_DATAS = 56
VMCTX_ELEMS = 64
VMCTX_INSTANCE = 72
VMCTX_FUEL = 80
VMCTX_INTERRUPT = 88
VMCTX_GATE_OWNER = 96
VMCTX_GATE_DEPTH = 104
VMCTX_KIND = 112
VMCTX_CTL = 120
VMCTX_SIZE = 128

# VMContext.interrupt bits
HINT_SIGINT = 1
HINT_INTERRUPT = 2
HINT_DEADLINE = 4
HINT_NUDGE = 8

WRT_KIND_VMCTX = 0x58544D435657     # "WVMCTX"
HOST_KIND = 112                    # wrt_host.kind: 0, never WRT_KIND_VMCTX

MEMORY_BASE = 0
MEMORY_SIZE = 8
MEMORY_MAX_PAGES = 16
MEMORY_RESERVED = 24
MEMORY_FLAGS = 32
MEMORY_RECORD_SIZE = 40

FUNC_CODE = 0
FUNC_VMCTX = 8
FUNC_TYPE_ID = 16
FUNC_RECORD_SIZE = 24

TABLE_ELEMS = 0
TABLE_SIZE = 8
TABLE_MAX = 16
TABLE_ELEM_TYPE = 24
TABLE_RECORD_SIZE = 32

SEGMENT_PTR = 0
SEGMENT_LEN = 8
SEGMENT_RECORD_SIZE = 16

GLOBAL_CELL_SIZE = 16

# the memory reservation: 4 GiB addressable + 4 GiB guard, so that any
# i32 address plus any u32 offset faults inside it
MEMORY_RESERVATION = 8 << 30
