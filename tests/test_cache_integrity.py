"""Issue 12 item 10: a corrupted code-cache entry (or serialized module) is never loaded.

Every corruption (bytes changed anywhere, truncation, another format version) must give
the right result from a recompile, and Module.deserialize must raise CompileError. The
loads run in a subprocess so that a crash is a failed test, not a dead pytest.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "cache_corruption_worker.py"


def run_worker(tmp_path, seed, count):
    done = subprocess.run([sys.executable, str(WORKER), str(tmp_path / "cache"), str(seed),
                           str(count)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    assert done.returncode == 0, (f"worker died with {done.returncode}:\n{done.stdout[-2000:]}"
                                  f"\n{done.stderr[-4000:]}")
    assert done.stdout.startswith("ok ")
    return int(done.stdout.split()[1])


def test_corrupted_cache_entries_are_recompiled(tmp_path):
    assert run_worker(tmp_path, seed=12, count=60) >= 60


@pytest.mark.slow
def test_corrupted_cache_entries_many_seeds(tmp_path):
    for seed in range(4):                  # about 1,100 corruptions, 25 s
        assert run_worker(tmp_path / str(seed), seed=1000 + seed, count=250) >= 250


def test_cli_run_after_corrupting_the_cache(tmp_path):
    """`wasabi run` with a damaged entry: the right output, every time."""
    (tmp_path / "f.wat").write_text('(module (func (export "f") (param i32) (result i32) '
                                    'local.get 0 i32.const 3 i32.mul))')
    env = {**os.environ, "WASABI_CACHE_DIR": str(tmp_path / "cache")}

    def run():
        # (EAGER: its code goes to the cache; PGO, run's default, keeps a profile there)
        return subprocess.run([sys.executable, "-m", "wasabi", "run", "--mode", "eager",
                               "--invoke", "f", str(tmp_path / "f.wat"), "14"],
                              capture_output=True, env=env, timeout=300)

    assert run().stdout == b"42\n"
    (entry,) = (tmp_path / "cache").glob("*.wasabi")
    good = entry.read_bytes()
    header_length = int.from_bytes(good[8:12], "little")
    objects_at = 12 + header_length + json.loads(good[12:12 + header_length])["wasm"]
    # in the machine code (the first object's .text follows its ELF header), and the end
    for at in (objects_at + 64, objects_at + 130):
        entry.write_bytes(good[:at] + bytes([good[at] ^ 0x55]) + good[at + 1:])
        done = run()
        assert (done.returncode, done.stdout) == (0, b"42\n"), done.stderr.decode()[-2000:]
        assert entry.read_bytes() == good          # compiled again, not loaded


def test_a_changed_code_generator_file_changes_the_machine_key(tmp_path, monkeypatch):
    # between two releases of one version, a change to the compiler must not let the
    # cache hand out code the current compiler would not make; a copy of the same
    # files (another install) keeps the key
    import shutil
    from wasabi.compiler import artifact
    package = tmp_path / "wasabi"
    for folder in ("compiler", "abi"):
        shutil.copytree(pathlib.Path(artifact.__file__).parent.parent / folder, package / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    before = artifact.generator_stamp()
    monkeypatch.setattr(artifact, "__file__", str(package / "compiler" / "artifact.py"))
    assert artifact.generator_stamp() == before
    with open(package / "compiler" / "translator.py", "a") as f:
        f.write("\n# changed\n")
    assert artifact.generator_stamp() != before
