"""Fuzz worker: mutates spec-suite binaries and feeds them to wasabi.validate.

Mutations: bit flips, byte overwrites (often with opcodes), truncation, inserted / deleted /
duplicated bytes, random LEB128s (overlong, huge, unterminated) spliced in, section sizes changed,
sections dropped / copied / moved. Most are applied inside one section or one function body with
the sizes fixed up afterwards, so that inputs get past the framing into the module rules and the
code checker. Sources: every .wasm of the core and proposal scripts, mostly ones with code.

Run as a child process by tests/test_fuzz.py, so that a crash kills this process, not pytest.
Input number i uses seed first_seed + i: the seed alone picks the source file and the mutations,
so any input is reproducible with `--replay SEED`. Before each input the worker writes a line
naming it to the --state file; after a crash or a hang that line names the culprit.

Every input must either validate or raise wasabi.CompileError (ValidationError included); with
--oracle, wasabi's verdict must also agree with wasmtime's (apart from the known differences below).
The last line on stdout is a JSON summary: inputs, accepted, rejected, failures (each with seed,
source, mutations, error).

    python tests/fuzz_worker.py --first-seed 0 --count 3000 --state /tmp/fuzz.state
    python tests/fuzz_worker.py --replay 1234 [--save /tmp/input.wasm]   # re-run one input
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import pathlib
import random
import re
import resource
import sys
import traceback

HERE = pathlib.Path(__file__).resolve().parent
SPEC_DIR = pathlib.Path(os.environ.get("WASABI_SPEC_DIR", HERE / "spec"))
MAX_INPUT = 1 << 20  # stacked duplications must not grow inputs without bound
MEMORY_LIMIT = 2 << 30  # a validator that allocates by a declared count fails with MemoryError
INTERESTING_BYTES = (0x00, 0x01, 0x0B, 0x40, 0x41, 0x60, 0x6F, 0x70, 0x7B, 0x7F, 0x80, 0xFC, 0xFD, 0xFF)
# block, loop, if, else, end, br, br_if, br_table, return, call, call_indirect, drop, select,
# local.get/set/tee, global.get, i32.load, i32.const, i64.const, f32.const, ref.null, prefixes
OPCODES = (0x02, 0x03, 0x04, 0x05, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x1A, 0x1B, 0x1C, 0x20,
           0x21, 0x22, 0x23, 0x28, 0x41, 0x42, 0x43, 0xD0, 0xFC, 0xFD)
INTERESTING_NUMBERS = (0, 1, 63, 64, 127, 128, 255, 256, 0x3FFF, 0x4000, 0xFFFF, 0x10000, 0x7FFFFFFF,
                       0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1)


@functools.lru_cache(maxsize=1)
def corpus_dir():
    """Where the corpus is: every binary module of the spec scripts, assembled from the .wast
    (spec_harness.binaries_dir, built once under tests/build/)."""
    sys.path.insert(0, str(HERE))
    import spec_harness
    return spec_harness.binaries_dir(SPEC_DIR)


def corpus_files():
    """Every binary of the core scripts, valid and invalid, in a fixed order."""
    return [str(path.relative_to(corpus_dir())) for path in sorted(corpus_dir().glob("json/*/*.wasm"))]


def has_code(path):
    return any(entry[0] == 10 for entry in sections((corpus_dir() / path).read_bytes()))


def pick_source(rng, corpus):
    """A source file; mostly one with function bodies (those exercise the most code)."""
    with_code = corpus.with_code if rng.random() < 0.8 else corpus.files
    return with_code[rng.randrange(len(with_code))]


class Corpus:
    def __init__(self):
        self.files = corpus_files()
        self.with_code = [path for path in self.files if has_code(path)]


# --- LEB128 and sections

def uleb(value, extra=0):
    """Unsigned LEB128 of value, padded with `extra` redundant zero groups (overlong)."""
    groups = bytearray()
    while True:
        groups.append(value & 0x7F)
        value >>= 7
        if not value:
            break
    groups += bytes(extra)
    return bytes([group | 0x80 for group in groups[:-1]] + [groups[-1]])


def sleb(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte if done else byte | 0x80)
        if done:
            return bytes(out)


def read_uleb(data, pos):
    """(value, length) of the u32 LEB128 at pos, or None if it is malformed or runs off the end."""
    value = shift = 0
    for length in range(1, 6):
        if pos + length > len(data):
            return None
        byte = data[pos + length - 1]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, length
    return None


def sections(data):
    """[(id, size_offset, size_length, size)] of the well-formed section headers, in order."""
    found, pos = [], 8
    while pos < len(data):
        size = read_uleb(data, pos + 1)
        if size is None or pos + 1 + size[1] + size[0] > len(data):
            break
        found.append((data[pos], pos + 1, size[1], size[0]))
        pos += 1 + size[1] + size[0]
    return found


def code_bodies(payload):
    """[(size_offset, size_length, size)] of the function bodies in a code section's payload."""
    count = read_uleb(payload, 0)
    if count is None:
        return []
    found, pos = [], count[1]
    for _ in range(count[0]):
        size = read_uleb(payload, pos)
        if size is None or pos + size[1] + size[0] > len(payload):
            break
        found.append((pos, size[1], size[0]))
        pos += size[1] + size[0]
    return found


