"""The Code seam: what compiled code offers an instance. The runtime owns this
interface; the compiler's modes implement it (wasabi/compiler/modes/).

A Code is the machine code of one module, shared by every instance of it on any
thread. The runtime asks it for this and nothing else:

- `table`, a CodeTable: function index -> the address instances call it by.
  Compilers publish code into it; the runtime builds each new instance's
  function records from it, and passes later publications on to the live
  instances that attached to it. It is the one place code enters the runtime
  (and the place a hot swap will write).
- `code_options` (wasabi.options.CodeOptions; also as `tier`, `bounds`, `fuel`,
  `interruptible`): how the code was compiled (the runtime builds memories to
  match the bounds mode).
- `code_ranges`: [begin, end) of its machine code. The implementation
  registers them with the fault handler while the code lives, so a fault
  there is a wasm trap.
- `stats` (a dict: mode, functions, functions_compiled, batches, seconds...),
  `close()` (frees the code: nothing of it may run afterwards).
- `artifact()`: (objects, symbols) for a serialized module or the disk cache,
  or None when the code has nothing worth storing (the lazy modes).
- `new_cell(desc)`: a Code for a REPL cell of this module (REPL code only).
- `calls_through_records`, and `derived`: a dict where code made from this code
  (the ufunc loops of runtime/ufuncs.py) is kept for as long as it lives.

Signature thunks are not part of a module's Code: they depend on the signature
only, so they are made once per process (runtime/func.py thunk_provider).
"""
import struct as _struct
import threading as _threading
import weakref as _weakref

from .. import _ext
from ..abi import vmctx as V

# record_templates packs records as (code, vmctx, type id), three u64 in a row
if (V.FUNC_CODE, V.FUNC_VMCTX, V.FUNC_TYPE_ID, V.FUNC_RECORD_SIZE) != (0, 8, 16, 24):
    raise ImportError("the function record layout changed: update CodeTable.record_templates")

class Code:
    """Base of every mode's code (see the module docstring)."""
    mode = None             # the strategy's name: "eager", "lazy", "repl"...
    # every call goes through the callee's record (code compiled or swapped in later
    # is reached): code derived from this one (ufunc loops) must call the same way
    calls_through_records = False

    def __init__(self, table, code_options):
        self.table = table
        self.code_options = code_options        # wasabi.options.CodeOptions
        # code made from this code and living as long (ufunc loops), by its maker's key
        self.derived = {}

    tier = property(lambda self: self.code_options.tier)
    bounds = property(lambda self: self.code_options.bounds)
    fuel = property(lambda self: self.code_options.fuel)
    interruptible = property(lambda self: self.code_options.interruptible)

    def func_address(self, index):
        """The address instances call defined function `index` by."""
        return self.table.entry(index)

    @property
    def code_ranges(self):
        return []

    @property
    def stats(self):
        return {"mode": self.mode, **self.code_options.as_dict()}

    def artifact(self):
        return None

    def new_cell(self, desc):
        raise ValueError("cells need a module compiled with Options(mode=Mode.REPL)")

    def close(self):
        pass


