"""Differential: each WASI test program gives the same output, exit code and
host-side file changes under wasabi and under the `wasmtime` package's WASI."""
import os

import pytest

from wasi_programs.layouts import escape_layout
from wasi_programs.wasi_build import compiled, program

from wasabi.wasi import Preopen, WasiConfig, run

wasmtime = pytest.importorskip("wasmtime")


def run_wasmtime(wasm, argv, env, preopens, stdin_path, out_path):
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    config = wasmtime.WasiConfig()
    config.argv = argv
    config.env = list(env.items())
    config.stdin_file = stdin_path
    config.stdout_file = out_path
    for host, guest, readonly in preopens:
        config.preopen_dir(host, guest, not readonly)
    store.set_wasi(config)
    instance = linker.instantiate(store, wasmtime.Module(engine, wasm))
    try:
        instance.exports(store)["_start"](store)
        return 0
    except wasmtime.ExitTrap as exit_:
        return exit_.code


def tree(directory):
    """Paths below `directory` (relative) with kind and contents: no times, they differ."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, directory)
            if os.path.islink(path):
                # absolute targets name this engine's own root
                found[rel] = ("link", os.readlink(path).replace(str(directory), "<root>"))
            elif os.path.isdir(path):
                found[rel] = ("dir",)
            else:
                with open(path, "rb") as f:
                    found[rel] = ("file", f.read())
    return found


CASES = {
    "hello": dict(argv=["hello", "3", "x y"], env={"GREETING": "hello", "EMPTY": ""}),
    "exit-exit": dict(program="exit", argv=["exit", "17", "exit"]),
    "exit-return": dict(program="exit", argv=["exit", "4", "return"]),
    "exit-_exit": dict(program="exit", argv=["exit", "9", "_exit"]),
    "stdin": dict(argv=["stdin"], stdin=b"one\ntwo\nthree"),
    "ls": dict(argv=["ls", ".", "sub", "missing"], layout="listing"),
    "files": dict(argv=["files"], layout="empty"),
    "clocks": dict(argv=["clocks"]),
    "escape": dict(argv=["escape"], layout="escape"),
    "readonly": dict(argv=["readonly"], layout="readonly"),
}


def build_layout(kind, root):
    """The directory to preopen as "." (None: no preopen), with what the case expects."""
    if kind is None:
        return None, False
    if kind == "escape":
        sandbox, _ = escape_layout(root)
        return sandbox, False
    sandbox = root / "sandbox"
    sandbox.mkdir()
    if kind == "listing":
        (sandbox / "sub").mkdir()
        (sandbox / "sub" / "x.bin").write_bytes(b"12")
        (sandbox / "a.txt").write_text("hello")
        os.symlink("a.txt", sandbox / "link")
    if kind == "readonly":
        (sandbox / "data.txt").write_text("data")
        (sandbox / "sub").mkdir()
    return sandbox, kind == "readonly"


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_as_wasmtime(case, tmp_path):
    spec = CASES[case]
    name = spec.get("program", case)
    stdin = spec.get("stdin", b"")
    (tmp_path / "stdin.bin").write_bytes(stdin)
    results = {}
    for engine in ("wasabi", "wasmtime"):
        root = tmp_path / engine
        root.mkdir()
        sandbox, readonly = build_layout(spec.get("layout"), root)
        preopens = [(str(sandbox), ".", readonly)] if sandbox else []
        if engine == "wasabi":
            config = WasiConfig(argv=spec["argv"], env=spec.get("env", {}),
                                preopens=[Preopen(*p) for p in preopens], stdin=stdin,
                                stdout="capture")
            result = run(compiled(name), config)
            code, out = result.exit_code, result.stdout
        else:
            out_path = str(tmp_path / "wasmtime.out")
            code = run_wasmtime(program(name), spec["argv"], spec.get("env", {}), preopens,
                                str(tmp_path / "stdin.bin"), out_path)
            with open(out_path, "rb") as f:
                out = f.read()
        results[engine] = (code, out.decode(errors="replace"), tree(root))
    assert results["wasabi"] == results["wasmtime"]
