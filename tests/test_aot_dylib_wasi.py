"""Issue 16: the C API of shared libraries gives a module importing WASI wasabi's own
WASI (a configuration as wasmtime's wasi_config_t: <name>_wasi_new, _args, _env,
_stdio, _preopen, ...; <name>_instantiate_wasi takes it over), proc_exit as a
status with the exit code kept, ordinary imports still C function pointers."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import wasabi
from wasabi import aot, wasi
from wasabi.aot.dylib import write_dylib

HERE = pathlib.Path(__file__).resolve().parent
pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")

# WASI (fd_write, proc_exit, args_sizes_get) and an ordinary import side by side
WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasm\\n")
  (func $write (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "hello") (result i32) (call $write (i32.const 16) (i32.const 16)))
  (func (export "argc") (result i32)
    (drop (call $args_sizes (i32.const 8) (i32.const 12)))
    (i32.load (i32.const 8)))
  (func (export "twice") (param i32) (result i32) (call $twice (local.get 0)))
  (func (export "exit") (param i32) (call $exit (local.get 0)) (unreachable))
  (func (export "boom") (unreachable))
  ;; the message copied to a page grown now and written from there: WASI sees the growth
  (func (export "grow_write") (result i32) (local $at i32)
    (local.set $at (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)))
    (memory.copy (local.get $at) (i32.const 16) (i32.const 16))
    (call $write (local.get $at) (i32.const 16)))
  (func (export "_start") (drop (call $write (i32.const 16) (i32.const 16)))
    (call $exit (i32.const 3)))
)
"""

# its start function exits: instantiation fails with EXITED, the code is the thread's
EXITS_AT_START = """
(module
  (import "wasi_unstable" "proc_exit" (func $exit (param i32)))
  (func $start (call $exit (i32.const 9)))
  (start $start))
"""

C_PROGRAM = r"""
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "libmix.h"

static int32_t twice(void* env, int32_t x) { ++*(int*)env; return 2 * x; }

static void* on_a_thread(void* inst) {      /* prepared on its first call, as before */
    int32_t r = -1;
    int st = mix_call_hello(inst, &r);
    printf("thread hello %d %d\n", st, r);
    return NULL;
}

static void show_file(const char* path) {
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s: %zd [%s]\n", path, n, buf);
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IONBF, 0);       /* our lines and the guest's in order */
    int calls = 0;
    mix_imports imports = {&calls, twice};
    mix_instance *a = NULL, *b = NULL;
    printf("no config %d %d\n", mix_instantiate(&imports, &a), a == NULL);
    printf("null config %d\n", mix_instantiate_wasi(&imports, NULL, &a));
    printf("message %s\n", mix_trap_message(MIX_ERROR_NO_WASI));

    mix_wasi* bad = mix_wasi_new();
    errno = 0;
    int st = mix_wasi_preopen(bad, argv[1], "/nowhere", 1);
    printf("missing dir %d %s\n", st, strerror(errno));
    mix_wasi_free(bad);                     /* never handed over: ours to free */

    mix_wasi* config = mix_wasi_new();
    const char* args_a[] = {"a", "one"};
    printf("args %d\n", mix_wasi_args(config, 2, args_a));
    printf("stdio %d\n", mix_wasi_inherit_stdio(config));
    mix_imports missing = {&calls, NULL};
    /* a host import missing: an error, and the configuration is gone with the attempt */
    printf("missing import %d\n", mix_instantiate_wasi(&missing, config, &a));
    config = mix_wasi_new();
    mix_wasi_args(config, 2, args_a);
    mix_wasi_inherit_stdio(config);
    printf("instantiate a %d\n", mix_instantiate_wasi(&imports, config, &a));

    mix_wasi* other = mix_wasi_new();
    const char* args_b[] = {"b", "two", "three"};
    mix_wasi_args(other, 3, args_b);
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    printf("file stdout %d\n", mix_wasi_stdio(other, 1, fd));
    close(fd);                              /* the configuration has its own duplicate */
    printf("instantiate b %d\n", mix_instantiate_wasi(&imports, other, &b));

    int32_t r = -1;
    st = mix_call_hello(a, &r); printf("hello a %d %d\n", st, r);
    st = mix_call_hello(b, &r); printf("hello b %d %d\n", st, r);
    st = mix_call_argc(a, &r); printf("argc a %d %d\n", st, r);
    st = mix_call_argc(b, &r); printf("argc b %d %d\n", st, r);
    st = mix_call_twice(a, 21, &r); printf("twice %d %d %d\n", st, r, calls);
    st = mix_call_boom(a); printf("boom %d %s\n", st, mix_trap_message(st));
    printf("exit code before %d\n", mix_exit_code(a));
    st = mix_call_exit(a, 7);
    printf("exit %d %d %s %d\n", st, st == MIX_EXITED, mix_trap_message(st), mix_last_trap());
    printf("exit code %d %d\n", mix_exit_code(a), mix_exit_code(NULL));
    st = mix_call_grow_write(a, &r);
    uint64_t size = 0;
    mix_memory(a, &size);
    printf("grow_write %d %d %llu\n", st, r, (unsigned long long)size);
    st = mix_call__start(b);
    printf("start b %d %d\n", st, mix_exit_code(b));
    pthread_t thread;
    pthread_create(&thread, NULL, on_a_thread, a);
    pthread_join(thread, NULL);
    mix_free(a);
    mix_free(b);
    show_file(argv[2]);
    return 0;
}
"""

