"""The WASI test programs: the .c files here, built with clang + wasi-libc to the .wasm
files committed next to them, so that the tests need no C toolchain.

    python tests/wasi_programs/wasi_build.py [name ...]    # rebuild (all, or these)

runs, for each program,

    clang --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wl,--strip-debug -o x.wasm x.c

(Debian's packages clang, lld, wasi-libc and libclang-rt-14-dev-wasm32; WASI_SYSROOT
names another sysroot) and records the source's digest in BUILT. A program whose
source no longer matches BUILT is rebuilt on the fly into tests/build/wasi/ when the
toolchain is there; without it the test skips, saying to rebuild
(test_wasi_programs_are_built fails on such a program, so it does not go unnoticed).
"""
import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
BUILD = HERE.parent / "build" / "wasi"
MANIFEST = HERE / "BUILT"
SYSROOT = os.environ.get("WASI_SYSROOT", "/usr")
CFLAGS = ["--target=wasm32-wasi", f"--sysroot={SYSROOT}", "-O2", "-Wall", "-Wl,--strip-debug"]
REBUILD = "python tests/wasi_programs/wasi_build.py"

_versions = {}


def toolchain_missing():
    """Why the programs cannot be built here, or None."""
    if not shutil.which("clang") or not shutil.which("wasm-ld"):
        return "clang and wasm-ld (packages clang, lld) are not installed"
    if not pathlib.Path(SYSROOT, "lib", "wasm32-wasi", "libc.a").exists():
        return "wasi-libc (package wasi-libc) is not installed"
    return None


def _clang_version():
    if "clang" not in _versions:
        _versions["clang"] = subprocess.run(["clang", "--version"], capture_output=True,
                                            text=True).stdout
    return _versions["clang"]


def source_digest(name):
    """What BUILT records for program `name`: its source and the flags."""
    source = (HERE / f"{name}.c").read_bytes()
    return hashlib.sha256(source + " ".join(CFLAGS[:1] + CFLAGS[2:]).encode()).hexdigest()[:16]


def recorded():
    """name -> the source digest its committed .wasm was built from."""
    if not MANIFEST.exists():
        return {}
    pairs = (line.split() for line in MANIFEST.read_text().splitlines() if line.strip())
    return {name: digest for name, digest in pairs}


def is_current(name):
    """Whether tests/wasi_programs/<name>.wasm is built from the current <name>.c."""
    return (HERE / f"{name}.wasm").exists() and recorded().get(name) == source_digest(name)


def compile_c(source, output):
    """clang `source` to `output` (RuntimeError on failure)."""
    partial = output.with_suffix(".tmp")
    done = subprocess.run(["clang", *CFLAGS, "-o", str(partial), str(source)],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"building {source.name} failed:\n{done.stderr[-3000:]}")
    partial.replace(output)


def build(name):
    """The path of program `name` built to wasm: the committed one when it is current, else
    one built now under tests/build/wasi/ (RuntimeError without a toolchain)."""
    if is_current(name):
        return HERE / f"{name}.wasm"
    missing = toolchain_missing()
    if missing:
        raise RuntimeError(f"tests/wasi_programs/{name}.wasm is older than {name}.c and it "
                           f"cannot be rebuilt here ({missing}): run {REBUILD} where clang is")
    digest = hashlib.sha256(source_digest(name).encode() + _clang_version().encode()).hexdigest()
    output = BUILD / f"{name}-{digest[:16]}.wasm"
    if output.exists():
        return output
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # parallel test runs build each program once
        if not output.exists():
            compile_c(HERE / f"{name}.c", output)
    return output


def program_path(name):
    """The path of program `name`'s .wasm; skips the calling test when it cannot be had."""
    try:
        return build(name)
    except RuntimeError as exc:
        import pytest
        pytest.skip(str(exc))


def program(name):
    """The wasm bytes of program `name` (skips the calling test when it cannot be had)."""
    return program_path(name).read_bytes()


_compiled = {}


def compiled(name, mode="eager", tier="T0"):
    """Program `name` compiled by wasabi (cached per process: a libc program takes
    seconds at T1; T0 keeps the suite quick and behaves the same)."""
    key = (name, mode, tier)
    if key not in _compiled:
        from wasabi.wasi import compile_wasm
        _compiled[key] = compile_wasm(program(name), mode=mode, tier=tier)
    return _compiled[key]


def names():
    return sorted(path.stem for path in HERE.glob("*.c"))


def rebuild(selected=()):
    """Build the .wasm next to each (selected) source and record it in BUILT."""
    missing = toolchain_missing()
    if missing:
        sys.exit(f"cannot build: {missing}")
    table = recorded()
    for name in selected or names():
        compile_c(HERE / f"{name}.c", HERE / f"{name}.wasm")
        table[name] = source_digest(name)
        print(f"built tests/wasi_programs/{name}.wasm")
    MANIFEST.write_text("".join(f"{name} {table[name]}\n" for name in sorted(table)))


if __name__ == "__main__":
    rebuild(sys.argv[1:])
