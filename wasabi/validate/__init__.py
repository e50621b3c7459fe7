"""Validation: the module rules (module.py) and the code-body type checker (Cython)."""
from ..binary.reader import decode_module
from .module import validate_module


def parse(data):
    """Decode and fully validate `data`; returns the ModuleDesc (nothing is compiled)."""
    desc = decode_module(data)
    validate_module(desc)
    return desc


def validate(data):
    """Raise CompileError / ValidationError unless `data` is a valid Wasm 2.0 module."""
    parse(data)