C_EXPECTED = """no config -6 1
null config -6
message the module imports WASI: instantiate it with a WASI configuration
missing dir -7 No such file or directory
args 0
stdio 0
missing import -1
instantiate a 0
file stdout 0
instantiate b 0
hello from wasm
hello a 0 0
hello b 0 0
argc a 0 2
argc b 0 3
twice 0 42 1
boom 1 unreachable
exit code before 0
exit 16 1 the program exited (WASI proc_exit): see its exit code 16
exit code 7 7
hello from wasm
grow_write 0 0 131072
start b 16 3
hello from wasm
thread hello 0 0
{out}: 32 [hello from wasm
hello from wasm
]
"""


def build_c(folder, source, library, output="app"):
    """Compile `source` against lib<library>.so in `folder` (rpath: the folder)."""
    (folder / f"{output}.c").write_text(source)
    subprocess.run(["cc", "-o", str(folder / output), str(folder / f"{output}.c"), f"-L{folder}",
                    f"-l{library}", f"-Wl,-rpath,{folder}", "-lpthread"], check=True)
    return folder / output


@pytest.fixture(scope="module")
def mix(tmp_path_factory):
    """(folder, header) of libmix.so, the WAT above (T0)."""
    folder = tmp_path_factory.mktemp("dylibwasi")
    header = write_dylib(wasabi.wat2wasm(WAT), folder / "libmix.so",
                         options=wasabi.Options(tier="T0"))
    return folder, header


def test_header_declares_wasi_and_keeps_other_imports(mix):
    """WASI imports are the library's (not fields); the ordinary one stays a field."""
    _, header = mix
    text = header.read_text()
    fields = text[text.index("typedef struct mix_imports"):text.index("} mix_imports;")]
    assert "int32_t (*env_twice)(void* env, int32_t);" in fields
    assert "fd_write" not in fields and "proc_exit" not in fields
    for declaration in ("mix_wasi* mix_wasi_new(void);",
                        "int mix_wasi_preopen(mix_wasi* wasi, const char* host, const char* guest,",
                        "int mix_instantiate_wasi(const mix_imports* imports, mix_wasi* wasi,",
                        "int32_t mix_exit_code(mix_instance* instance);", "MIX_EXITED = 16"):
        assert declaration in text


def test_header_of_a_module_without_wasi_is_unchanged(tmp_path):
    header = write_dylib(wasabi.wat2wasm('(module (import "env" "f" (func)) '
                                         '(func (export "g") (call 0)))'),
                         tmp_path / "libplain.so", options=wasabi.Options(tier="T0"))
    text = header.read_text()
    assert "void (*env_f)(void* env);" in text
    assert "wasi" not in text.lower() and "EXITED" not in text


