"""Prelinked images (compiler/prelink.py, compiler/image.py): cached and unpickled EAGER
modules load without LLVM and behave as the JIT-linked code they were made from; damaged
or inconsistent images are refused or recompiled, never mapped wrongly."""
import hashlib
import json
import os
import subprocess
import sys

import pytest

import wasabi
from wasabi import Trap
from wasabi.compiler import artifact, cache, image, parallel, prelink
from wasabi.compiler.modes import eager
from wasabi.errors import CompileError
from wasabi.options import Options
from wasabi.validate import parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# memory (guard-page traps), a table and call_indirect, a host import (host thunk),
# br_table (jump tables: relocations in .rodata), float constants (.rodata.cst*),
# memory.grow and memory.fill (builtins through stubs), globals
WAT = """(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory 1) (table 3 funcref) (elem (i32.const 0) $sq $inc $host)
  (global $g (mut i64) (i64.const 5))
  (type $t (func (param i32) (result i32)))
  (func $sq (type $t) local.get 0 local.get 0 i32.mul)
  (func $inc (type $t) local.get 0 i32.const 1 i32.add)
  (func (export "dispatch") (param i32 i32) (result i32)
    (call_indirect (type $t) (local.get 1) (local.get 0)))
  (func (export "switch") (param i32) (result f64)
    (block $d (block $c (block $b (block $a
      (br_table $a $b $c $d (local.get 0)))
      (return (f64.const 1.25)))
      (return (f64.sqrt (f64.const 2.0))))
      (return (f64.mul (f64.convert_i32_s (local.get 0)) (f64.const 0.1))))
    (f64.const -7.5))
  (func (export "grow") (param i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 9) (i32.const 100))
    (memory.grow (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "counter") (result i64)
    (global.set $g (i64.add (global.get $g) (i64.const 1))) (global.get $g))
  (func (export "loop") (param i32) (result i32) (local $s i32)
    (block $out (loop $next
      (br_if $out (i32.eqz (local.get 0)))
      (local.set $s (i32.add (local.get $s) (call $inc (local.get 0))))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $next)))
    (local.get $s)))
"""


def _imports():
    return {"env": {"host": lambda x: x * 3}}


def _calls(module):
    """What the exports give (traps as their messages), on a fresh instance."""
    store = wasabi.Store(options=module._compiled.options)
    if module._compiled.code.fuel:
        store.set_fuel(10 ** 9)
    e = wasabi.instantiate(module, _imports(), store=store).exports
    out = [e.dispatch(0, 7), e.dispatch(1, 7), e.dispatch(2, 7)]
    out += [e.switch(k) for k in range(6)]
    out += [e.grow(2), e.load(50), e.load(200), e.counter(), e.counter(), e.loop(1000)]
    for bad in [lambda: e.load(4 << 16), lambda: e.dispatch(3, 0)]:
        with pytest.raises(Trap) as trap:
            bad()
        out.append(str(trap.value).split("\n")[0])
    return out


def _restored(module):
    data = artifact.dump(module._wasm, module._compiled, "")
    compiled, header, wasm = artifact.restore(data)
    restored = wasabi.Module.__new__(wasabi.Module)
    restored._setup(wasabi.Store(options=compiled.options), wasm, compiled)
    return restored, data


@pytest.mark.parametrize("options", [dict(), dict(tier="T0"), dict(tier="O2"),
                                     dict(bounds="explicit"), dict(fuel=True),
                                     dict(interruptible=False)],
                         ids=["T1", "T0", "O2", "explicit", "fuel", "no-polls"])
def test_image_behaves_as_the_jit_code(options):
    module = wasabi.compile(WAT, wasabi.Options(**options))
    restored, data = _restored(module)
    code = restored._compiled.code
    assert isinstance(code, image.ImageCode)
    assert json.loads(data[12:12 + int.from_bytes(data[8:12], "little")])["objects"] == []
    assert _calls(restored) == _calls(module)
    assert code.code_options == module._compiled.code.code_options
    again, _ = _restored(restored)          # an image is dumped as it was loaded
    assert _calls(again) == _calls(module)


