"""Loading a shared library that `wasabi compile --dylib` wrote (wasabi/aot/dylib.py),
without LLVM: what instantiation and calls need from LLVM comes precompiled in it.

    compiled = load_library("libprog.so").compiled     # a CompiledModule

- The library is mapped with dlopen (ctypes) and its `wasabi_dylib_info`
  (wasabi/_native/standalone/dylib.h, mirrored by _Info) read.
- `wasabi_dylib_bind` points the code's builtin table at the extension's
  builtins (_ext.builtin_addresses()), so the code enters, traps, calls hosts and
  polls exactly as JIT code does; the library's C API then refuses to
  instantiate in this process (and a library the C API claimed first is refused
  here). The ABI key says whether the code was built for this extension's layout.
- Its code is a DylibCode: a fixed CodeTable of the functions' addresses, and
  its code ranges registered with the fault handler (once: a library is never
  unloaded).
- Its thunks (array-call, host-call, native-call per type of the module) join a
  thunk provider (runtime/func.py set_thunk_provider) that answers from every
  loaded library first and asks the JIT (compiler/thunks.py, importing LLVM)
  only for a signature none of them has.
- The ModuleDesc comes from the library's skeleton (the wasm with empty
  function bodies; the bodies were validated and compiled when it was built),
  which decodes in a few ms where the 1.5 MB module takes tens.
"""
import array as _array
import ctypes as _ctypes
import json as _json
import os as _os
import threading as _threading

from .. import _ext
from ..binary.reader import decode_module
from ..errors import CompileError
from ..options import CodeOptions, Options
from .code import Code, CodeTable
from .compiled import CompiledModule
from . import func as _func

MAGIC = 0x42494C5944415357          # "WSADYLIB", dylib.h
VERSION = 1
_P = _ctypes.c_void_p


class _Info(_ctypes.Structure):
    _fields_ = [("magic", _ctypes.c_uint64), ("version", _ctypes.c_uint32),
                ("c_supported", _ctypes.c_uint32), ("abi_key", _ctypes.c_char_p),
                ("header", _ctypes.c_char_p), ("wasm", _P), ("wasm_len", _ctypes.c_uint64),
                ("skeleton", _P), ("skeleton_len", _ctypes.c_uint64),
                ("num_funcs", _ctypes.c_uint32), ("num_imports", _ctypes.c_uint32),
                ("code", _P), ("num_ranges", _ctypes.c_uint32), ("ranges", _P),
                ("num_types", _ctypes.c_uint32), ("array_thunks", _P), ("host_thunks", _P),
                ("native_thunks", _P), ("num_builtins", _ctypes.c_uint32),
                ("builtin_names", _ctypes.POINTER(_ctypes.c_char_p)), ("builtin_table", _P),
                ("state", _ctypes.POINTER(_ctypes.c_int)), ("module", _P)]


def abi_key():
    """What a library's code depends on in the extension: the vmctx layout, the trap
    codes and the builtins (written into the library, checked on load). The text
    itself, a few KB: hashing it would import hashlib, which costs more than the
    comparison."""
    from ..abi.builtins import BUILTINS
    return repr((sorted(_ext.abi_layout().items()), sorted(_ext.abi_trap_codes().items()),
                 [b[:3] for b in BUILTINS]))


def _words(address, count):
    """`count` u64 at `address`, as an array('Q')."""
    out = _array.array("Q")
    out.frombytes(_ctypes.string_at(address, 8 * count))
    return out


class LibraryTable(CodeTable):
    """A CodeTable published up front whose record templates are made with array
    operations (a 4000-function module's in a fraction of a ms, the per-record
    struct.pack of CodeTable taking a few)."""

    def __init__(self, first, codes):
        super().__init__(first, first + len(codes))
        self._codes = codes                 # array('Q'): per defined function
        self.publish(dict(zip(range(first, first + len(codes)), codes)))

    def record_templates(self, desc, type_id):
        cached = self._templates
        if cached is not None and cached[0] is desc:
            return cached[1]
        ids = _array.array("Q", [type_id(t) for t in desc.types])
        records = _array.array("Q", bytes(24 * len(self._codes)))
        records[0::3] = self._codes
        records[2::3] = _array.array("Q", [ids[t] for t in
                                           desc.func_type_indices[desc.num_imported_funcs:]])
        self._templates = (desc, (ids.tobytes(), records.tobytes()))
        return self._templates[1]


class DylibCode(Code):
    """The machine code of a shared library: published up front, never freed."""
    mode = "dylib"

    def __init__(self, library, code_options):
        info = library.info
        first = info.num_imports
        super().__init__(LibraryTable(first, _words(info.code, info.num_funcs - first)),
                         code_options)
        self.library = library

    @property
    def code_ranges(self):
        return list(self.library.ranges)

    @property
    def stats(self):
        return {"mode": self.mode, "path": self.library.path,
                "functions": self.library.info.num_funcs - self.library.info.num_imports,
                **self.code_options.as_dict()}

    def __repr__(self):
        return f"<wasabi DylibCode {self.library.path}>"


