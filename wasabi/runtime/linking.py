"""Import resolution: find each import's extern and check its type (Wasm 2.0 matching)."""
from ..binary.types import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_NAMES, EXTERN_TABLE
from ..errors import LinkError
from .func import Function, HostFunction
from .globalvar import Global
from .memory import Memory
from .native import c_function, native_function
from .table import Table

_EXTERN_CLASSES = {
    EXTERN_FUNC: (Function, HostFunction),
    EXTERN_TABLE: (Table,),
    EXTERN_MEMORY: (Memory,),
    EXTERN_GLOBAL: (Global,),
}


def _lookup(imports, module, name):
    if imports is None:
        return None
    if callable(imports) and not hasattr(imports, "get"):
        return imports(module, name)
    try:
        namespace = imports[module]
        return namespace[name]
    except (LookupError, TypeError):     # a missing module or name, however the mapping says so
        return None


def _limits_match(actual_min, actual_max, want):
    """Limits subtyping: at least the minimum, a maximum no larger than required."""
    if actual_min < want.min:
        return False
    if want.max is None:
        return True
    return actual_max is not None and actual_max <= want.max


def _incompatible(imp, want, got):
    return LinkError(f'incompatible import type for "{imp.module}" "{imp.name}": '
                     f"expected {EXTERN_NAMES[imp.kind]} {want}, got {got}")


def _check(desc, imp, ext, bounds):
    if not isinstance(ext, _EXTERN_CLASSES[imp.kind]):
        raise _incompatible(imp, "", f"{type(ext).__name__}")
    if imp.kind == EXTERN_FUNC:
        want = desc.types[imp.type]
        if ext.functype != want:
            raise _incompatible(imp, want, ext.functype)
    elif imp.kind == EXTERN_TABLE:
        want = imp.type
        if ext.elem_type != want.elem_type or not _limits_match(ext.size, ext.maximum, want.limits):
            raise _incompatible(imp, want, ext.type)
    elif imp.kind == EXTERN_MEMORY:
        want = imp.type
        if not _limits_match(ext.pages, ext.declared_max, want.limits) or ext.shared != want.shared:
            raise _incompatible(imp, want, ext.type)
        if bounds == "guard" and not ext.guarded:
            raise _incompatible(imp, "memory with guard pages (the code has no bounds checks)",
                                "an explicit-bounds memory")
    else:
        want = imp.type
        got = ext.global_type
        if got.valtype != want.valtype or got.mutable != want.mutable:
            raise _incompatible(imp, want, got)


def resolve_imports(desc, imports, bounds):
    """The extern object of every import, in order; LinkError if one is missing
    or does not match."""
    out = []
    for imp in desc.imports:
        ext = _lookup(imports, imp.module, imp.name)
        if ext is None:
            raise LinkError(f'unknown import "{imp.module}" "{imp.name}"')
        if imp.kind == EXTERN_FUNC and not isinstance(ext, (Function, HostFunction)) \
                and c_function(ext) is not None:
            ext = native_function(ext, desc.types[imp.type])   # called with no Python between
        _check(desc, imp, ext, bounds)
        out.append(ext)
    return out

