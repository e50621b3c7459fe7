"""The runtime: stores, memories, tables, globals, functions and instances.

Compiled code (wasabi.compiler) runs against the C runtime in wasabi/_native
through the ABI of wasabi/abi; this package builds the native records and the
VMContext that code reads, and turns traps into wasabi.Trap.
"""
from .. import _ext
from .func import Function, HostFunction, funcref_from_address, set_thunk_provider, thunk_provider
from .globalvar import Global
from .instance import Exports, ExportNotFound, Instance, instantiate
from .memory import Memory
from .signatures import type_id
from .store import Store
from .table import Table

# wasabi's fault handler goes on top now; memories and instances re-check it,
# since faulthandler.enable() (pytest does it) may later install its own
_ext.signals_ensure()

__all__ = ["Store", "Memory", "Table", "Global", "Function", "HostFunction", "Instance",
           "Exports", "ExportNotFound", "instantiate", "type_id", "funcref_from_address",
           "set_thunk_provider", "thunk_provider"]
