"""Running a WASI program start to end: what `wasabi run` and the tests use.

    result = wasabi.wasi.run(wasm_bytes, WasiConfig(argv=["prog"], stdout="capture"))
    result.exit_code, result.stdout

`load` is the one place that reaches into the pipeline (parse, compile in a
mode, instantiate); everything else goes through the Environment.
"""
from dataclasses import dataclass

from ..errors import Trap
from .environment import Environment, Version, WasiConfig, bind_instance, get_version
from .errors import WasiExit, exit_from_trap, is_exit_trap


@dataclass
class RunResult:
    exit_code: int
    value: object = None        # what the invoked export returned
    stdout: bytes = b""         # captured output ("capture" stdout/stderr only)
    stderr: bytes = b""


def compile_wasm(wasm, mode="eager", tier="T1", cache=False, fuel=False):
    """Validate and compile `wasm`; returns the pipeline's CompiledModule (with
    `cache`, EAGER code comes from and goes to the on-disk cache, compiler/cache.py)."""
    from ..compiler.cache import compile_bytes
    from ..options import Options
    return compile_bytes(wasm, Options(mode=mode, tier=tier, cache=cache, fuel=fuel))


def load(wasm, imports, mode="eager", tier="T1", store=None):
    """An instance of `wasm` (bytes or a CompiledModule) with `imports`, in `store`
    (a wasabi Store, e.g. with Limits; None: a store of its own)."""
    compiled = wasm if hasattr(wasm, "instantiate") else compile_wasm(wasm, mode, tier)
    return compiled.instantiate(imports, store=store)


def instantiate_wasi(wasm, environment, extra_imports=None, mode="eager", tier="T1", store=None):
    """An instance of `wasm` linked to `environment` and bound to its memory (in
    `store`, if given)."""
    compiled = wasm if hasattr(wasm, "instantiate") else compile_wasm(wasm, mode, tier)
    version = get_version(compiled.desc) or Version.LATEST
    imports = environment.generate_imports(None, version)
    for namespace, items in (extra_imports or {}).items():
        imports.setdefault(namespace, {}).update(items)
    instance = load(compiled, imports, store=store)
    bind_instance(instance)
    return instance


def call_export(instance, name, *args):
    """Call an export; a proc_exit inside becomes WasiExit."""
    try:
        return instance.exports[name](*args)
    except Trap as trap:
        if is_exit_trap(trap):
            raise exit_from_trap(trap) from None
        raise


def run(wasm, config=None, invoke="_start", args=(), mode="eager", tier="T1"):
    """Run a WASI program (its `_start`, or `invoke` with `args`) to the end.

    The exit code is proc_exit's, or 0 when the export returns. Traps raise
    wasabi.Trap; a LinkError names an import WASI does not provide."""
    environment = Environment(config if config is not None else WasiConfig())
    instance = instantiate_wasi(wasm, environment, mode=mode, tier=tier)
    value, code = None, 0
    try:
        value = call_export(instance, invoke, *args)
    except WasiExit as exit_:
        code = exit_.code
    return RunResult(code, value, environment.stdout, environment.stderr)
