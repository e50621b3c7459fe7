"""The one owner of a module's machine code: an LLJIT with a library per link.

EAGER code is one link (all parts of the module together); LAZY code links
one library per compile batch into the same JIT; an artifact from the disk
cache or Module.deserialize whose objects could not be prelinked is one link
without any LLVM optimisation or code generation (a prelinked one does not come
here: compiler/image.py maps it without LLVM). Each link's code ranges (between its code markers, see
irnames.code_markers) are registered with the runtime's fault handler, so a
fault in that code is a wasm trap; closing unregisters them and frees the code.
"""
from .. import _ext
from ..abi.builtins import BUILTINS
from .irnames import code_markers


def runtime_builtin_addresses():
    """The C runtime's builtin addresses (wasabi._ext), as import symbols for the JIT."""
    addresses = _ext.builtin_addresses()
    missing = [b[0] for b in BUILTINS if b[0] not in addresses]
    if missing:
        raise RuntimeError(f"the runtime does not provide the builtins {missing}")
    return addresses


class JitLibrary:
    """One LLJIT and the libraries linked into it, and prelinked images mapped beside
    them (no LLJIT needed for those); closing frees them all."""

    def __init__(self):
        self._jit = None
        self._links = []            # (tracker or image mapping, [(begin, end) per part])

    def link(self, objects, symbols, builtin_addresses=None):
        """Link objects (a list: the parts of one build, which call each other) as one
        new library, importing the runtime's builtins. `symbols` are the function
        symbols to export; returns {symbol: address}. Every exported function must
        lie inside its code markers (a RuntimeError otherwise: nothing is kept)."""
        # LLVM is imported on the first link: a PGO module whose functions all go to the
        # single-pass baseline never links here
        from .jit import link_objects, new_jit
        if self._jit is None:
            self._jit = new_jit()
        markers = [code_markers(part) for part in range(len(objects))]
        exported = [name for pair in markers for name in pair] + list(symbols)
        tracker, addresses = link_objects(self._jit, objects, exported,
                                          builtin_addresses or runtime_builtin_addresses())
        return self._keep(tracker, addresses, markers, symbols)

    def add_mapping(self, mapping, offsets, markers, symbols):
        """Take a mapped prelinked image (compiler/image.py Image.map: no LLVM) as one
        more library: `offsets` {symbol: offset in it}, `markers` its parts' code
        marker pairs, `symbols` the function symbols to export; returns {symbol:
        address}. As link: every exported function must lie inside its code markers,
        which must lie inside the mapping (a RuntimeError otherwise: the mapping is
        closed)."""
        names = [name for pair in markers for name in pair] + list(symbols)
        missing = [name for name in names if name not in offsets]
        if missing or any(not 0 <= offsets[begin] < offsets[end] <= mapping.size
                          for begin, end in markers):
            mapping.close()
            raise RuntimeError(f"the image does not define {missing[0]}" if missing
                               else "a code range marker lies outside its image")
        addresses = {name: mapping.base + offsets[name] for name in names}
        return self._keep(mapping, addresses, markers, symbols)

    def _keep(self, owner, addresses, markers, symbols):
        """Keep a library (`owner`: a JIT resource tracker or an image mapping, closed
        here on failure) whose symbols are at `addresses`: its code ranges (between
        `markers`) registered with the fault handler; {symbol: address} of `symbols`,
        each of which must lie inside a range (a RuntimeError otherwise)."""
        ranges = [(addresses[begin], addresses[end]) for begin, end in markers]
        outside = [s for s in symbols if not any(b < addresses[s] < e for b, e in ranges)]
        if outside:
            owner.close()
            raise RuntimeError(f"{outside[0]} lies outside its code range markers")
        for begin, end in ranges:
            _ext.register_code_range(begin, end)
        self._links.append((owner, ranges))
        return {symbol: addresses[symbol] for symbol in symbols}

    @property
    def code_ranges(self):
        return [r for _, ranges in self._links for r in ranges]

    @property
    def libraries(self):
        return len(self._links)

    def close(self):
        # the trackers go before the JIT that owns their code
        for tracker, ranges in self._links:
            for begin, end in ranges:
                _ext.unregister_code_range(begin, end)
            tracker.close()
        self._links = []
        if self._jit is not None:
            self._jit.close()
            self._jit = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