def test_wasi_imports_wasabi_does_not_provide(tmp_path):
    """A name WASI lacks stays a field (the host may give it); a WASI function under
    the wrong signature leaves the module without a C API (as linking refuses it)."""
    wat = """(module (import "wasi_snapshot_preview1" "fd_write"
                        (func (param i32 i32 i32 i32) (result i32)))
                      (import "wasi_snapshot_preview1" "not_a_wasi_call" (func (param i32))))"""
    text = write_dylib(wasabi.wat2wasm(wat), tmp_path / "libodd.so",
                       options=wasabi.Options(tier="T0")).read_text()
    fields = text[text.index("typedef struct odd_imports"):text.index("} odd_imports;")]
    assert "(*wasi_snapshot_preview1_not_a_wasi_call)(void* env, int32_t);" in fields
    assert "fd_write" not in fields and "odd_instantiate_wasi" in text
    wat = '(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))))'
    text = write_dylib(wasabi.wat2wasm(wat), tmp_path / "libbad.so",
                       options=wasabi.Options(tier="T0")).read_text()
    assert 'no C API: the WASI import "wasi_snapshot_preview1" "fd_write" has the wrong ' \
        "signature" in text


def test_c_program_with_wasi_and_a_host_import(mix):
    """Two instances, each with its own configuration (args; stdout inherited, or a
    file), a host import beside WASI, proc_exit as EXITED with its code (the host
    carries on and calls again), a trap, WASI writing from grown memory, a call
    from another thread, a missing configuration and a missing directory as errors.
    (Linking a program against a WASI library also checks that the library has no
    undefined runtime symbols: wasi_root.c was missing once.)"""
    folder, _ = mix
    app = build_c(folder, C_PROGRAM, "mix")
    out = folder / "b.out"
    ran = subprocess.run([str(app), str(folder / "nowhere"), str(out)], capture_output=True,
                         text=True, timeout=60)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout == C_EXPECTED.format(out=out)


THREADS_PROGRAM = r"""
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "libmix.h"

static int32_t twice(void* env, int32_t x) { (void)env; return 2 * x; }
static const char* folder;
static int results[4][3];

static void* worker(void* arg) {                /* an instance of its own, on its own thread */
    int k = (int)(long)arg;
    char path[4096];
    snprintf(path, sizeof path, "%s/thread%d.out", folder, k);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    mix_wasi* config = mix_wasi_new();
    mix_wasi_stdio(config, 1, fd);
    close(fd);
    mix_imports imports = {0, twice};
    mix_instance* inst;
    if (mix_instantiate_wasi(&imports, config, &inst) != 0)
        return NULL;
    int32_t r;
    for (int i = 0; i < 200; i++)
        results[k][0] += mix_call_hello(inst, &r) == 0 && r == 0;
    results[k][1] = mix_call_exit(inst, 10 + k) == MIX_EXITED;
    results[k][2] = mix_exit_code(NULL) * 100 + mix_exit_code(inst);
    mix_free(inst);
    return NULL;
}

int main(int argc, char** argv) {
    folder = argv[1];
    pthread_t threads[4];
    for (long k = 0; k < 4; k++)
        pthread_create(&threads[k], NULL, worker, (void*)k);
    for (int k = 0; k < 4; k++)
        pthread_join(threads[k], NULL);
    for (int k = 0; k < 4; k++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/thread%d.out", folder, k);
        stat(path, &st);
        printf("%d %d %d %lld\n", results[k][0], results[k][1], results[k][2],
               (long long)st.st_size);
    }
    return 0;
}
"""


def test_instances_on_threads_of_their_own(mix):
    """Four threads, each with its own instance and configuration at once: each one's
    output in its own file, each exit code its own (the thread's and the instance's)."""
    folder, _ = mix
    app = build_c(folder, THREADS_PROGRAM, "mix", "threads")
    ran = subprocess.run([str(app), str(folder)], capture_output=True, text=True, timeout=60)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout.splitlines() == [f"200 1 {(10 + k) * 101} 3200" for k in range(4)]


def test_bind_now_finds_every_symbol(mix):
    """Loaded with every symbol bound up front (LD_BIND_NOW): nothing is missing."""
    folder, _ = mix
    app = folder / "app"
    if not app.exists():
        build_c(folder, C_PROGRAM, "mix")
    ran = subprocess.run([str(app), str(folder / "nowhere"), str(folder / "c.out")],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "LD_BIND_NOW": "1"})
    assert ran.returncode == 0, ran.stderr


