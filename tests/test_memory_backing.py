"""Copy-on-write memories (wasabi/_native/memory_backing.c).

Every memory starts as its own memfd mapped shared; a clone freezes it and
both map it privately; a later clone copies only the pages written since.
These tests drive the native memories directly and check bytes, backings and
the number of pages each clone copied.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from wasabi import _ext

PAGE = 4096
WASM_PAGE = 65536


def _pagemap_readable():
    try:
        with open("/proc/self/pagemap", "rb") as f:
            return len(f.read(8)) == 8
    except OSError:
        return False


# without pagemap every page counts as written: clones stay correct, but the
# counts of copied pages below are not what they test
needs_pagemap = pytest.mark.skipif(not _pagemap_readable(), reason="/proc/self/pagemap unreadable")


def new_memory(pages, maximum=100, guarded=True):
    return _ext.NativeMemory(pages, maximum, guarded)


def clone_of(memory):
    """A fresh memory of the same size with `memory`'s bytes; the pages copied."""
    copy = new_memory(memory.pages, memory.max_pages, memory.guarded)
    copied = _ext.memory_clone_contents(copy, memory)
    return copy, copied


def test_a_fresh_memory_is_its_own_shared_image():
    memory = new_memory(2)
    assert _ext.memory_backing(memory) == "shared"
    assert memory.read(0, 8) == bytes(8)
    memory.write(100, b"abc")
    assert memory.read(100, 3) == b"abc"


@pytest.mark.parametrize("guarded", [True, False])
def test_first_clone_copies_nothing_and_both_diverge(guarded):
    memory = new_memory(4, 10, guarded)
    for page in range(0, 4 * WASM_PAGE, PAGE):
        memory.write(page, page.to_bytes(4, "little"))
    copy, copied = clone_of(memory)
    assert copied == 0
    assert (_ext.memory_backing(memory), _ext.memory_backing(copy)) == ("private", "private")
    for page in range(0, 4 * WASM_PAGE, PAGE):
        assert copy.read(page, 4) == page.to_bytes(4, "little")
    memory.write(0, b"orig")
    copy.write(PAGE, b"copy")
    assert (memory.read(0, 4), copy.read(0, 4)) == (b"orig", bytes(4))
    assert (memory.read(PAGE, 4), copy.read(PAGE, 4)) == (PAGE.to_bytes(4, "little"), b"copy")


@needs_pagemap
def test_later_clone_copies_only_the_pages_written_since():
    memory = new_memory(8)
    memory.write(0, b"\x01" * (8 * WASM_PAGE))
    first, _ = clone_of(memory)
    for page in (3, 4, 100):                      # three pages written after the freeze
        memory.write(page * PAGE + 7, b"new")
    second, copied = clone_of(memory)
    assert copied == 3
    assert second.read(3 * PAGE + 7, 3) == b"new" and second.read(100 * PAGE + 7, 3) == b"new"
    assert first.read(3 * PAGE + 7, 3) == b"\x01" * 3   # the earlier clone kept the old bytes
    assert second.read(5 * PAGE, 4) == b"\x01" * 4
    second.write(3 * PAGE + 7, b"2nd")                 # and the second diverges too
    assert memory.read(3 * PAGE + 7, 3) == b"new"


@needs_pagemap
def test_clone_of_a_clone_and_of_a_grown_memory():
    memory = new_memory(1)
    memory.write(10, b"base")
    first, _ = clone_of(memory)
    assert first.grow(2) == 1                          # beyond the image: plain pages
    first.write(WASM_PAGE + 5, b"grown")
    first.write(10, b"edit")
    second, copied = clone_of(first)
    assert copied == 2                                 # the edited page and the grown one
    assert second.pages == 3
    assert second.read(10, 4) == b"edit" and second.read(WASM_PAGE + 5, 5) == b"grown"
    assert second.read(2 * WASM_PAGE, 8) == bytes(8)
    assert memory.read(10, 4) == b"base" and memory.pages == 1


def test_shared_memory_grows_into_its_image():
    memory = new_memory(1, 4)
    assert memory.grow(2) == 1
    memory.write(3 * WASM_PAGE - 4, b"tail")
    assert _ext.memory_backing(memory) == "shared"
    copy, copied = clone_of(memory)
    assert copied == 0 and copy.read(3 * WASM_PAGE - 4, 4) == b"tail"
    assert memory.grow(2) == -1 and memory.grow(1) == 3   # the maximum still holds


def test_a_mostly_rewritten_memory_is_frozen_again():
    """Past half its pages dirty, the source's bytes go into a new image that
    both then map: nothing is copied page by page, and later clones are cheap."""
    memory = new_memory(2)
    first, _ = clone_of(memory)
    memory.write(0, b"\x05" * (2 * WASM_PAGE))      # every page differs from the image
    copy, copied = clone_of(memory)
    assert copied == 0
    assert (_ext.memory_backing(memory), _ext.memory_backing(copy)) == ("private", "private")
    assert copy.read(WASM_PAGE, 4) == b"\x05" * 4 and first.read(WASM_PAGE, 4) == bytes(4)
    third, copied = clone_of(memory)                  # the source is clean again
    assert copied == 0 and third.read(2 * WASM_PAGE - 1, 1) == b"\x05"
    memory.write(0, b"src")
    copy.write(0, b"cpy")
    assert (memory.read(0, 3), copy.read(0, 3), third.read(0, 3)) == (b"src", b"cpy", b"\x05" * 3)