class Library:
    """One loaded shared library (per process and path: dlopen shares it)."""

    def __init__(self, path):
        self.path = path
        try:
            self._dll = _ctypes.CDLL(path, mode=_os.RTLD_NOW | _os.RTLD_LOCAL)
            self.info = _Info.in_dll(self._dll, "wasabi_dylib_info")
        except (OSError, ValueError) as exc:
            raise CompileError(f"not a wasabi shared library: {path} ({exc})") from None
        info = self.info
        if info.magic != MAGIC or info.version != VERSION:
            raise CompileError(f"not a wasabi shared library of this version: {path}")
        self.header = _json.loads(info.header.decode())
        self._check_abi()
        self._bind()
        words = _words(info.ranges, 2 * info.num_ranges)
        self.ranges = [(words[2 * i], words[2 * i + 1]) for i in range(info.num_ranges)]
        for begin, end in self.ranges:
            _ext.register_code_range(begin, end)
        desc = self.desc()
        self.desc_types = desc.types
        library_thunks().add(self)
        code_options = self.code_options()
        self.compiled = CompiledModule(desc, DylibCode(self, code_options),
                                       Options(**code_options.as_dict()))

    def _check_abi(self):
        if self.info.abi_key.decode() != abi_key():
            raise CompileError(f"{self.path} was built for another wasabi runtime ABI "
                               f"(wasabi {self.header.get('wasabi')}): build it again")

    def _bind(self):
        """The builtin table -> the extension's builtins, unless the C API claimed the
        library first (wasabi_dylib_bind, dylib.c: one compare-and-swap)."""
        info = self.info
        builtins = _ext.builtin_addresses()
        names = [info.builtin_names[i].decode() for i in range(info.num_builtins)]
        table = (_ctypes.c_void_p * len(names))(*[builtins[name] for name in names])
        bind = self._dll.wasabi_dylib_bind
        bind.argtypes = (_ctypes.c_void_p, _ctypes.c_void_p)
        if bind(_ctypes.addressof(info), table) != 0:
            raise CompileError(f"{self.path} is in use through its C API in this process")

    def wasm(self):
        return _ctypes.string_at(self.info.wasm, self.info.wasm_len)

    def desc(self):
        return decode_module(_ctypes.string_at(self.info.skeleton, self.info.skeleton_len))

    def thunk_tables(self):
        """{kind: array('Q') of addresses per type index} (0: none)."""
        count = self.info.num_types
        return {kind: _words(getattr(self.info, f"{kind}_thunks"), count)
                for kind in ("array", "host", "native")}

    def code_options(self):
        return CodeOptions(**{name: self.header[name] for name in CodeOptions.FIELDS})


class LibraryThunks:
    """The thunk provider of processes that loaded libraries: their precompiled
    thunks by signature, else the provider that was there before (by default the
    JIT's, compiler/thunks.py, imported on first need)."""

    def __init__(self, fallback):
        self._fallback = fallback
        self._table = {}                # (kind, params, results) -> address

    def add(self, library):
        desc_types = library.desc_types
        for kind, addresses in library.thunk_tables().items():
            for functype, address in zip(desc_types, addresses):
                if address:
                    key = (kind, tuple(functype.params), tuple(functype.results))
                    self._table.setdefault(key, address)

    def _lookup(self, kind, functype):
        return self._table.get((kind, tuple(functype.params), tuple(functype.results)))

    def _jit(self):
        if self._fallback is None:
            from ..compiler import thunks
            self._fallback = thunks
        return self._fallback

    def array_thunk(self, functype):
        return self._lookup("array", functype) or self._jit().array_thunk(functype)

    def host_thunk(self, functype, host_call_address=None):
        found = None if host_call_address is not None else self._lookup("host", functype)
        return found or self._jit().host_thunk(functype, host_call_address)

    def native_thunk(self, functype):
        return self._lookup("native", functype) or self._jit().native_thunk(functype)

    def native_import_thunk(self, functype, fnptr):
        return self._jit().native_import_thunk(functype, fnptr)


_lock = _threading.RLock()
_libraries = {}                 # realpath -> Library


def library_thunks():
    """The LibraryThunks in place (installed on first use; the provider it replaces,
    None for the JIT's default, becomes its fallback)."""
    current = _func._thunks
    if isinstance(current, LibraryThunks):
        return current
    provider = LibraryThunks(current)
    _func.set_thunk_provider(provider)
    return provider


def load_library(path):
    """The Library at `path` (.compiled: its CompiledModule, .wasm(): its bytes); a
    path loaded before in this process is mapped once (its Code is shared)."""
    real = _os.path.realpath(path)
    with _lock:
        library = _libraries.get(real)
        if library is None:
            library = _libraries[real] = Library(real)
    return library
