"""Value types and the small type records of the binary format.

Value types are kept as their binary codes (plain ints) everywhere: the decoder,
the validator and the compiler share them without conversion.
"""
from dataclasses import dataclass

I32 = 0x7F
I64 = 0x7E
F32 = 0x7D
F64 = 0x7C
V128 = 0x7B
FUNCREF = 0x70
EXTERNREF = 0x6F

NUM_TYPES = (I32, I64, F32, F64)
VEC_TYPES = (V128,)
REF_TYPES = (FUNCREF, EXTERNREF)
VALUE_TYPES = NUM_TYPES + VEC_TYPES + REF_TYPES

NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", V128: "v128",
         FUNCREF: "funcref", EXTERNREF: "externref"}

# external kinds, as in the import/export sections
EXTERN_FUNC = 0
EXTERN_TABLE = 1
EXTERN_MEMORY = 2
EXTERN_GLOBAL = 3
EXTERN_NAMES = {EXTERN_FUNC: "func", EXTERN_TABLE: "table",
                EXTERN_MEMORY: "memory", EXTERN_GLOBAL: "global"}

PAGE_SIZE = 65536
MAX_PAGES = 65536          # 4 GiB of 32-bit memory
MAX_TABLE_SIZE = 0xFFFFFFFF


def type_name(t):
    return NAMES.get(t, f"<type {t:#x}>")


@dataclass(frozen=True, slots=True)
class FuncType:
    params: tuple
    results: tuple

    def __str__(self):
        p = " ".join(type_name(t) for t in self.params)
        r = " ".join(type_name(t) for t in self.results)
        return f"[{p}] -> [{r}]"


@dataclass(frozen=True, slots=True)
class Limits:
    min: int
    max: int | None = None


@dataclass(frozen=True, slots=True)
class TableType:
    elem_type: int          # FUNCREF or EXTERNREF
    limits: Limits


@dataclass(frozen=True, slots=True)
class MemoryType:
    limits: Limits
    shared: bool = False


@dataclass(frozen=True, slots=True)
class GlobalType:
    valtype: int
    mutable: bool
