"""WASI preview 1 (wasi_snapshot_preview1; wasi_unstable too) for wasabi.

The implementation is native (wasabi/_native/wasi*.c): compiled wasm calls it
directly, and guests see only their preopened directories. This package
configures it:

- wasabi's face: WasiConfig -> Environment, or run() for a whole program.
- wasmer's face: StateBuilder(...).finalize() -> Environment,
  Environment.generate_import_object(store, version) / .generate_imports(...),
  get_version(module, strict), Version.

proc_exit ends the run with WasiExit(code), not a Trap.
"""
from .config import CAPTURE, INHERIT, NULL, Preopen
from .environment import (NAMESPACE_PREVIEW1, NAMESPACE_SNAPSHOT0, Environment, Version, WasiConfig,
                          WasiFunction, bind_instance, get_version)
from .errors import TRAP_WASI_EXIT, WasiExit, exit_from_trap, is_exit_trap
from .runner import RunResult, call_export, compile_wasm, instantiate_wasi, run
from .wasmer import StateBuilder
from . import pickling  # noqa: F401,E402  (registers how Environments and imports pickle)

__all__ = [
    "WasiConfig", "Preopen", "INHERIT", "CAPTURE", "NULL", "Environment", "WasiFunction",
    "Version", "get_version", "bind_instance", "StateBuilder", "WasiExit", "TRAP_WASI_EXIT",
    "exit_from_trap", "is_exit_trap", "run", "RunResult", "call_export", "compile_wasm",
    "instantiate_wasi", "NAMESPACE_PREVIEW1", "NAMESPACE_SNAPSHOT0",
]