def resize(data, size_offset, size_length, size, payload):
    """data with the sized item at size_offset replaced by payload and its size fixed up."""
    start = size_offset + size_length
    return data[:size_offset] + uleb(len(payload)) + payload + data[start + size:]


# --- byte-level mutations: (rng, data) -> (new data, description)

def bit_flip(rng, data):
    if not data:
        return data, "bit_flip(empty)"
    data = bytearray(data)
    flips = []
    for _ in range(rng.randint(1, 4)):
        pos, bit = rng.randrange(len(data)), rng.randrange(8)
        data[pos] ^= 1 << bit
        flips.append(f"{pos}^{1 << bit:#x}")
    return bytes(data), "bit_flip " + ",".join(flips)


def overwrite_byte(rng, data):
    if not data:
        return data, "overwrite(empty)"
    pos, value = rng.randrange(len(data)), rng.choice(INTERESTING_BYTES + OPCODES)
    return data[:pos] + bytes([value]) + data[pos + 1:], f"overwrite {value:#04x}@{pos}"


def truncate(rng, data):
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"truncate {cut}"


def insert_bytes(rng, data):
    pos = rng.randrange(len(data) + 1)
    new = bytes(rng.choice(INTERESTING_BYTES + OPCODES) if rng.random() < 0.6 else rng.randrange(256)
                for _ in range(rng.randint(1, 8)))
    return data[:pos] + new + data[pos:], f"insert {new.hex()}@{pos}"


def delete_bytes(rng, data):
    pos, count = rng.randrange(len(data) + 1), rng.randint(1, 8)
    return data[:pos] + data[pos + count:], f"delete {count}@{pos}"


def random_leb(rng):
    value = rng.choice(INTERESTING_NUMBERS) if rng.random() < 0.6 else rng.getrandbits(rng.randint(1, 64))
    form = rng.randrange(4)
    if form == 0:
        return uleb(value)
    if form == 1:
        return uleb(value, extra=rng.randint(1, 6))  # overlong
    if form == 2:
        return sleb(value - (1 << 64) if value >> 63 else -value)
    return bytes([0x80 | rng.randrange(128) for _ in range(rng.randint(1, 11))])  # unterminated


def splice_leb(rng, data):
    leb = random_leb(rng)
    pos = rng.randrange(len(data) + 1)
    replaced = rng.randint(0, 5)  # overwrite a few bytes (often an existing LEB) or just insert
    return data[:pos] + leb + data[pos + replaced:], f"leb {leb.hex()}@{pos} over {replaced}"


def duplicate(rng, data):
    if not data:
        return data, "duplicate(empty)"
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.randint(1, 64))
    pos = end if rng.random() < 0.5 else rng.randrange(len(data) + 1)
    return data[:pos] + data[start:end] + data[pos:], f"duplicate [{start}:{end}]@{pos}"


BYTE_MUTATIONS = (bit_flip, overwrite_byte, truncate, insert_bytes, delete_bytes, splice_leb, duplicate)


# --- structure-aware mutations: they keep the framing intact so that the deeper checks run

def raw_bytes(rng, data):
    """A byte mutation anywhere; the 8-byte header is spared most of the time."""
    keep = 0 if rng.random() < 0.1 else min(8, len(data))
    tail, description = rng.choice(BYTE_MUTATIONS)(rng, data[keep:])
    return data[:keep] + tail, f"{description} (after {keep})"