def test_parts_prelink_into_one_image(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", 256)
    lines = ['(module (memory 1)', '(func $f0 (export "f0") (param i32) (result i32) '
             'local.get 0)']
    for k in range(1, 40):
        body = " ".join(f"local.get 0 i32.const {k * 5 + j} i32.add local.set 0" for j in range(8))
        lines.append(f'(func $f{k} (export "f{k}") (param i32) (result i32) {body} '
                     f'local.get 0 call $f{k - 1})')
    lines.append('(func (export "oob") (result i32) i32.const 70000 i32.load))')
    wasm = wasabi.wat2wasm("\n".join(lines))
    desc = parse(wasm)
    code = eager.build(desc, Options(tier="T1"), jobs=2)
    assert len(code.objects) > 1
    made = prelink.code_image(desc, code.objects, code.symbols)
    loaded = image.load_code(made, desc, code.code_options)
    assert len(loaded.code_ranges) == len(code.objects)
    a = wasabi.runtime.instantiate(desc, code).exports
    b = wasabi.runtime.instantiate(desc, loaded).exports
    for k in (0, 1, 17, 39):
        assert b[f"f{k}"](k) == a[f"f{k}"](k)
    with pytest.raises(Trap, match="out of bounds"):       # a fault in the last part
        b["oob"]()


def test_cache_hit_imports_no_llvm_and_skips_validation(tmp_path):
    """A second process loads the cached module: no llvmlite, no validation, no JIT
    thunk for the first call."""
    script = f"""
import sys
import wasabi
rules = sys.modules["wasabi.validate"]
wasm = wasabi.wat2wasm({WAT!r})
if sys.argv[1] == "hit":
    def refuse(desc):
        raise AssertionError("validated again")
    rules.validate_module = refuse
module = wasabi.compile(wasm, wasabi.Options(cache=True))
exports = wasabi.instantiate(module, {{"env": {{"host": lambda x: x * 3}}}}).exports
assert (exports.dispatch(1, 7), exports.dispatch(2, 7), exports.loop(10)) == (8, 21, 65)
print(type(module._compiled.code).__name__, sorted(m for m in sys.modules if "llvmlite" in m),
      "numpy" in sys.modules)
"""
    env = dict(os.environ, WASABI_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)

    def run(role):
        done = subprocess.run([sys.executable, "-c", script, role], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.split("\n")[0]
    assert run("miss").startswith("EagerCode")
    assert run("hit") == "ImageCode [] False"        # nor numpy (wasabi/_cy/image.pxi)


def test_machine_key_needs_no_llvm():
    script = ("import sys; from wasabi.compiler import artifact; "
              "print(artifact.machine_key()); print('llvmlite' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    key, llvm = done.stdout.split("\n")[:2]
    assert (key, llvm) == (artifact.machine_key(), "False")
    assert artifact.host_fingerprint() is not None    # Linux: no LLVM needed


def _rewrite(data, edit_header=None, edit_code=None):
    """Artifact bytes with the header and/or the code changed and the digests made to match."""
    length = int.from_bytes(data[8:12], "little")
    header = json.loads(data[12:12 + length])
    wasm_end = 12 + length + header["wasm"]
    code = bytearray(data[wasm_end:-32])
    if edit_header:
        edit_header(header)
    if edit_code:
        edit_code(header, code)
    header["code_sha256"] = hashlib.sha256(code).hexdigest()
    text = json.dumps(header, sort_keys=True).encode()
    head = data[:8] + len(text).to_bytes(4, "little") + text
    return head + data[12 + length:wasm_end] + bytes(code) + hashlib.sha256(head).digest()


@pytest.mark.parametrize("damage", ["regions", "fixups count", "functions", "ranges"])
def test_inconsistent_image_metadata_is_refused(damage):
    module = wasabi.compile(WAT)
    data = artifact.dump(module._wasm, module._compiled, "")

    def edit(header):
        meta = header["image"]
        if damage == "regions":
            meta["code"]["regions"][0][1] = meta["code"]["size"] + 4096
        elif damage == "fixups count":
            meta["code"]["fixups"] += 1000
        elif damage == "functions":
            meta["functions"] += 1
        else:
            meta["ranges"][0][1] = meta["code"]["size"] + 1
    with pytest.raises(CompileError):
        artifact.restore(_rewrite(data, edit))


def test_a_fixup_outside_the_image_is_never_written():
    """A fixup pointing past the mapping (digest made to match): the image does not
    load, and the module is compiled from its wasm instead."""
    module = wasabi.compile(WAT)
    data = artifact.dump(module._wasm, module._compiled, "")

    def edit(header, code):
        meta = header["image"]["code"]
        at = sum(n for _, n, _ in meta["regions"])          # the first fixup
        code[at:at + 8] = (meta["size"] + (1 << 20)).to_bytes(8, "little")
    compiled, _, _ = artifact.restore(_rewrite(data, edit_code=edit))
    assert type(compiled.code).__name__ == "EagerCode"       # compiled again
    restored = wasabi.Module.__new__(wasabi.Module)
    restored._setup(wasabi.Store(), module._wasm, compiled)
    assert _calls(restored) == _calls(module)


def test_objects_the_image_cannot_express_are_kept_for_jitlink(monkeypatch):
    def refuse(objects, exported):
        raise prelink.PrelinkError("relocation type 3")
    monkeypatch.setattr(prelink, "prelink", refuse)
    module = wasabi.compile(WAT)
    restored, data = _restored(module)
    assert type(restored._compiled.code).__name__ == "EagerCode"
    length = int.from_bytes(data[8:12], "little")
    header = json.loads(data[12:12 + length])
    assert header["image"] is None and len(header["objects"]) == 1
    assert _calls(restored) == _calls(module)


def test_unknown_relocation_types_are_refused():
    module = wasabi.compile(WAT)
    (obj,), symbols = module._compiled.code.artifact()
    parsed = prelink._Object(obj)
    target, rela = next(prelink._relocations(parsed))
    at = int(parsed.sections[[i for i, s in enumerate(parsed.sections)
                              if s["type"] == prelink.SHT_RELA][0]]["offset"])
    damaged = bytearray(obj)
    damaged[at + 8:at + 12] = (3).to_bytes(4, "little")       # R_X86_64_GOT32
    with pytest.raises(prelink.PrelinkError, match="relocation type 3"):
        prelink.prelink([bytes(damaged)], [])


def test_closing_image_code_unmaps_it():
    module = wasabi.compile(WAT)
    restored, _ = _restored(module)
    code = restored._compiled.code
    ranges = code.code_ranges
    assert ranges and all(b < e for b, e in ranges)
    code.close()
    assert code._mapping is None
    code.close()                # twice is harmless


def test_cache_entry_wasm_is_compared_not_trusted(tmp_path):
    """An entry renamed to another module's name holds other wasm: a miss, recompiled."""
    options = Options(cache=True)
    one = wasabi.wat2wasm('(module (func (export "f") (result i32) i32.const 1))')
    two = wasabi.wat2wasm('(module (func (export "f") (result i32) i32.const 2))')
    cache.compile_bytes(one, options, tmp_path)
    cache.entry_path(one, options, tmp_path).replace(cache.entry_path(two, options, tmp_path))
    compiled = cache.compile_bytes(two, options, tmp_path)
    assert type(compiled.code).__name__ == "EagerCode"
    assert wasabi.runtime.instantiate(compiled.desc, compiled.code).exports.f() == 2


def test_cache_entries_hold_the_wasm_digest_not_the_wasm(tmp_path):
    """A hit reads 1.5 MB less for a 1.5 MB module; the entry is only for that wasm."""
    options = Options(cache=True)
    wasm = wasabi.wat2wasm('(module (func (export "f") (result i32) i32.const 7)'
                           ' (data (i32.const 0) "\\ff") (memory 1))')
    compiled = cache.compile_bytes(wasm, options, tmp_path)
    entry = cache.entry_path(wasm, options, tmp_path).read_bytes()
    serialized = artifact.dump(wasm, compiled, "")
    assert wasm in serialized and wasm not in entry
    assert len(entry) < len(serialized) - len(wasm) + 32        # a longer header at most
    header = artifact.load(entry, wasm).header
    assert header["wasm_omitted"] and header["wasm"] == 0
    with pytest.raises(CompileError, match="holds the digest of its wasm but not the wasm"):
        wasabi.Module.deserialize(wasabi.Store(), entry)
    with pytest.raises(CompileError, match="an entry for other wasm"):
        artifact.load(entry, wasm + b"\0")
    hit = cache.compile_bytes(wasm, options, tmp_path)
    assert type(hit.code).__name__ == "ImageCode"
    assert wasabi.runtime.instantiate(hit.desc, hit.code).exports.f() == 7


def test_import_wasabi_does_not_import_numpy():
    """numpy (about 40 ms, and OpenBLAS threads that spin a while) is imported when an
    array, a view or a ufunc is first made, not by `import wasabi`."""
    done = subprocess.run([sys.executable, "-c", "import sys, wasabi; print('numpy' in sys.modules)"],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT),
                          timeout=120)
    assert done.stdout.strip() == "False", done.stderr[-2000:]


def test_the_fixup_record_layout_is_one():
    from wasabi import _ext
    assert _ext.IMAGE_FIXUP_SIZE == image.FIXUP_SIZE == prelink.FIXUP_DTYPE.itemsize


def _fixup(offset, kind, target, addend):
    return (offset.to_bytes(8, "little") + kind.to_bytes(4, "little")
            + target.to_bytes(4, "little") + addend.to_bytes(8, "little", signed=True))


@pytest.mark.parametrize("record, problem", [
    (_fixup(4096 - 4, image.FIX_REBASE64, 0, 0), "outside the image"),
    (_fixup(0, 7, 0, 0), "outside the image"),
    (_fixup(0, image.FIX_EXT64, 1, 0), "unknown symbol"),
    (_fixup(0, image.FIX_EXT32S, 0, 1 << 31), "out of range"),
    (_fixup(0, image.FIX_EXT32, 0, -101), "out of range"),      # 100 - 101 wraps
    (_fixup(0, image.FIX_EXT64, 0, 0)[:20], "partial"),
])
def test_image_apply_checks_every_fixup_before_writing(record, problem):
    """A bad record after a good one: ValueError, and not even the good one is written."""
    import array
    import ctypes
    from wasabi import _ext
    page = (ctypes.c_uint8 * 4096)()
    good = _fixup(8, image.FIX_EXT64, 0, 5)
    with pytest.raises(ValueError, match=problem):
        _ext.image_apply(ctypes.addressof(page), 4096, [(0, 16)], b"\xab" * 16, good + record,
                         array.array("Q", [100]))
    assert bytes(page[:24]) == bytes(24)
    _ext.image_apply(ctypes.addressof(page), 4096, [(0, 16)], b"\xab" * 16, good,
                     array.array("Q", [100]))
    assert bytes(page[:16]) == b"\xab" * 8 + (105).to_bytes(8, "little")


@pytest.mark.parametrize("thread_min", [0, 1 << 40])
def test_damaged_code_is_refused_whether_its_digest_runs_on_a_thread_or_not(
        monkeypatch, thread_min):
    """The code's digest may be computed on a thread while the wasm decodes
    (artifact._Digest): a damaged byte is refused all the same, before any mapping."""
    monkeypatch.setattr(artifact._Digest, "THREAD_MIN", thread_min)
    module = wasabi.compile(WAT)
    data = artifact.dump(module._wasm, module._compiled, "")
    compiled, _, _ = artifact.restore(data)
    assert type(compiled.code).__name__ == "ImageCode"
    damaged = bytearray(data)
    damaged[-40] ^= 1               # inside the code, just before the trailing digest
    with pytest.raises(CompileError, match="damaged code"):
        artifact.restore(bytes(damaged))
