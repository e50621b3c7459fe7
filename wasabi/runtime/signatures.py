"""The process-wide canonical function-signature registry.

call_indirect compares the callee record's type_id with the caller's expected
id, so equal FuncTypes must get the same id in every module and instance.
Ids start at 1 and are never reused; 0 is never a valid id.
"""
import threading as _threading

_lock = _threading.Lock()
_ids = {}


def type_id(functype):
    """The canonical u64 id of a FuncType (structural equality)."""
    found = _ids.get(functype)
    if found is not None:
        return found
    with _lock:
        return _ids.setdefault(functype, len(_ids) + 1)