def section_payload(rng, data):
    """A byte mutation inside one section's payload, the section size fixed up."""
    found = sections(data)
    if not found:
        return raw_bytes(rng, data)
    section_id, offset, length, size = rng.choice(found)
    start = offset + length
    payload, description = rng.choice(BYTE_MUTATIONS)(rng, data[start:start + size])
    return resize(data, offset, length, size, payload), f"section {section_id}@{offset}: {description}"


def locals_length(body):
    """Length of a body's local declarations (count, then (n, type) pairs); 0 if malformed."""
    count = read_uleb(body, 0)
    if count is None:
        return 0
    pos = count[1]
    for _ in range(count[0]):
        n = read_uleb(body, pos)
        if n is None or pos + n[1] >= len(body):
            return 0
        pos += n[1] + 1
    return pos


def function_body(rng, data):
    """A byte mutation inside one function body, the body and code section sizes fixed up.

    Mostly the instructions are mutated and the local declarations kept, so that the
    code checker, not the decoder, has to answer.
    """
    code = [entry for entry in sections(data) if entry[0] == 10]
    bodies = code_bodies(data[code[0][1] + code[0][2]:][:code[0][3]]) if code else []
    if not bodies:
        return section_payload(rng, data)
    _, offset, length, size = code[0]
    payload = data[offset + length:offset + length + size]
    body_offset, body_length, body_size = rng.choice(bodies)
    start = body_offset + body_length
    body = payload[start:start + body_size]
    keep = locals_length(body) if rng.random() < 0.8 else 0
    tail, description = rng.choice(BYTE_MUTATIONS)(rng, body[keep:])
    payload = resize(payload, body_offset, body_length, body_size, body[:keep] + tail)
    return (resize(data, offset, length, size, payload),
            f"code body@{offset + length + body_offset}+{keep}: {description}")


def section_size(rng, data):
    found = sections(data)
    if not found:
        return truncate(rng, data)
    _, offset, length, size = rng.choice(found)
    new_size = rng.choice([0, 1, size - 1, size + 1, size + rng.randint(2, 100),
                           max(0, size - rng.randint(2, 100)), 0xFFFFFFFF, rng.getrandbits(32)])
    encoded = uleb(max(0, new_size), extra=rng.choice([0, 0, 0, 1, 4]))
    return data[:offset] + encoded + data[offset + length:], f"section size @{offset} {size}->{new_size}"


def move_section(rng, data):
    """Drop, duplicate or reorder whole sections (order, duplicates and count mismatches)."""
    found = sections(data)
    if not found:
        return raw_bytes(rng, data)
    spans = [(offset - 1, offset + length + size) for _, offset, length, size in found]
    start, end = rng.choice(spans)
    piece, rest = data[start:end], data[:start] + data[end:]
    action = rng.randrange(3)
    if action == 0:
        return rest, f"drop section [{start}:{end}]"
    target = rng.choice([s for s, _ in spans] + [len(data)])
    if action == 1:
        return data[:target] + piece + data[target:], f"copy section [{start}:{end}] to {target}"
    target = min(target, len(rest))
    return rest[:target] + piece + rest[target:], f"move section [{start}:{end}] to {target}"


# weights: most inputs get past the section framing and reach the module rules and the code checker
MUTATIONS = ((function_body,) * 5 + (section_payload,) * 3 + (raw_bytes,) * 3
             + (section_size, move_section))


def make_input(seed, corpus):
    """The input of `seed`: (source file, bytes, mutation descriptions)."""
    rng = random.Random(seed)
    source = pick_source(rng, corpus)
    data = (corpus_dir() / source).read_bytes()
    done = []
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        data, description = rng.choice(MUTATIONS)(rng, data)
        data = data[:MAX_INPUT]
        done.append(description)
    return source, data, done


# --- running

