"""Runner for the WebAssembly spec test suite, driven by the .wast scripts.

Data: SPEC_DIR/wast/<name>.wast (tests/spec/ in the repository; tests/spec/README.md),
read by wasabi.text.wast into commands shaped as wabt's wast2json JSON, with every module's
bytes from our own assembler. The pieces, in order:

- values: a JSON argument becomes a WasmValue holding a bit pattern (i32/f32 as unsigned 32-bit,
  i64/f64 as unsigned 64-bit, v128 lanes packed into one 128-bit int, lane 0 lowest; references:
  None for null, N for `ref.extern N`); a JSON expected result becomes a matcher (exact bits,
  nan:canonical / nan:arithmetic, per-lane for v128, null / host reference for references).
- Runner: one method per command type; it drives a pluggable engine and records one outcome per
  command (passed / failed / not applicable / not run) in a ScriptResult.
- engines: an engine turns its own errors into the harness's ModuleRejected / LinkFailed /
  TrapRaised and raises NotRun for what it cannot do yet. WasabiValidateEngine (validation only) and
  the reference engines over the `wasmtime` package live in spec_engines.py.

The runtime issues extend this by writing an executing wasabi engine; the Runner stays as it is.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import pathlib
import traceback

# ---------------------------------------------------------------------------------------------
# values

WIDTH = {"i32": 32, "f32": 32, "i64": 64, "f64": 64, "v128": 128}
LANE_WIDTH = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "f32": 32, "f64": 64}
REF_TYPES = ("funcref", "externref")
# Quiet-NaN bits (all exponent bits and the top mantissa bit) per float width; the canonical NaN
# is exactly this pattern with either sign, an arithmetic NaN is any NaN with these bits set.
QUIET_NAN = {32: 0x7FC00000, 64: 0x7FF8000000000000}


@dataclasses.dataclass(frozen=True)
class WasmValue:
    """A Wasm value as the harness passes it to and gets it from engines.

    Numbers: `bits` is the unsigned bit pattern. References: `bits` is None for null, N for the
    host reference `ref.extern N`, and for a non-null funcref any non-negative identity.
    """
    type: str
    bits: int | None

    def __str__(self):
        if self.type in REF_TYPES:
            return f"{self.type}:{'null' if self.bits is None else self.bits}"
        return f"{self.type}:{self.bits:#0{WIDTH[self.type] // 4 + 2}x}"


def parse_lanes(value):
    """v128 lanes (lane 0 first) -> one 128-bit int; NaN lanes are not allowed in arguments."""
    width = LANE_WIDTH[value["lane_type"]]
    mask = (1 << width) - 1
    packed = 0
    for index, lane in enumerate(value["value"]):
        packed |= (int(lane) & mask) << (index * width)
    return packed


def parse_arg(value) -> WasmValue:
    """A JSON argument -> WasmValue (always concrete)."""
    kind = value["type"]
    if kind in REF_TYPES:
        return WasmValue(kind, None if value["value"] == "null" else int(value["value"]))
    if kind == "v128":
        return WasmValue(kind, parse_lanes(value))
    return WasmValue(kind, int(value["value"]) & ((1 << WIDTH[kind]) - 1))


def nan_matches(kind, width, bits):
    quiet = QUIET_NAN[width]
    if kind == "nan:canonical":
        return bits & ((1 << (width - 1)) - 1) == quiet
    if kind == "nan:arithmetic":
        return bits & quiet == quiet
    raise ValueError(f"unknown NaN pattern {kind!r}")


@dataclasses.dataclass(frozen=True)
class ExpectBits:
    """Exactly this value (bits None with a reference type: the null reference)."""
    value: WasmValue

    def matches(self, got: WasmValue):
        return got.type == self.value.type and got.bits == self.value.bits

    def __str__(self):
        return str(self.value)


@dataclasses.dataclass(frozen=True)
class ExpectNan:
    """A scalar f32/f64 NaN of kind nan:canonical or nan:arithmetic."""
    type: str
    kind: str

    def matches(self, got: WasmValue):
        return got.type == self.type and nan_matches(self.kind, WIDTH[self.type], got.bits)

    def __str__(self):
        return f"{self.type}:{self.kind}"


@dataclasses.dataclass(frozen=True)
class ExpectLanes:
    """A v128 compared lane by lane, where some lanes are NaN patterns."""
    lane_type: str
    lanes: tuple  # each an int bit pattern or a "nan:..." string

    def matches(self, got: WasmValue):
        if got.type != "v128":
            return False
        width = LANE_WIDTH[self.lane_type]
        mask = (1 << width) - 1
        for index, lane in enumerate(self.lanes):
            bits = (got.bits >> (index * width)) & mask
            ok = nan_matches(lane, width, bits) if isinstance(lane, str) else bits == lane
            if not ok:
                return False
        return True

    def __str__(self):
        return f"v128:{self.lane_type}x{len(self.lanes)}[{' '.join(map(str, self.lanes))}]"


@dataclasses.dataclass(frozen=True)
class ExpectAny:
    """Only the type is given (wast2json writes this for non-null ref.func results)."""
    type: str

    def matches(self, got: WasmValue):
        return got.type == self.type and (self.type not in REF_TYPES or got.bits is not None)

    def __str__(self):
        return f"{self.type}:<any{' non-null' if self.type in REF_TYPES else ''}>"


def parse_expected(value):
    """A JSON expected result -> a matcher with .matches(WasmValue) and a readable str()."""
    kind = value["type"]
    if "value" not in value:
        return ExpectAny(kind)
    if kind == "v128":
        width = LANE_WIDTH[value["lane_type"]]
        lanes = tuple(lane if lane.startswith("nan:") else int(lane) & ((1 << width) - 1)
                      for lane in value["value"])
        if any(isinstance(lane, str) for lane in lanes):
            return ExpectLanes(value["lane_type"], lanes)
    elif kind in ("f32", "f64") and value["value"].startswith("nan:"):
        return ExpectNan(kind, value["value"])
    return ExpectBits(parse_arg(value))


# ---------------------------------------------------------------------------------------------
# what engines raise (each engine maps its own exception types onto these)

class ModuleRejected(Exception):
    """The engine refused the module as malformed or invalid (its CompileError)."""


class LinkFailed(Exception):
    """Instantiation failed on imports (unknown import, incompatible import type)."""


class TrapRaised(Exception):
    """Wasm code trapped, including "call stack exhausted" and traps during instantiation."""


class NotRun(Exception):
    """The engine cannot do this yet (e.g. execution with a validation-only engine)."""


class Engine:
    """The protocol the Runner drives; one engine object serves one script.

    compile(data) -> handle, or raise ModuleRejected; instantiate(handle) -> instance, or raise
    LinkFailed / TrapRaised; register(name, instance) makes its exports importable as module
    `name`; invoke(instance, field, [WasmValue], result_types) -> [WasmValue] (result_types: the
    script's expected types, or None when the script does not say); get_global(instance, field) ->
    WasmValue. `instantiates` False: module commands only compile and everything after is NotRun.
    `spec_trap_messages` True: trap messages must contain the spec's expected text.
    Any other exception an engine lets out is recorded as a failure of that command.
    """
    name = "abstract"
    instantiates = False
    spec_trap_messages = False

    def compile(self, data: bytes):
        raise NotRun("compile")

    def compile_text(self, text: bytes):
        """A module in the text format (the .wat of a text assert_malformed): an engine
        with its own text assembler assembles and compiles it (ModuleRejected when either
        refuses it); one without is not concerned."""
        raise NotApplicable("text format")

    def instantiate(self, handle):
        raise NotRun("instantiation")

    def register(self, name: str, instance):
        raise NotRun("register")

    def invoke(self, instance, field: str, args: list, result_types=None):
        raise NotRun("invoke")

    def get_global(self, instance, field: str):
        raise NotRun("get")


# ---------------------------------------------------------------------------------------------
# results

PASSED, FAILED, NOT_APPLICABLE, NOT_RUN = "passed", "failed", "n/a", "not run"
OUTCOMES = (PASSED, FAILED, NOT_APPLICABLE, NOT_RUN)


class CommandFailed(Exception):
    def __init__(self, expected, got):
        super().__init__(f"expected {expected}; got {got}")
        self.expected, self.got = expected, got


class NotApplicable(Exception):
    """The command is outside this runner's scope (text-format modules)."""


@dataclasses.dataclass
class Failure:
    script: str
    line: int
    command: str
    detail: str  # the file or export the command is about
    expected: str
    got: str

    def __str__(self):
        return (f"{self.script}.wast:{self.line} {self.command} {self.detail}: "
                f"expected {self.expected}; got {self.got}")


@dataclasses.dataclass
class ScriptResult:
    script: str
    engine: str
    counts: dict = dataclasses.field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    failures: list = dataclasses.field(default_factory=list)

    def total(self, outcome):
        return sum(counter[outcome] for counter in self.counts.values())

    def table(self):
        lines = [f"  {'command':24}" + "".join(f"{o:>9}" for o in OUTCOMES)]
        for command in sorted(self.counts):
            counter = self.counts[command]
            lines.append(f"  {command:24}" + "".join(f"{counter[o]:>9}" for o in OUTCOMES))
        return "\n".join(lines)

    def summary(self, max_failures=40):
        head = (f"spec script {self.script} on {self.engine}: " + ", ".join(
            f"{self.total(o)} {o}" for o in OUTCOMES))
        text = [head, self.table()]
        if self.failures:
            text.append("failures:")
            text += [f"  {f}" for f in self.failures[:max_failures]]
            if len(self.failures) > max_failures:
                text.append(f"  ... and {len(self.failures) - max_failures} more")
        return "\n".join(text)


def merge_counts(results):
    """Sum the per-command counts of several ScriptResults (for suite-wide reports)."""
    total = collections.defaultdict(collections.Counter)
    for result in results:
        for command, counter in result.counts.items():
            total[command].update(counter)
    return total


# ---------------------------------------------------------------------------------------------
# the runner

def script_path(spec_dir, name) -> pathlib.Path:
    return pathlib.Path(spec_dir) / "wast" / f"{name}.wast"


def script_names(spec_dir):
    return sorted(p.stem for p in (pathlib.Path(spec_dir) / "wast").glob("*.wast"))


@functools.lru_cache(maxsize=8)
def _read_commands(path, mtime_ns):
    from wasabi.text.wast import read_script
    return tuple(read_script(path.read_text(encoding="utf-8"), path.stem))


def read_commands(spec_dir, name):
    """The commands of SPEC_DIR/wast/<name>.wast (wasabi.text.wast's dicts; every module
    assembled, so a few scripts are read once per process and shared)."""
    path = script_path(spec_dir, name)
    return _read_commands(path, path.stat().st_mtime_ns)


def binaries_dir(spec_dir) -> pathlib.Path:
    """A directory laid out as wast2json's output, json/<name>/<name>.N.wasm, holding every
    binary module of the scripts (our assembler's bytes): the corpus of the fuzzers and the
    round-trip tests. Built once under tests/build/ (keyed by the scripts' contents)."""
    import fcntl
    import hashlib
    scripts = sorted((pathlib.Path(spec_dir) / "wast").glob("*.wast"))
    digest = hashlib.sha256()
    for path in scripts:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    build = pathlib.Path(__file__).resolve().parent / "build"
    out = build / f"spec-binaries-{digest.hexdigest()[:16]}"
    if (out / "done").exists():
        return out
    build.mkdir(parents=True, exist_ok=True)
    with open(build / ".spec-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)      # parallel workers build it once
        if not (out / "done").exists():
            for path in scripts:
                folder = out / "json" / path.stem
                folder.mkdir(parents=True, exist_ok=True)
                for command in read_commands(spec_dir, path.stem):
                    if command.get("filename", "").endswith(".wasm"):
                        (folder / command["filename"]).write_bytes(command["data"])
            (out / "done").write_text("")
    return out


VALTYPE_NAMES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
                 0x70: "funcref", 0x6F: "externref"}


def export_result_types(data, field):
    """The result type names of function export `field` of module `data` (None if unknown)."""
    import wasabi
    try:
        desc = wasabi.decode_module(data)
    except Exception:
        return None
    for export in desc.exports:
        if export.name == field and export.kind == 0:
            imported = [i for i in desc.imports if i.kind == 0]
            type_index = (imported[export.index].type if export.index < len(imported)
                          else desc.funcs[export.index - len(imported)].type_index)
            return [VALTYPE_NAMES.get(int(t), str(t)) for t in desc.types[type_index].results]
    return None


def describe_exception(exc):
    """One line naming an unexpected exception and where it was raised (for failure reports)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {pathlib.Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}"[:300] + where


class Runner:
    """Runs one script's commands on one engine; `run()` returns the ScriptResult."""

    def __init__(self, name, commands, engine: Engine):
        self.engine = engine
        self.commands = commands
        self.result = ScriptResult(name, engine.name)
        self.current = None   # the instance (or compiled handle) of the last module command
        self.named = {}       # "$name" -> instance
        self.loaded = False   # whether the last module command succeeded
        self.module_data = {}  # id(instance) -> its module's bytes (for result types)
        self._keep = []       # the instances module_data's ids stand for

    def run(self) -> ScriptResult:
        for command in self.commands:
            self.run_command(command)
        return self.result

    def run_command(self, command):
        kind = command["type"]
        handler = getattr(self, "do_" + kind, None)
        outcome = PASSED
        try:
            if handler is None:
                raise CommandFailed("a known command type", f"unknown command {kind!r}")
            handler(command)
        except CommandFailed as failed:
            outcome = FAILED
            self.record_failure(command, failed.expected, failed.got)
        except NotApplicable:
            outcome = NOT_APPLICABLE
        except NotRun:
            outcome = NOT_RUN
        except Exception as exc:  # an engine bug (NotImplementedError, IndexError, ...) fails the command
            outcome = FAILED
            self.record_failure(command, self.expected_text(command), describe_exception(exc))
        self.result.counts[kind][outcome] += 1

    def record_failure(self, command, expected, got):
        detail = command.get("filename") or command.get("action", {}).get("field", "")
        self.result.failures.append(Failure(self.result.script, command["line"], command["type"],
                                            repr(detail), expected, got))

    @staticmethod
    def expected_text(command):
        kind = command["type"]
        if kind in ("module",):
            return "module accepted"
        if "text" in command:
            return f"{kind.removeprefix('assert_')} error {command['text']!r}"
        return "no exception"

    # --- modules

    @staticmethod
    def read_module(command) -> bytes:
        return command["data"]

    def compile_accepted(self, command):
        try:
            return self.engine.compile(self.read_module(command))
        except ModuleRejected as rejected:
            raise CommandFailed("module accepted", f"rejected: {rejected}") from None

    def do_module(self, command):
        self.loaded = False
        handle = self.compile_accepted(command)
        instance = handle
        if self.engine.instantiates:
            try:
                instance = self.engine.instantiate(handle)
            except (LinkFailed, TrapRaised) as error:
                raise CommandFailed("module instantiated", f"{type(error).__name__}: {error}") from None
        self.current, self.loaded = instance, True
        self.module_data[id(instance)] = command["data"]
        self._keep.append(instance)
        if "name" in command:
            self.named[command["name"]] = instance

    def do_register(self, command):
        if not self.engine.instantiates:
            raise NotRun("register")
        instance = self.named[command["name"]] if "name" in command else self.current
        self.engine.register(command["as"], instance)

    def do_assert_invalid(self, command):
        self.expect_rejected(command)

    def do_assert_malformed(self, command):
        self.expect_rejected(command)

    def expect_rejected(self, command):
        compile = self.engine.compile if command["module_type"] == "binary" else self.engine.compile_text
        try:
            compile(self.read_module(command))
        except ModuleRejected:
            return
        raise CommandFailed(f"rejection ({command['text']!r})", "module accepted")

    def do_assert_unlinkable(self, command):
        self.expect_instantiation_error(command, LinkFailed)

    def do_assert_uninstantiable(self, command):
        self.expect_instantiation_error(command, TrapRaised)

    def expect_instantiation_error(self, command, error_type):
        handle = self.compile_accepted(command)  # these modules are valid: must compile
        if not self.engine.instantiates:
            raise NotRun("instantiation")
        try:
            self.engine.instantiate(handle)
        except error_type as error:
            self.check_message(command, error)
            return
        except (LinkFailed, TrapRaised) as error:
            raise CommandFailed(f"{error_type.__name__} {command['text']!r}",
                                f"{type(error).__name__}: {error}") from None
        raise CommandFailed(f"{error_type.__name__} {command['text']!r}", "instantiated")

    def check_message(self, command, error):
        if self.engine.spec_trap_messages and command["text"] not in str(error):
            raise CommandFailed(f"message containing {command['text']!r}", f"{error}")

    # --- actions

    def perform(self, command):
        if not self.engine.instantiates:
            raise NotRun("execution")
        action = command["action"]
        if "module" in action:
            instance = self.named.get(action["module"])
            if instance is None:
                raise CommandFailed(f"module {action['module']}", "no such module was loaded")
        elif not self.loaded:
            raise CommandFailed("a module", "the last module command failed")
        else:
            instance = self.current
        if action["type"] == "invoke":
            args = [parse_arg(arg) for arg in action["args"]]
            if "expected" in command:
                result_types = [value["type"] for value in command["expected"]]
            else:   # as wast2json writes them for assert_trap: the function's
                result_types = self.result_types(instance, action["field"])
            return self.engine.invoke(instance, action["field"], args, result_types)
        if action["type"] == "get":
            return [self.engine.get_global(instance, action["field"])]
        raise CommandFailed("invoke or get", f"action type {action['type']!r}")

    def result_types(self, instance, field):
        data = self.module_data.get(id(instance))
        return None if data is None else export_result_types(data, field)

    def do_action(self, command):
        try:
            self.perform(command)
        except TrapRaised as trap:
            raise CommandFailed("no trap", f"trap: {trap}") from None

    def do_assert_return(self, command):
        expected = [parse_expected(value) for value in command["expected"]]
        try:
            got = self.perform(command)
        except TrapRaised as trap:
            raise CommandFailed(format_values(expected), f"trap: {trap}") from None
        if len(got) != len(expected) or not all(e.matches(g) for e, g in zip(expected, got)):
            raise CommandFailed(format_values(expected), format_values(got))

    def do_assert_trap(self, command):
        try:
            got = self.perform(command)
        except TrapRaised as trap:
            self.check_message(command, trap)
            return
        raise CommandFailed(f"trap {command['text']!r}", f"returned {format_values(got)}")

    def do_assert_exhaustion(self, command):
        self.do_assert_trap(command)


def format_values(values):
    return "(" + ", ".join(map(str, values)) + ")"


def run_script(spec_dir, name, engine_factory) -> ScriptResult:
    """Run SPEC_DIR/wast/<name>.wast on a fresh engine from engine_factory()."""
    return Runner(name, read_commands(spec_dir, name), engine_factory()).run()
