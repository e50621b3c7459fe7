# The baseline compiler (wasabi/_native/baseline*.c): wasm to x86-64 in one pass,
# without LLVM. PGO's first tier (wasabi.compiler.modes.tiered); its code lives in
# an arena per module, freed with the module's code.

import array as _array
import os as _os

# more locals than the compiler's frame takes (baseline.c MAX_LOCALS): LLVM's
_BASELINE_MAX_LOCALS = 4096

# WASABI_PERF_MAP=1: name baseline code for `perf report` (its /tmp/perf-<pid>.map file)
_PERF_MAP = _os.environ.get("WASABI_PERF_MAP") == "1"


def _perf_map_add(address, size, index):
    with open(f"/tmp/perf-{_os.getpid()}.map", "a") as out:
        out.write(f"{address:x} {size:x} wasm_baseline_f{index}\n")

cdef extern from "baseline.h":
    ctypedef struct wb_functype:
        uint32_t nparams
        uint32_t nresults
        const uint8_t* params
        const uint8_t* results
    ctypedef struct wb_module:
        uint32_t ntypes
        const wb_functype* types
        uint32_t nfuncs
        uint32_t nimported_funcs
        const uint32_t* func_types
        uint32_t nglobals
        const uint8_t* global_types
        uint32_t nmemories
        uint32_t ntables
        int foreign_records
        int own_functions_only
        int interruptible
        uint64_t* counts
        uint32_t osr_max_body
        uint32_t osr_max_entries
        uint32_t osr_every
        int count_branches
        int cache_locals
    ctypedef struct wb_site:
        uint32_t body_offset
        uint32_t width
    ctypedef struct wb_result:
        uint8_t* code
        size_t size
        uint32_t nosr
        uint32_t osr_at[8]
        uint32_t osr_loop[8]
        uint32_t nsites
        wb_site* sites
        uint32_t sites_at
        const char* refused
    ctypedef struct wb_arena:
        pass
    void wb_compile(const wb_module* m, uint32_t index, const uint8_t* locals, uint32_t nlocals,
                    const uint8_t* body, size_t len, wb_result* out) nogil
    int wb_supported()
    wb_arena* wb_arena_new()
    void* wb_arena_add(wb_arena* a, const uint8_t* code, size_t size)
    size_t wb_arena_bytes(wb_arena* a)
    void wb_arena_free(wb_arena* a)
    size_t wb_array_thunk(const uint8_t* params, uint32_t nparams, const uint8_t* results,
                          uint32_t nresults, uint8_t** code)


def baseline_supported():
    """Whether this CPU runs what the baseline compiler emits (x86-64 with SSE4.1,
    POPCNT, LZCNT and BMI1)."""
    return bool(wb_supported())