def test_cffi_calls_start_with_a_wasi_configuration(mix, tmp_path):
    """Through cffi (the header's cdef, ffi.dlopen): a configuration with stdout to a
    file, a cffi callback for the ordinary import, _start exiting with 3."""
    cffi = pytest.importorskip("cffi")
    folder, header = mix
    path = folder / "libmix_cffi.so"            # a mapping of its own (see test_aot_dylib)
    shutil.copyfile(folder / "libmix.so", path)
    ffi = cffi.FFI()
    ffi.cdef(aot.cdef(header))
    lib = ffi.dlopen(str(path))

    @ffi.callback("int32_t(void*, int32_t)")
    def twice(env, x):
        return 2 * x

    imports = ffi.new("mix_imports*")
    imports.env_twice = twice
    config = lib.mix_wasi_new()
    argv = [ffi.new("char[]", b"prog")]
    assert lib.mix_wasi_args(config, 1, ffi.new("const char*[]", argv)) == 0
    names = [ffi.new("char[]", b"K")]
    values = [ffi.new("char[]", b"V")]
    assert lib.mix_wasi_env(config, 1, ffi.new("const char*[]", names),
                            ffi.new("const char*[]", values)) == 0
    with open(tmp_path / "stdout", "wb") as sink:
        assert lib.mix_wasi_stdio(config, 1, sink.fileno()) == 0
    out = ffi.new("mix_instance**")
    assert lib.mix_instantiate_wasi(imports, config, out) == lib.MIX_OK
    r = ffi.new("int32_t*")
    assert (lib.mix_call_twice(out[0], 5, r), r[0]) == (0, 10)
    assert lib.mix_call__start(out[0]) == lib.MIX_EXITED
    assert lib.mix_exit_code(out[0]) == 3
    assert lib.mix_call_argc(out[0], r) == 0 and r[0] == 1
    lib.mix_free(out[0])
    assert (tmp_path / "stdout").read_bytes() == b"hello from wasm\n"


def test_exit_in_the_start_function(tmp_path):
    """An instantiation whose start function exits: EXITED, no instance, the code is the
    thread's (<name>_exit_code(NULL)); wasi_unstable's proc_exit."""
    cffi = pytest.importorskip("cffi")
    header = write_dylib(wasabi.wat2wasm(EXITS_AT_START), tmp_path / "libquit.so",
                         options=wasabi.Options(tier="T0"))
    ffi = cffi.FFI()
    ffi.cdef(aot.cdef(header))
    lib = ffi.dlopen(str(tmp_path / "libquit.so"))
    out = ffi.new("quit_instance**")
    assert lib.quit_instantiate_wasi(ffi.NULL, lib.quit_wasi_new(), out) == lib.QUIT_EXITED
    assert out[0] == ffi.NULL and lib.quit_exit_code(ffi.NULL) == 9


def test_load_dylib_of_a_wasi_module_uses_python_wasi(mix):
    """wasabi.load_dylib is unchanged for a WASI module: Python's WASI, Python imports."""
    folder, _ = mix
    path = folder / "libmix_py.so"
    shutil.copyfile(folder / "libmix.so", path)
    module = wasabi.load_dylib(path)
    environment = wasi.Environment(wasi.WasiConfig(argv=["x", "y"], stdout=wasi.CAPTURE))
    imports = environment.generate_imports()
    imports["env"] = {"twice": lambda x: 2 * x}
    instance = wasabi.instantiate(module, imports)
    wasi.bind_instance(instance)
    assert wasi.call_export(instance, "twice", 4) == 8
    assert wasi.call_export(instance, "argc") == 2
    with pytest.raises(wasi.WasiExit) as exited:
        wasi.call_export(instance, "_start")
    assert exited.value.code == 3
    assert environment.stdout == b"hello from wasm\n"


# ---- the WASI programs of tests/wasi_programs (clang + wasi-libc), as `wasabi run` ----

