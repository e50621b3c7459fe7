"""The wasabi command line: run, compile, inspect.

    wasabi run [--dir HOST[::GUEST]] [--env K=V] [--mode eager|lazy|pgo] [--invoke FUNC] [--no-cache]
               [--max-memory SIZE] prog.wasm [args...]
    wasabi compile prog.wasm [-o prog.o] [--tier T0|T1|O2] [--exe | --object | --dylib]
    wasabi inspect prog.wasm
    wasabi cache info|clear

also as `python -m wasabi ...`. `run` exits with the program's exit code.
"""
import argparse
import os
import sys
import time

TRAP_EXIT_STATUS = 134      # 128 + SIGABRT, as wasmtime's CLI reports a trap
ERROR_STATUS = 1
USAGE_STATUS = 2            # as argparse
INTERRUPTED_STATUS = 130    # 128 + SIGINT, as a shell reports a program stopped by Ctrl-C
# the largest module file read (wasmparser's limit too): a pipe or device such as
# /dev/zero is read up to this much, then refused
MAX_MODULE_BYTES = 1 << 30


class UsageError(Exception):
    """A mistake of the user's that main() reports in one line, without a traceback."""


def _user_errors():
    """The exceptions that mean bad input (files, modules, arguments), not a wasabi bug."""
    from .errors import CompileError, LinkError
    return (OSError, CompileError, LinkError, LookupError, ValueError, OverflowError, UsageError)


def _read_module(path):
    """The wasm bytes of `path` (a .wat text file is assembled first)."""
    from .api.wat import looks_binary, wat2wasm
    with open(path, "rb") as f:
        data = f.read(MAX_MODULE_BYTES + 1)
    if len(data) > MAX_MODULE_BYTES:
        raise UsageError(f"{path}: more than {MAX_MODULE_BYTES} bytes, the most a module "
                         "may have")
    return data if looks_binary(data) else wat2wasm(data)


# ---- run ----

def _dir_spec(text, readonly):
    """HOST[::GUEST] -> Preopen (the guest sees HOST under its own name by default)."""
    from .wasi import Preopen
    host, sep, guest = text.partition("::")
    if not host or (sep and not guest):
        raise argparse.ArgumentTypeError(f"expected HOST[::GUEST], got {text!r}")
    return Preopen(host, guest if sep else host, readonly)


def _env_spec(text):
    key, sep, value = text.partition("=")
    if not key:
        raise argparse.ArgumentTypeError(f"expected K=V, got {text!r}")
    # K alone passes the host's value through (as wasmtime's --env K)
    return key, value if sep else os.environ.get(key, "")


_SIZE_UNITS = {"": 1, "b": 1, "bytes": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1000, "m": 1 << 20,
               "mib": 1 << 20, "mb": 1000 ** 2, "g": 1 << 30, "gib": 1 << 30, "gb": 1000 ** 3}


def _size_spec(text):
    """'64MiB', '1GiB', '65536' or '65536 bytes', '2GB' (decimal) -> bytes."""
    import re
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
    number, unit = match.groups() if match else ("", "?")
    if unit.lower() not in _SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"expected a size such as 64MiB, 1GiB or 65536 "
                                         f"(bytes), got {text!r}")
    return int(number) * _SIZE_UNITS[unit.lower()]


def _run_store(args):
    """The store the program runs in, with the options' limits and deadline."""
    from .runtime.limits import Limits
    from .runtime.store import Store
    limits = Limits.from_bytes(args.max_memory) if args.max_memory is not None else None
    store = Store(limits=limits)
    if args.timeout is not None:
        store.set_deadline(args.timeout)    # from before the start function runs
    if args.fuel is not None:
        store.set_fuel(args.fuel)
    return store


def _parse_value(valtype, text):
    from .binary.types import F32, F64, I32, I64, type_name
    if valtype in (I32, I64):
        try:
            value = int(text, 0)
        except ValueError:
            raise UsageError(f"{text!r} is not an integer ({type_name(valtype)})") from None
        bits = 32 if valtype == I32 else 64
        # signed or unsigned: both spellings of the same bits are accepted
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise UsageError(f"{text} is out of range for {type_name(valtype)}")
        return value
    if valtype in (F32, F64):
        try:
            return float(text)
        except ValueError:
            raise UsageError(f"{text!r} is not a number ({type_name(valtype)})") from None
    raise UsageError(f"cannot pass a {type_name(valtype)} value from the command line")