def test_an_anonymous_memory_clones_by_copying():
    memory = _ext.NativeMemory(1, 2, True, False)
    assert _ext.memory_backing(memory) == "anon"
    memory.write(7, b"plain")
    copy, copied = clone_of(memory)
    assert copied == WASM_PAGE // PAGE and copy.read(7, 5) == b"plain"
    copy.write(7, b"other")
    assert memory.read(7, 5) == b"plain"


def test_an_empty_memory_clones():
    memory = new_memory(0)
    copy, copied = clone_of(memory)
    assert copied == 0 and copy.size == 0
    assert copy.grow(1) == 0 and copy.read(0, 4) == bytes(4)


def run_python(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_fork_gives_the_child_its_own_copy():
    """A memfd mapped shared would carry a child's writes to the parent: fork
    freezes every shared memory first, so both sides copy on write."""
    out = run_python("""
        import os
        from wasabi import _ext
        memory = _ext.NativeMemory(1, 1, True)
        memory.write(0, b"parent")
        to_parent, to_child = os.pipe(), os.pipe()
        pid = os.fork()
        if pid == 0:
            memory.write(0, b"child!")
            os.write(to_parent[1], b"x")
            os.read(to_child[0], 1)             # the parent has written too
            os._exit(0 if memory.read(0, 6) == b"child!" and memory.read(8, 4) == bytes(4) else 1)
        os.read(to_parent[0], 1)                # the child has written
        memory.write(8, b"late")                # the child must not see this
        os.write(to_child[1], b"x")
        _, status = os.waitpid(pid, 0)
        print(memory.read(0, 6), os.waitstatus_to_exitcode(status), _ext.memory_backing(memory))
    """)
    assert out.split() == ["b'parent'", "0", "private"]


def test_without_memfd_a_memory_is_anonymous_and_still_clones():
    out = run_python("""
        import resource
        from wasabi import _ext
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (16, hard))
        held = []
        try:
            while True:
                held.append(open("/dev/null"))
        except OSError:
            pass
        memory = _ext.NativeMemory(1, 2, True)
        memory.write(0, b"anon")
        copy = _ext.NativeMemory(1, 2, True)
        copied = _ext.memory_clone_contents(copy, memory)
        copy.write(0, b"diff")
        print(_ext.memory_backing(memory), copied, memory.read(0, 4), copy.read(0, 4))
    """)
    assert out.split() == ["anon", "16", "b'anon'", "b'diff'"]


def test_two_threads_growing_one_memory_never_share_a_page():
    """Two instances import one memory and grow it from two threads at once
    (the GIL is free while wasm runs): every grow gets its own old size."""
    import threading
    import wasmtime
    import wasabi
    from wasabi.binary.types import Limits, MemoryType
    from wasabi.runtime import Memory, Store

    wat = """(module (import "env" "mem" (memory 1 2001))
      (func (export "grow") (param $n i32) (result i64) (local $sum i64)
        (loop $again
          (local.set $sum (i64.add (local.get $sum)
                                   (i64.extend_i32_s (memory.grow (i32.const 1)))))
          (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        local.get $sum))"""
    store = Store()
    memory = Memory(store, MemoryType(Limits(1, 2001)))
    module = wasabi.compile(wasmtime.wat2wasm(wat))
    instances = [wasabi.instantiate(module, {"env": {"mem": memory}}) for _ in range(2)]
    sums = [None, None]

    def run(k):
        sums[k] = instances[k].exports.grow(1000)
    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert memory.pages == 2001
    assert sum(sums) == sum(range(1, 2001))        # old sizes 1..2000, each once
    memory.write(2000 * WASM_PAGE, b"end")
    assert memory.read(2000 * WASM_PAGE, 3) == b"end"


def test_options_memory_anonymous_gives_plain_pages_that_clone_by_copy():
    import wasmtime
    import wasabi
    from wasabi.options import Options
    wat = '(module (memory (export "mem") 1) (func (export "put") (param i32 i32) local.get 0 local.get 1 i32.store8))'
    for memory, backing in (("cow", "shared"), ("anonymous", "anon")):
        module = wasabi.compile(wasmtime.wat2wasm(wat), Options(memory=memory))
        instance = wasabi.instantiate(module)
        native = instance.exports.mem._native
        assert _ext.memory_backing(native) == backing
        instance.exports.put(5, 9)
        twin = instance.clone()
        twin.exports.put(5, 1)
        assert instance.exports.mem.read(5, 1) == b"\x09" and twin.exports.mem.read(5, 1) == b"\x01"
    with pytest.raises(ValueError):
        Options(memory="huge")


def test_memories_leave_a_quarter_of_the_fd_table_to_the_program():
    out = run_python("""
        import resource
        from wasabi import _ext
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
        memories = [_ext.NativeMemory(1, 1, True) for _ in range(200)]
        kinds = [_ext.memory_backing(m) for m in memories]
        files = [open("/dev/null") for _ in range(20)]      # the program still has fds
        print(kinds.count("shared") > 50, kinds.count("anon") > 50, kinds[-1], len(files))
    """)
    assert out.split() == ["True", "True", "anon", "20"]