cdef class BaselineCompiler:
    """Compiles the functions of one module (a ModuleDesc) with the baseline
    compiler into an arena of its own. `counts_address`: the PGO counters (two u64
    per function index) or 0; `osr_slot(func, loop)`: the address of the code
    pointer a loop header reads for an entry into optimised code; `site_block(func,
    [(offset, width), ...])`: the address of a block of counters for a function's branch
    sites, in order (None: branches are not counted). `cache_locals`: each function is
    compiled twice, the second time with its most used integer locals in registers
    (baseline.h)."""
    cdef wb_module m
    cdef wb_functype* types
    cdef wb_arena* arena
    cdef object keep            # the bytes the C structures point into
    cdef bytes data
    cdef object desc
    cdef object osr_slot
    cdef object site_block
    cdef readonly uint64_t compiled, refused, code_bytes

    def __cinit__(self, desc, *, uint64_t counts_address=0, osr_slot=None, site_block=None,
                  bint interruptible=True,
                  bint foreign_records=False, bint own_functions_only=False,
                  uint32_t osr_max_body=0, uint32_t osr_max_entries=0, uint32_t osr_every=1024,
                  bint cache_locals=False):
        if not wb_supported():
            raise NotImplementedError("the baseline compiler needs x86-64 with SSE4.1 and BMI")
        self.desc = desc
        self.osr_slot = osr_slot
        self.site_block = site_block
        self.data = bytes(desc.data)
        keep = []
        ntypes = len(desc.types)
        self.types = <wb_functype*>calloc(max(ntypes, 1), sizeof(wb_functype))
        if self.types == NULL:
            raise MemoryError()
        cdef bytes p, r
        for i, functype in enumerate(desc.types):
            params = getattr(functype, "params", None)
            results = getattr(functype, "results", None)
            if params is None or results is None:       # not a function type: no call uses it
                p, r = b"\x00", b"\x00"                 # (a type no code compiles)
                params = results = (0,)
            else:
                p, r = bytes(params) + b"\x00", bytes(results) + b"\x00"
            keep.append(p)
            keep.append(r)
            self.types[i].nparams = len(params)
            self.types[i].nresults = len(results)
            self.types[i].params = <const uint8_t*>PyBytes_AS_STRING(p)
            self.types[i].results = <const uint8_t*>PyBytes_AS_STRING(r)
        func_types = _array.array("I", desc.func_type_indices or (0,))
        global_types = bytes(g.valtype for g in desc.all_globals) + b"\x00"
        keep += [func_types, global_types]
        self.keep = keep
        cdef uint32_t[::1] ft = func_types
        self.m.ntypes = ntypes
        self.m.types = self.types
        self.m.nfuncs = len(desc.func_type_indices)
        self.m.nimported_funcs = desc.num_imported_funcs
        self.m.func_types = &ft[0]
        self.m.nglobals = len(desc.all_globals)
        self.m.global_types = <const uint8_t*>PyBytes_AS_STRING(global_types)
        self.m.nmemories = len(desc.all_memories)
        self.m.ntables = len(desc.all_tables)
        self.m.foreign_records = foreign_records
        self.m.own_functions_only = own_functions_only
        self.m.interruptible = interruptible
        self.m.counts = <uint64_t*><uintptr_t>counts_address
        self.m.osr_max_body = osr_max_body
        self.m.osr_max_entries = osr_max_entries
        self.m.osr_every = osr_every
        self.m.count_branches = site_block is not None
        self.m.cache_locals = cache_locals
        self.arena = wb_arena_new()
        if self.arena == NULL:
            raise MemoryError()

    @property
    def counts_branches(self):
        """Whether its code counts which way branches go."""
        return bool(self.m.count_branches)

    def __dealloc__(self):
        wb_arena_free(self.arena)
        free(self.types)

    def compile(self, func):
        """Compile `func` (a FuncDesc): (code address, None), or (0, why) when the
        baseline does not compile it. The code is the arena's until close()."""
        if self.arena == NULL:
            raise RuntimeError("the baseline compiler is closed")
        cdef wb_result out
        if func.num_locals > _BASELINE_MAX_LOCALS:   # (before expanding them: one may be huge)
            self.refused += 1
            return 0, "too many locals"
        cdef bytes locals_ = b"".join(bytes([t]) * n for n, t in func.locals) + b"\x00"
        cdef const uint8_t* data = <const uint8_t*>PyBytes_AS_STRING(self.data)
        cdef size_t start = func.body_start, end = func.body_end
        if end > <size_t>len(self.data) or start > end:
            return 0, "body outside the module"
        wb_compile(&self.m, func.index, <const uint8_t*>PyBytes_AS_STRING(locals_),
                   len(locals_) - 1, data + start, end - start, &out)
        if out.refused != NULL:
            self.refused += 1
            return 0, out.refused.decode()
        cdef uint64_t slot
        try:
            for k in range(out.nosr):       # the entries' code pointers, by address
                slot = self.osr_slot(func.index, out.osr_loop[k])
                memcpy(out.code + out.osr_at[k], &slot, 8)
            if self.m.count_branches:       # the branch counters' block
                slot = self.site_block(func.index, [(out.sites[k].body_offset, out.sites[k].width)
                                                    for k in range(out.nsites)])
                memcpy(out.code + out.sites_at, &slot, 8)
            address = <uintptr_t>wb_arena_add(self.arena, out.code, out.size)
        finally:
            free(out.code)
            free(out.sites)
        if not address:
            return 0, "no executable memory"
        if _PERF_MAP:
            _perf_map_add(address, out.size, func.index)
        self.compiled += 1
        self.code_bytes += out.size
        return address, None

    def close(self):
        """Free all the code: no function compiled here may run afterwards."""
        wb_arena_free(self.arena)
        self.arena = NULL


# the array thunks written without LLVM (baseline_thunks.c), in one arena for the process
cdef wb_arena* _thunk_arena = NULL


def baseline_array_thunk(params, results):
    """The address of an array-call thunk for params -> results (value type codes)
    written by the baseline's encoder, or 0 where it writes none (more than one
    result, v128 or reference types, or a CPU the baseline does not support). The
    thunk is never freed (compiler/thunks.py caches one per signature)."""
    global _thunk_arena
    if not wb_supported():
        return 0
    cdef bytes p = bytes(params) + b"\x00", r = bytes(results) + b"\x00"
    cdef uint8_t* code = NULL
    cdef size_t size = wb_array_thunk(<const uint8_t*>PyBytes_AS_STRING(p), len(params),
                                      <const uint8_t*>PyBytes_AS_STRING(r), len(results), &code)
    if size == 0:
        return 0
    if _thunk_arena == NULL:
        _thunk_arena = wb_arena_new()
    address = <uintptr_t>wb_arena_add(_thunk_arena, code, size) if _thunk_arena != NULL else 0
    free(code)
    return address
