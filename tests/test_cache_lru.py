"""Issue 16: the code cache's size cap (LRU eviction), `wasabi cache info|clear`, and
several processes sharing one cache while entries are evicted under them."""
import os
import subprocess
import sys
import time

import pytest

import wasabi
from wasabi.__main__ import main
from wasabi.compiler import cache
from wasabi.options import Options

WORKER = os.path.join(os.path.dirname(__file__), "cache_lru_worker.py")


def _wasm(k):
    return wasabi.wat2wasm(f'(module (func (export "f") (result i32) i32.const {k}))')


def _compile(k, directory, limit):
    options = Options(tier="T0", cache=True, cache_size=limit)
    compiled = cache.compile_bytes(_wasm(k), options, directory)
    return cache.entry_path(_wasm(k), options, directory)


def _age(path, seconds_ago):
    stamp = time.time() - seconds_ago
    os.utime(path, (stamp, stamp))


def test_least_recently_used_entries_go_first(tmp_path):
    big = 1 << 30
    paths = [_compile(k, tmp_path, big) for k in range(4)]
    size = paths[0].stat().st_size
    for k, path in enumerate(paths):          # stored in the order 0, 1, 2, 3
        _age(path, 100 - k)
    _compile(0, tmp_path, big)                # a hit: 0 is now the most recent
    assert paths[0].stat().st_mtime > time.time() - 50
    # a fifth entry past a cap of 4.5 entries: down to 3/4 of it (3 entries)
    fifth = _compile(4, tmp_path, size * 9 // 2)
    left = {p.name for p in tmp_path.glob("*.wasabi")}
    assert left == {paths[0].name, paths[3].name, fifth.name}


def test_under_the_cap_nothing_goes(tmp_path):
    paths = [_compile(k, tmp_path, 1 << 20) for k in range(5)]
    assert all(path.exists() for path in paths)
    assert cache.evict(tmp_path, 1 << 20) == 0


def test_an_entry_bigger_than_the_cap_is_not_stored(tmp_path):
    path = _compile(0, tmp_path, 100)
    assert not path.exists()
    module = wasabi.compile(_wasm(7), Options(cache=True, cache_size=100))
    assert wasabi.instantiate(module).exports.f() == 7


def test_stale_temporary_files_are_removed(tmp_path):
    stale, fresh = tmp_path / ".entry-dead", tmp_path / ".entry-writing"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    _age(stale, cache.STALE_TEMP_SECONDS + 10)
    cache.evict(tmp_path, 1 << 20)
    assert not stale.exists() and fresh.exists()


def test_size_limit_from_options_environment_and_default(monkeypatch):
    monkeypatch.delenv("WASABI_CACHE_SIZE", raising=False)
    assert cache.size_limit(Options()) == 512 << 20
    monkeypatch.setenv("WASABI_CACHE_SIZE", "64MiB")
    assert cache.size_limit(Options()) == 64 << 20
    assert cache.size_limit(Options(cache_size=1000)) == 1000
    monkeypatch.setenv("WASABI_CACHE_SIZE", "lots")        # ignored, not fatal
    assert cache.size_limit(None) == 512 << 20
    assert cache.parse_size("2GB") == 2 * 1000 ** 3
    with pytest.raises(ValueError):
        cache.parse_size("-1")
    with pytest.raises(ValueError):
        Options(cache_size=-1)


def test_cli_cache_info_and_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WASABI_CACHE_DIR", str(tmp_path))
    for k in range(3):
        _compile(k, None, 1 << 20)
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"directory: {tmp_path}" in out and "entries:   3" in out
    assert main(["cache", "clear"]) == 0
    assert "removed 3 entries" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.wasabi"))
    assert main(["cache", "info"]) == 0
    assert "entries:   0" in capsys.readouterr().out


def _race(tmp_path, processes, iterations):
    """`processes` workers on one cache that holds about 4 of the 12 modules they use,
    one of them clearing it now and then: every result right, no crash."""
    limit = 4 * 2600
    workers = [subprocess.Popen(
        [sys.executable, WORKER, str(tmp_path), str(seed), str(iterations), "12", str(limit)]
        + (["clearer"] if seed == 0 else []),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"}) for seed in range(processes)]
    hits = 0
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, f"worker died with {worker.returncode}:\n{err[-3000:]}"
        assert out.startswith("ok "), out
        hits += int(out.split()[1])
    assert hits > 0                     # the cache was used, not only filled
    assert sum(p.stat().st_size for p in tmp_path.glob("*.wasabi")) <= limit


def test_processes_share_a_cache_while_entries_are_evicted(tmp_path):
    _race(tmp_path, processes=3, iterations=25)


@pytest.mark.slow
def test_processes_share_a_cache_while_entries_are_evicted_long(tmp_path):
    _race(tmp_path, processes=4, iterations=400)