def _export_params(instance, name):
    """The parameter types of export `name`, a function (UsageError otherwise)."""
    func = instance.exports[name]
    functype = getattr(func, "functype", None)
    if functype is None:
        raise UsageError(f"export {name!r} is a {type(func).__name__.lower()}, not a function")
    return functype.params


def _invoke(instance, name, texts):
    from .wasi import call_export
    params = _export_params(instance, name)
    if len(texts) != len(params):
        raise UsageError(f"{name} takes {len(params)} arguments, got {len(texts)}")
    result = call_export(instance, name, *(_parse_value(t, s) for t, s in zip(params, texts)))
    for value in result if isinstance(result, tuple) else ([] if result is None else [result]):
        print(value)


def cmd_run(args):
    from .errors import Trap
    from .wasi import Environment, WasiConfig, WasiExit, call_export, compile_wasm, instantiate_wasi
    config = WasiConfig(argv=[args.module] + ([] if args.invoke else args.args),
                        env=dict(args.env), preopens=args.dir + args.dir_ro)
    try:
        # PGO unless a tier was asked for (PGO has its own: the baseline, then O2)
        mode = args.mode or ("eager" if args.tier else "pgo")
        compiled = compile_wasm(_read_module(args.module), mode=mode, tier=args.tier or "T1",
                                fuel=args.fuel is not None,
                                cache=args.cache)
        sys.stdout.flush()
        instance = instantiate_wasi(compiled, Environment(config), store=_run_store(args))
        if args.invoke:
            _invoke(instance, args.invoke, args.args)
        else:
            if _export_params(instance, "_start"):
                raise UsageError("_start takes arguments: not a WASI command")
            call_export(instance, "_start")
    except WasiExit as exit_:
        return exit_.code & 0xFF          # what a process exit status can carry
    except Trap as trap:
        print(f"wasabi: trap: {trap}", file=sys.stderr)
        return TRAP_EXIT_STATUS
    except _user_errors() as error:
        return _report(error)
    return 0


# ---- compile ----

def _compile_aot(args, data):
    """--exe / --object / --dylib: a native executable, or an object or a shared
    library with its C header."""
    from . import aot
    if not args.output:
        flag = "exe" if args.exe else "object" if args.object else "dylib"
        raise UsageError(f"--{flag} needs -o FILE")
    start = time.perf_counter()
    if args.dylib:
        from .aot.dylib import write_dylib
        from .options import Options
        header = write_dylib(data, args.output, options=Options(tier=args.tier),
                             source=args.module)
        what = (f"shared library (header {header}; from Python: wasabi.load_dylib; "
                f"link: cc -o app app.c {args.output} -Wl,-rpath,...)")
    elif args.exe:
        aot.write_exe(data, args.output, args.tier, fuel=args.fuel)
        what = "executable"
    else:
        header = aot.write_object(data, args.output, tier=args.tier, source=args.module)
        what = f"object (header {header}; link: cc -no-pie -o app app.c {args.output} -lpthread)"
    size = os.path.getsize(args.output)
    print(f"{args.module}: {what} {args.output}, {size} bytes, in "
          f"{time.perf_counter() - start:.2f} s")
    return 0


def cmd_compile(args):
    from .validate import parse
    from .compiler import compile_module
    from .options import Options
    data = _read_module(args.module)
    if args.fuel and not args.exe:
        raise UsageError("--fuel goes with --exe")
    if args.exe or args.object or args.dylib:
        return _compile_aot(args, data)
    start = time.perf_counter()
    desc = parse(data)
    validated = time.perf_counter()
    code = compile_module(desc, Options(tier=args.tier), jobs=1)   # one object
    done = time.perf_counter()
    if args.output:             # first, so that a path we cannot write is the only output
        with open(args.output, "wb") as f:
            f.write(code.object_bytes)
    print(f"{args.module}: {len(data)} bytes, {len(desc.funcs)} functions")
    print(f"  validated in {(validated - start) * 1000:.1f} ms")
    print(f"  compiled ({args.tier}) in {done - validated:.2f} s: "
          f"{len(code.object_bytes)} bytes of machine code object")
    if args.output:
        print(f"  object written to {args.output}")
    return 0


# ---- inspect ----

def _limits(limits):
    return f"{limits.min}..{limits.max}" if limits.max is not None else f"{limits.min}.."


def _describe_import(desc, imp):
    from .binary.types import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE, type_name
    if imp.kind == EXTERN_FUNC:
        return f"func {desc.types[imp.type]}"
    if imp.kind == EXTERN_MEMORY:
        return f"memory {_limits(imp.type.limits)} pages"
    if imp.kind == EXTERN_TABLE:
        return f"table {type_name(imp.type.elem_type)} {_limits(imp.type.limits)}"
    if imp.kind == EXTERN_GLOBAL:
        return f"global {'mut ' if imp.type.mutable else ''}{type_name(imp.type.valtype)}"
    return "?"