class StateFile:
    """The input being run, written before the run: it survives a crash of this process."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if path else None

    def write(self, text):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, text.encode() + b"\n", 0)


def check(data):
    """('accepted', None) or ('rejected', message); raises what wasabi.validate raised if it is
    no CompileError."""
    import wasabi
    try:
        wasabi.validate(data)
    except wasabi.CompileError as error:
        return "rejected", error.message
    return "accepted", None


# Where wasmtime (the oracle) and Wasm 2.0 legitimately differ: wasmtime has implementation
# limits (it rejects > 50,000 locals), enables extended-const (i32/i64 add, sub, mul in constant
# expressions) with no switch to turn it off, reads the memory index of memory.* instructions as a
# LEB128 (multi-memory) where Wasm 2.0 wants one 0x00 byte (so it accepts `fc 0a 80 00 00`), and
# its Module.validate misses overlong LEB128s in memory limits (wasmtime.Module rejects them).
WASMTIME_LIMIT = re.compile(r"too many|exceed")
ZERO_BYTE = re.compile(r"^zero byte expected")
EXTENDED_CONST = re.compile(r"constant expression required.*(0x6a|0x6b|0x6c|0x7c|0x7d|0x7e)\b")


class Oracle:
    """wasmtime's verdict on the same bytes; disagreements that are no known difference fail."""

    def __init__(self):
        import wasmtime
        import spec_engines
        self.wasmtime = wasmtime
        self.engine = spec_engines.wasmtime_engine()  # Wasm 2.0 features only

    def verdict(self, data):
        try:
            self.wasmtime.Module.validate(self.engine, data)
        except self.wasmtime.WasmtimeError as error:
            return "rejected", str(error).strip().splitlines()[-1]
        return "accepted", None

    def compiles(self, data):
        try:
            self.wasmtime.Module(self.engine, data)
        except self.wasmtime.WasmtimeError:
            return False
        return True

    def disagreement(self, data, outcome, message):
        """None if wasmtime agrees with wasabi's outcome (or differs for a known reason)."""
        theirs, their_message = self.verdict(data)
        if theirs == outcome:
            return None
        if outcome == "accepted" and WASMTIME_LIMIT.search(their_message):
            return None
        if outcome == "rejected" and (EXTENDED_CONST.search(message) or ZERO_BYTE.search(message)
                                      or not self.compiles(data)):
            return None
        return f"wasabi {outcome} ({message}), wasmtime {theirs} ({their_message})"


def failure_entry(seed, source, mutations, error):
    return {"seed": seed, "source": source, "mutations": mutations, "error": error}


def describe(error):
    frame = traceback.extract_tb(error.__traceback__)[-1]
    return (f"{type(error).__name__}: {str(error)[:200]} "
            f"(at {pathlib.Path(frame.filename).name}:{frame.lineno})")


def run(first_seed, count, state_path, max_failures, oracle=None):
    corpus = Corpus()
    state = StateFile(state_path)
    summary = {"inputs": 0, "accepted": 0, "rejected": 0, "failures": []}
    for seed in range(first_seed, first_seed + count):
        source, data, mutations = make_input(seed, corpus)
        state.write(json.dumps({"seed": seed, "source": source, "mutations": mutations}))
        summary["inputs"] += 1
        try:
            outcome, message = check(data)
        except Exception as error:  # anything but CompileError is a bug in wasabi
            summary["failures"].append(failure_entry(seed, source, mutations, describe(error)))
        else:
            summary[outcome] += 1
            differs = oracle and oracle.disagreement(data, outcome, message)
            if differs:
                summary["failures"].append(failure_entry(seed, source, mutations, differs))
        if len(summary["failures"]) >= max_failures:
            break
    state.write("done")
    return summary


def replay(seed, save):
    """Run one input in the foreground: a bug shows its full traceback."""
    import wasabi
    source, data, mutations = make_input(seed, Corpus())
    print(f"seed {seed}: {source}, {len(data)} bytes, mutations {mutations}")
    if save:
        pathlib.Path(save).write_bytes(data)
    try:
        wasabi.validate(data)
    except wasabi.CompileError as error:
        print(f"rejected: {type(error).__name__}: {error}")
    else:
        print("accepted")
    print("wasmtime: {} {}".format(*Oracle().verdict(data)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--state", help="file naming the input being run")
    parser.add_argument("--max-failures", type=int, default=20)
    parser.add_argument("--oracle", action="store_true",
                        help="also compare every verdict with wasmtime's (differential)")
    parser.add_argument("--replay", type=int, metavar="SEED", help="run one input, raising its error")
    parser.add_argument("--save", help="with --replay: write the input's bytes to this file")
    options = parser.parse_args(argv)
    if options.replay is not None:
        return replay(options.replay, options.save)
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_LIMIT, MEMORY_LIMIT))
    oracle = Oracle() if options.oracle else None
    print(json.dumps(run(options.first_seed, options.count, options.state, options.max_failures, oracle)))


if __name__ == "__main__":
    sys.exit(main())
