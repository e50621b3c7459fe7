"""The C runtime and wasabi/abi describe the same ABI."""
import pathlib
import re

import pytest

from wasabi import _ext
from wasabi.abi import builtins, traps, vmctx

NATIVE = pathlib.Path(__file__).resolve().parent.parent / "wasabi" / "_native"

C_TO_LLVM = {"void": "void", "int32_t": "i32", "int64_t": "i64", "void*": "ptr",
             "uint32_t": "i32", "uint64_t": "i64"}


def python_layout():
    return {name: value for name, value in vars(vmctx).items()
            if name.isupper() and isinstance(value, int)}


def test_every_layout_constant_matches_the_c_compiler():
    c = _ext.abi_layout()
    py = python_layout()
    assert set(py) == set(c), f"only in Python: {set(py) - set(c)}, only in C: {set(c) - set(py)}"
    mismatched = {k: (py[k], c[k]) for k in py if py[k] != c[k]}
    assert not mismatched


def test_trap_codes_match():
    c = _ext.abi_trap_codes()
    py = {name: value for name, value in vars(traps).items() if name.startswith("TRAP_")}
    assert c == py


def test_every_trap_code_has_a_message():
    codes = {v for k, v in vars(traps).items() if k.startswith("TRAP_") and v}
    assert codes == set(traps.MESSAGES)
    assert traps.message(traps.TRAP_OOB_MEMORY) == "out of bounds memory access"


def parse_builtins_header():
    """name -> (LLVM return type, LLVM param types, noreturn) from builtins.h."""
    text = (NATIVE / "builtins.h").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    pattern = re.compile(r"(__attribute__\(\((?P<attrs>[^)]*)\)\)\s*)?"
                         r"(?P<ret>\w+\*?)\s+(?P<name>wasabi_rt_\w+)\((?P<params>[^)]*)\);")
    for m in pattern.finditer(text):
        params = []
        for p in m.group("params").split(","):
            p = p.strip()
            ctype = p.rsplit(" ", 1)[0].replace(" *", "*").strip()
            if p.split()[-1].startswith("*"):
                ctype += "*"
            params.append(C_TO_LLVM[ctype])
        out[m.group("name")] = (C_TO_LLVM[m.group("ret")], tuple(params),
                                "noreturn" in (m.group("attrs") or ""))
    return out


def test_builtins_header_declares_the_abi_signatures():
    header = parse_builtins_header()
    assert set(header) == set(builtins.BY_NAME)
    for name, ret, params, attrs in builtins.BUILTINS:
        c_ret, c_params, c_noreturn = header[name]
        assert (c_ret, c_params) == (ret, params), name
        assert c_noreturn == ("noreturn" in attrs), name


def test_every_builtin_has_an_address():
    addresses = _ext.builtin_addresses()
    tpoff = addresses.pop(builtins.STACK_LIMIT_TPOFF_SYMBOL)
    assert set(addresses) == set(builtins.BY_NAME)
    assert all(isinstance(a, int) and a > 0 for a in addresses.values())
    assert len(set(addresses.values())) == len(addresses)
    # a static TLS offset (as an unsigned 64-bit address): fits a signed 32-bit displacement
    signed = tpoff - 2**64 if tpoff >= 2**63 else tpoff
    assert -2**31 <= signed < 2**31


def test_a_vmctx_finds_the_threads_stack_limit_at_the_same_offset():
    ctx = _ext.RawBuffer(vmctx.VMCTX_SIZE)
    _ext.vmctx_init(ctx.address)
    tpoff = _ext.builtin_addresses()[builtins.STACK_LIMIT_TPOFF_SYMBOL]
    assert ctx.get_u64(vmctx.VMCTX_STACK_LIMIT_TPOFF) == tpoff
    assert ctx.get_u64(vmctx.VMCTX_KIND) == vmctx.WRT_KIND_VMCTX


def test_llvm_declarations_parse():
    llvm = pytest.importorskip("llvmlite.binding")
    mod = llvm.parse_assembly(builtins.llvm_declarations())
    mod.verify()
    assert {f.name for f in mod.functions} == set(builtins.BY_NAME)