RUNNER = r"""
/* as an executable of the program: [--dir H::G] [--dir-ro H::G] [--env K=V] -- args */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libprog.h"

static int fail(const char* what) { fprintf(stderr, "runner: %s\n", what); return 200; }

int main(int argc, char** argv) {
    prog_wasi* config = prog_wasi_new();
    const char* names[16];
    const char* values[16];
    int count = 0, i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
        char* value = argv[i + 1];
        if (strcmp(argv[i], "--env") == 0) {
            char* eq = strchr(value, '=');
            *eq = 0;
            names[count] = value;
            values[count++] = eq + 1;
        } else {
            char* sep = strstr(value, "::");
            *sep = 0;
            if (prog_wasi_preopen(config, value, sep + 2, strcmp(argv[i], "--dir-ro") == 0))
                return fail("preopen");
        }
    }
    i++;
    if (prog_wasi_args(config, argc - i, (const char* const*)argv + i) ||
        prog_wasi_env(config, count, names, values) || prog_wasi_inherit_stdio(config))
        return fail("configuration");
    prog_instance* instance;
    int status = prog_instantiate_wasi(NULL, config, &instance);
    if (status == 0)
        status = prog_call__start(instance);
    if (status == PROG_EXITED)
        return (instance ? prog_exit_code(instance) : prog_exit_code(NULL)) & 0xFF;
    if (status > 0) {
        fprintf(stderr, "wasabi: trap: %s\n", prog_trap_message(status));
        return 134;
    }
    if (status < 0)
        return fail(prog_trap_message(status));
    prog_free(instance);
    return 0;
}
"""


def _program(name):
    sys.path.insert(0, str(HERE / "wasi_programs"))
    import wasi_build
    return wasi_build.program_path(name)


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    """name -> (the program's wasm, a C runner of its library): built once each (T0)."""
    made = {}

    def runner(name):
        if name not in made:
            wasm = _program(name)
            folder = tmp_path_factory.mktemp(name)
            write_dylib(wasm.read_bytes(), folder / "libprog.so",
                        options=wasabi.Options(tier="T0"))
            made[name] = wasm, build_c(folder, RUNNER, "prog", "runner")
        return made[name]
    return runner


def wasabi_run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "wasabi", "run", "--tier", "T0", *args],
                          capture_output=True, cwd=cwd, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent)})


def as_wasabi_run(runners, name, options, args, cwd=None):
    """The runner's (status, stdout, stderr) equal `wasabi run`'s (argv[0]: the wasm's
    path, as `wasabi run` gives it); returns them."""
    wasm, runner = runners(name)
    ran = wasabi_run(*options, str(wasm), *args, cwd=cwd)
    built = subprocess.run([str(runner), *options, "--", str(wasm), *args], capture_output=True,
                           cwd=cwd, timeout=300)
    assert (built.returncode, built.stdout, built.stderr) == \
        (ran.returncode, ran.stdout, ran.stderr)
    return built


@pytest.mark.slow
def test_args_env_and_exit_codes_as_wasabi_run(runners):
    hello = as_wasabi_run(runners, "hello", ["--env", "GREETING=hi", "--env", "EMPTY="],
                          ["7", "x"])
    assert hello.returncode == 7 and b"GREETING=hi" in hello.stdout
    for args in (["42", "exit"], ["0", "return"], ["5", "_exit"]):
        done = as_wasabi_run(runners, "exit", [], args)
        assert done.returncode == int(args[0])


@pytest.mark.slow
def test_preopened_directories_as_wasabi_run(runners, tmp_path):
    """A read-only preopen (ls, and readonly: every change refused) and a read-write one
    (files: creates, renames, removes; the same result file)."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("hello")
    listed = as_wasabi_run(runners, "ls", ["--dir-ro", f"{data}::/sandbox"], ["/sandbox"])
    assert b"a.txt" in listed.stdout
    (data / "data.txt").write_text("some data")
    before = sorted(p.name for p in data.iterdir())
    as_wasabi_run(runners, "readonly", ["--dir-ro", f"{data}::."], [])
    assert sorted(p.name for p in data.iterdir()) == before
    work = tmp_path / "work"
    work.mkdir()
    _, runner = runners("files")
    ran = wasabi_run("--dir", f"{work}::.", str(_program("files")))
    result = (work / "result.txt").read_bytes()
    for leftover in work.iterdir():
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    built = subprocess.run([str(runner), "--dir", f"{work}::.", "--", str(_program("files"))],
                           capture_output=True, timeout=300)
    assert (built.returncode, built.stdout, built.stderr) == \
        (ran.returncode, ran.stdout, ran.stderr)
    assert (work / "result.txt").read_bytes() == result