class CodeTable:
    """Function index -> machine code, for every instance of one module.

    Two kinds, chosen by the compiler:
    - published up front (`CodeTable.fixed(addresses)`): an entry is the code
      itself, known before the first instance;
    - deferred (`CodeTable(first, count, resolver)`): an entry is a native stub
      (wasabi/_native/lazy.c) that is valid forever; while its function is not
      published the stub asks `resolver(index, deep)` to compile it (with the
      GIL), and once published it jumps to the code. Publishing is one store
      that every caller sees, wherever it keeps the address (a record of any
      instance, a Python handle, a table element). As a shortcut, publishing
      also rewrites (compare-and-swap, stub -> code) the records of the live
      instances that attached, so calls from compiled code skip the stub; a
      record swapped to other code meanwhile (REPL) is left alone.
    Without native stubs for this CPU a deferred table cannot exist: the
    compiler asks `stubs_supported()` and publishes everything up front instead.
    """

    def __init__(self, first, count, resolver=None):
        self.first = first
        self.count = count
        self._published = {}                # func index -> code address
        self._lock = _threading.Lock()       # publications vs attaching instances
        self._instances = _weakref.WeakSet()
        self._templates = None
        self._stubs = None
        if resolver is not None:
            # weakly: the resolver (the compiler's code object) owns this table
            self._resolver = _weakref.WeakMethod(resolver)
            self._stubs = _ext.LazyStubs(count, self)

    @classmethod
    def fixed(cls, addresses):
        """A table of code published up front: {func index: address}."""
        table = cls(min(addresses, default=0), max(addresses, default=-1) + 1)
        table.publish(addresses)
        return table

    @staticmethod
    def stubs_supported():
        """Whether this CPU has native stubs (deferred tables)."""
        return _ext.lazy_supported()

    @property
    def deferred(self):
        return self._stubs is not None

    # ---- the runtime's side ----

    def entry(self, index):
        """The address to call function `index` by (for a deferred table, its stub)."""
        if self._stubs is not None:
            self._check(index)
            return self._stubs.stub(index)
        try:
            return self._published[index]
        except KeyError:
            raise KeyError(f"function {index} is not in this code") from None

    def is_published(self, index):
        return index in self._published

    def published_indices(self):
        return set(self._published)

    def published(self, index):
        """The code of function `index` once published, else 0."""
        return self._published.get(index, 0)

    def attach(self, instance):
        """A new instance whose records were built from `record_templates`: later
        publications reach its records directly (now, for what is published)."""
        if self._stubs is None:
            return
        with self._lock:        # a swap meanwhile must not be undone by this patch
            self._instances.add(instance)
            self._patch_records(instance, self._published)

    def record_templates(self, desc, type_id):
        """(type ids, defined function records without their vmctx) as bytes: the same
        for every instance of the module (entries never change), so made once."""
        cached = self._templates
        if cached is not None and cached[0] is desc:
            return cached[1]
        ids = [type_id(t) for t in desc.types]
        type_ids = _struct.pack(f"<{len(ids)}Q", *ids)
        records = b"".join(_struct.pack("<QQQ", self.entry(f.index), 0, ids[f.type_index])
                           for f in desc.funcs)
        self._templates = (desc, (type_ids, records))
        return type_ids, records

    # ---- the compiler's side ----

    def publish(self, addresses):
        """Make {func index: code address} what every caller reaches."""
        if self._stubs is not None:
            for index, address in addresses.items():
                self._stubs.publish(index, address)
        with self._lock:
            self._published.update(addresses)
            for instance in list(self._instances):
                self._patch_records(instance, addresses)

    def swap(self, addresses):
        """Replace published code with other code of the same functions (a hot swap:
        {func index: new address}). Stubs, and the records of attached instances that
        still point at the old code, go to the new code; calls running in the old
        code finish there, so the caller keeps it mapped. Deferred tables only; a
        function not published yet is published."""
        if self._stubs is None:
            raise ValueError("only a deferred table swaps code")
        fresh = {i: a for i, a in addresses.items() if i not in self._published}
        if fresh:
            self.publish(fresh)
            addresses = {i: a for i, a in addresses.items() if i not in fresh}
        with self._lock:
            old = {index: self._published[index] for index in addresses}
            for index, address in addresses.items():
                self._stubs.swap(index, address)
            self._published.update(addresses)
            for instance in list(self._instances):
                for index, address in addresses.items():
                    _ext.patch_record_code(instance.func_record_address(index), old[index],
                                           address)

    def _resolve(self, index, deep):
        """Called by a stub's native resolver (GIL held): the code of `index`."""
        self._check(index)
        code = self._stubs.code(index)
        if code:
            return code
        resolver = self._resolver()
        if resolver is None:
            raise RuntimeError("the module's code was freed")
        resolver(index, deep)
        return self._stubs.code(index)

    def _patch_records(self, instance, addresses):
        for index, address in addresses.items():
            record = instance.func_record_address(index)
            _ext.patch_record_code(record, self._stubs.stub(index), address)

    def _check(self, index):
        if not self.first <= index < self.count:
            raise IndexError(f"function {index} is not defined by this module "
                             f"(defined: {self.first}..{self.count - 1})")