def _describe_export(desc, exp):
    from .binary.types import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE, type_name
    if exp.kind == EXTERN_FUNC:
        return f"func {desc.func_type(exp.index)}"
    if exp.kind == EXTERN_MEMORY:
        return f"memory {_limits(desc.all_memories[exp.index].limits)} pages"
    if exp.kind == EXTERN_TABLE:
        t = desc.all_tables[exp.index]
        return f"table {type_name(t.elem_type)} {_limits(t.limits)}"
    if exp.kind == EXTERN_GLOBAL:
        g = desc.all_globals[exp.index]
        return f"global {'mut ' if g.mutable else ''}{type_name(g.valtype)}"
    return "?"


def cmd_inspect(args):
    from .validate import parse
    from .wasi import get_version
    data = _read_module(args.module)
    desc = parse(data)
    code_bytes = sum(f.body_end - f.body_start for f in desc.funcs)
    largest = max((f.body_end - f.body_start for f in desc.funcs), default=0)
    version = get_version(desc)
    print(f"{args.module}: {len(data)} bytes")
    print(f"  functions: {len(desc.funcs)} defined, {desc.num_imported_funcs} imported; "
          f"code {code_bytes} bytes (largest body {largest})")
    print(f"  types {len(desc.types)}, tables {len(desc.all_tables)}, memories "
          f"{len(desc.all_memories)}, globals {len(desc.all_globals)}, data segments "
          f"{len(desc.datas)} ({sum(len(d.data) for d in desc.datas)} bytes), elem segments "
          f"{len(desc.elems)}")
    if version is not None:
        print(f"  WASI: {version.name}")
    if desc.start is not None:
        print(f"  start function: {desc.start}")
    print(f"imports ({len(desc.imports)}):")
    for imp in desc.imports:
        print(f"  {imp.module}.{imp.name}: {_describe_import(desc, imp)}")
    print(f"exports ({len(desc.exports)}):")
    for exp in desc.exports:
        print(f"  {exp.name}: {_describe_export(desc, exp)}")
    if desc.customs:
        print(f"custom sections ({len(desc.customs)}):")
        for custom in desc.customs:
            print(f"  {custom.name}: {len(custom.data)} bytes")
    return 0


# ---- cache ----

def _mib(size):
    if size < 1 << 20:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1 << 20):.1f} MiB"


def cmd_cache(args):
    from .compiler import cache
    if args.action == "clear":
        removed, freed = cache.clear()
        print(f"removed {removed} entries ({_mib(freed)}) from {cache.cache_dir()}")
        return 0
    state = cache.info()
    print(f"directory: {state['directory']}")
    print(f"entries:   {state['entries']}")
    print(f"size:      {_mib(state['bytes'])} of {_mib(state['limit'])} "
          "(the cap: $WASABI_CACHE_SIZE, default 512 MiB; least recently used entries go first)")
    if state["entries"]:
        stamp = "%Y-%m-%d %H:%M:%S"
        print(f"last used: {time.strftime(stamp, time.localtime(state['newest']))} "
              f"(least recently: {time.strftime(stamp, time.localtime(state['oldest']))})")
    return 0


# ---- the parser ----

class _Parser(argparse.ArgumentParser):
    """argparse's parser with its errors in wasabi's one-line form."""

    def error(self, message):
        print(f"wasabi: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(USAGE_STATUS)


def build_parser():
    parser = _Parser(prog="wasabi", description="Run, compile and inspect "
                                     "WebAssembly modules with wasabi (LLVM-compiled wasm).")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a WASI program (or invoke an export)",
                         description="Run a WASI program: its _start, or --invoke FUNC with the "
                         "arguments parsed as the function's parameters. Exits with the program's "
                         f"exit code ({TRAP_EXIT_STATUS} on a trap, {ERROR_STATUS} when it cannot "
                         "start). Options go before the module; everything after it is the "
                         "program's arguments.")
    run.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]",
                     type=lambda s: _dir_spec(s, False),
                     help="give the program a host directory (under the name GUEST)")
    run.add_argument("--dir-ro", action="append", default=[], metavar="HOST[::GUEST]",
                     type=lambda s: _dir_spec(s, True),
                     help="the same, read-only: nothing below it can change")
    run.add_argument("--env", action="append", default=[], metavar="K=V", type=_env_spec,
                     help="set an environment variable (K alone: the host's value)")
    run.add_argument("--mode", choices=["eager", "lazy", "pgo"],
                     help="pgo (the default): each function compiled on its first call by the "
                     "single-pass baseline, hot ones optimised in the background with their "
                     "profile, which the cache keeps for the next run; eager: compile every "
                     "function first (the default when --tier is given); lazy: compile each "
                     "function on its first call with LLVM")
    run.add_argument("--tier", choices=["T0", "T1", "O2"],
                     help="optimisation tier of eager and lazy (default T1)")
    run.add_argument("--invoke", metavar="FUNC", help="call this export instead of _start")
    run.add_argument("--timeout", metavar="SECONDS", type=_seconds,
                     help="stop the program (a trap) once it has run this long")
    run.add_argument("--fuel", metavar="N", type=_fuel_amount,
                     help="compile with fuel accounting and stop the program (a trap) once it "
                          "has used N units (wasmtime's costs: about one per instruction)")
    run.add_argument("--no-cache", dest="cache", action="store_false",
                     help="compile afresh: neither read nor write the code cache "
                          "($WASABI_CACHE_DIR, else ~/.cache/wasabi)")
    run.add_argument("--max-memory", metavar="SIZE", type=_size_spec,
                     help="the most each memory of the program may grow to, e.g. 64MiB, 1GiB "
                          "or 65536 (bytes; whole 64 KiB pages): memory.grow fails past it")
    run.add_argument("module", help="a .wasm (or .wat) file")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the program's arguments")
    run.set_defaults(handler=cmd_run)

    comp = sub.add_parser("compile", help="validate and compile a module; report time and size")
    comp.add_argument("module")
    comp.add_argument("-o", "--output", metavar="FILE.o",
                      help="write the machine code as a relocatable object file")
    comp.add_argument("--tier", choices=["T0", "T1", "O2"], default="O2",
                      help="optimisation tier (default O2)")
    kind = comp.add_mutually_exclusive_group()
    kind.add_argument("--exe", action="store_true",
                      help="write a native executable of a WASI command (with the C runtime "
                      "linked in; run it as ./prog [--dir H::G --env K=V --] args)")
    kind.add_argument("--object", action="store_true",
                      help="write an object to link into C programs, and its C header")
    kind.add_argument("--dylib", action="store_true",
                      help="write a shared library (C API and header; wasabi.load_dylib "
                      "loads it without LLVM)")
    comp.add_argument("--fuel", action="store_true",
                      help="with --exe: compile fuel accounting in, so that the program's "
                      "--fuel N runtime option bounds the work it does")
    comp.set_defaults(handler=cmd_compile)

    inspect = sub.add_parser("inspect", help="list a module's imports, exports and sizes")
    inspect.add_argument("module")
    inspect.set_defaults(handler=cmd_inspect)

    cache = sub.add_parser("cache", help="show or empty the code cache",
                           description="The on-disk cache of compiled code that `wasabi run` "
                           "uses ($WASABI_CACHE_DIR, else ~/.cache/wasabi; at most "
                           "$WASABI_CACHE_SIZE, default 512MiB).")
    cache.add_argument("action", choices=["info", "clear"],
                       help="info: where it is, how many entries, how big; clear: remove them")
    cache.set_defaults(handler=cmd_cache)
    return parser


def _report(error):
    """Print a user error as one line; the exit status for it."""
    text = " ".join(str(error).split()) or type(error).__name__
    print(f"wasabi: error: {text}", file=sys.stderr)
    return ERROR_STATUS


def _fuel_amount(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of fuel units, got {text!r}")
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}")
    return value


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except _user_errors() as error:
        return _report(error)
    except KeyboardInterrupt:
        print("wasabi: interrupted", file=sys.stderr)
        return INTERRUPTED_STATUS


def _exit(status):
    """End the process once the command is done: the exit handlers run (PGO saves its
    profile, background builds stop, without waiting for the tier-up thread), output is
    flushed, and the interpreter's own teardown, which frees every object one by one
    (50 ms after a cold run of the SQLite shell), is skipped."""
    import atexit
    tiered = sys.modules.get("wasabi.compiler.modes.tiered")
    if tiered is not None:          # (imported by PGO modules only)
        tiered.TIER_UP.leave_at_exit()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status if isinstance(status, int) else 1)


if __name__ == "__main__":
    try:
        status = main()
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if not isinstance(exit_.code, (int, type(None))):
            print(exit_.code, file=sys.stderr)
    _exit(status or 0)
