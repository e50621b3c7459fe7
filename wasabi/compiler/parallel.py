"""EAGER compiles of big modules on every core: the module in parts, LLVM in worker processes.

LLVM's code generation is three quarters of a T1 compile, and it cannot run on
two threads here: llvmlite holds the GIL through its calls and works in LLVM's
one global context. So a big module is translated in parts (contiguous runs
of functions, balanced by body size, each part declaring the functions of the
others), and each part's IR text is parsed, optimized and emitted in a worker
process while this process translates the next part. The objects are linked
into one JIT library (library.JitLibrary), each with its own code markers.

Only T0 and T1 are split: they do no inlining, so a part's code is what the
whole module would give. O2 stays one module (inlining across the whole).
Workers are fresh interpreters running wasabi.compiler.emit_worker, started on
first use and kept for the life of this process (they end when their stdin
closes, or after two idle minutes). Not multiprocessing: forking would copy JIT state and threads, and
its spawn would run the user's __main__ again in every worker. A thread per
part waits on a worker's pipe (the GIL is free while it waits). When a worker
cannot start or dies, its part is emitted here instead.
"""
import concurrent.futures as _futures
import os as _os
import pathlib as _pathlib
import pickle as _pickle
import select as _select
import struct as _struct
import subprocess as _subprocess
import sys as _sys
import threading as _threading


# below this much function-body code a module compiles in one piece: a part must
# be worth the IPC and the declarations every part repeats
MIN_PART_BYTES = 24 * 1024
MAX_WORKERS = 8
# parts per job: translating one part here overlaps emitting the previous ones there
PARTS_PER_JOB = 2
SPLIT_TIERS = ("T0", "T1")


def default_jobs():
    """Worker processes to use: the CPUs this process may run on, at most MAX_WORKERS."""
    try:
        cpus = len(_os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = _os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def partition(desc, tier, jobs):
    """Lists of function indices, one per part: one list when the module is small,
    the tier keeps it whole, or only one job is allowed. Parts are contiguous
    and of about equal body size; there are twice as many as jobs, so that
    translating one part overlaps emitting the previous ones."""
    funcs = desc.funcs
    total = sum(f.body_end - f.body_start for f in funcs)
    count = min(PARTS_PER_JOB * jobs, total // MIN_PART_BYTES, len(funcs))
    if tier not in SPLIT_TIERS or jobs < 2 or count < 2:
        return [[f.index for f in funcs]]
    parts, current, size = [], [], 0
    target = total / count
    for func in funcs:
        current.append(func.index)
        size += func.body_end - func.body_start
        if size >= target * (len(parts) + 1) and len(parts) < count - 1:
            parts.append(current)
            current = []
    if current:
        parts.append(current)
    return parts


class BuildAbandoned(Exception):
    """The process is exiting: a background build's worker was stopped (shutdown)."""


class WorkerGone(Exception):
    """A worker process could not start, or died."""


# the message that tells a worker to write its build to the request's spool (at exit)
SPOOL_NOW = ("spool",)
# (AFTER_EXIT, path): make the builds of a payload file after the program ended
# (modes/after_exit.py)
AFTER_EXIT = "after-exit"


def _wait_readable(stream):
    """Wait until `stream` has a reply to read (True) or shutdown began (False)."""
    wake = _workers.wake_read
    while True:
        ready, _, _ = _select.select([stream, wake], [], [])
        if stream in ready:
            return True
        if wake in ready:
            return False


def write_message(stream, obj):
    data = _pickle.dumps(obj, protocol=_pickle.HIGHEST_PROTOCOL)
    stream.write(_struct.pack("<Q", len(data)) + data)
    stream.flush()


def read_message(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = _struct.unpack("<Q", head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return _pickle.loads(data)


class _Worker:
    def __init__(self):
        package_root = str(_pathlib.Path(__file__).resolve().parents[2])
        path = _os.environ.get("PYTHONPATH")
        env = dict(_os.environ, PYTHONPATH=package_root + (_os.pathsep + path if path else ""))
        try:
            # stderr: not this process's, which a worker finishing a build after this
            # process exited (spool) would hold open, keeping a reader of it waiting
            self.proc = _subprocess.Popen([_sys.executable, "-m", "wasabi.compiler.emit_worker"],
                                         stdin=_subprocess.PIPE, stdout=_subprocess.PIPE,
                                         stderr=_subprocess.DEVNULL, env=env)
        except OSError as exc:
            raise WorkerGone(str(exc)) from None
        self.spool = None                   # the spool of the request under way
        self._stdin_lock = _threading.Lock()

    def emit(self, text, tier, spool=None):
        """The worker's reply: ("ok", (object, timings)) or ("error", exception).
        BuildAbandoned when the process starts exiting meanwhile. (`spool`: the
        request's; self.spool was set to it before, under _Workers' lock.)"""
        try:
            with self._stdin_lock:
                if self.proc.stdin.closed:          # left (shutdown) before the request
                    raise BuildAbandoned("the process is exiting")
                write_message(self.proc.stdin, (text, tier, spool))
            if not _wait_readable(self.proc.stdout):
                raise BuildAbandoned("the process is exiting")
            return read_message(self.proc.stdout)
        except (OSError, EOFError, _pickle.UnpicklingError):
            self.proc.kill()
            raise WorkerGone("the worker died") from None

    def leave(self, after=()):
        """At exit: a worker emitting a build with a spool writes it there when done
        (emit_worker), then makes the builds of the `after` payload files
        (modes/after_exit.py), then ends; any other is stopped now."""
        with self._stdin_lock:
            if self.spool is not None or after:
                try:
                    if self.spool is not None:
                        write_message(self.proc.stdin, SPOOL_NOW)
                    for path in after:
                        write_message(self.proc.stdin, (AFTER_EXIT, path))
                    self.proc.stdin.close()
                    return
                except OSError:
                    pass
        self.proc.kill()


class _Workers:
    """Idle worker processes, started as needed up to `jobs` at a time."""

    def __init__(self):
        self._lock = _threading.Lock()
        self._idle = []
        self._busy = set()
        self.closing = False
        self._wake_pipe()
        # a forked child must not talk to its parent's workers (their pipes are
        # shared: two processes' messages would interleave); it starts its own
        _os.register_at_fork(after_in_child=self._forget)

    def _wake_pipe(self):
        # written to at shutdown: wakes the threads waiting on a worker's reply
        self.wake_read, self._wake_write = _os.pipe()
        _os.set_blocking(self._wake_write, False)

    def _forget(self):
        self._lock = _threading.Lock()
        self._idle = []
        self._busy = set()
        self.closing = False
        _owed.clear()               # the parent's payloads: the parent hands them over
        self._wake_pipe()             # the parent's shutdown must not wake this process

    def has_idle(self):
        with self._lock:
            return any(w.proc.poll() is None for w in self._idle)

    def start_one(self):
        """Start a worker now (it imports wasabi and LLVM meanwhile) and keep it idle."""
        try:
            worker = _Worker()
        except WorkerGone:
            return
        with self._lock:
            self._idle.append(worker)

    def ensure_one(self):
        """Start a worker unless one is idle (or starting)."""
        if not self.has_idle():
            self.start_one()

    def emit(self, text, tier, spool=None):
        worker = None
        with self._lock:
            while self._idle and worker is None:
                worker = self._idle.pop()
                if worker.proc.poll() is not None:      # it ended when it was idle too long
                    worker = None
            if self.closing:
                raise BuildAbandoned("the process is exiting")
        if worker is None:
            worker = _Worker()
        with self._lock:
            worker.spool = spool        # before it is busy: shutdown's leave() reads it
            self._busy.add(worker)
        try:
            # a dead worker is dropped (WorkerGone)
            status, value = worker.emit(text, tier, spool)
        except WorkerGone:
            if self.closing:
                raise BuildAbandoned("the process is exiting") from None
            raise
        finally:
            worker.spool = None
            with self._lock:
                self._busy.discard(worker)
        with self._lock:
            self._idle.append(worker)               # also after an error: it still works
        if status == "error":
            raise value
        return value

    def shutdown(self, after=()):
        """Stop every worker, idle or busy: a build waiting on one ends (BuildAbandoned);
        a busy one with a spool finishes its build into it, after this process ended.
        One worker (a live one, else a new one) is left the `after` payloads."""
        with self._lock:
            self.closing = True
            idle, busy = self._idle, list(self._busy)
            self._idle = []
        carrier = None
        if after:
            carrier = next((w for w in busy + idle if w.proc.poll() is None), None)
            if carrier is None:
                try:
                    carrier = _Worker()
                except WorkerGone:
                    pass
        for worker in idle:
            if worker is not carrier:
                worker.proc.kill()
        for worker in busy:         # before the wake-up, which ends their requests
            worker.leave(after if worker is carrier else ())
        if carrier is not None and carrier not in busy:
            carrier.leave(after)
        try:
            _os.write(self._wake_write, b"x")
        except OSError:
            pass            # the pipe is full: a wake-up is pending already


_workers = _Workers()


_owed = []              # payload files for after_exit.run, made by owe_after_exit


def owe_after_exit(path):
    """Have a worker run the payload file at `path` (PGO builds, modes/after_exit.py)
    once this process has ended (shutdown hands them over)."""
    _owed.append(path)


def shutdown():
    """At exit: background builds still running are not waited for (a cold `wasabi run`
    of a big program would wait seconds for an O2 build it no longer needs). One that
    has a spool is finished by its worker after this process ended, and written there
    (PGO: the next run links it, profile_store.py); the others are abandoned. The
    payloads owed (owe_after_exit) go to one worker, which runs them after that."""
    after, _owed[:] = list(_owed), []
    _workers.shutdown(after)


def _emit_here(text, tier):
    # LLVM is imported when this process first emits: a PGO run whose builds all go
    # to workers (or that never builds) does without it
    from .jit import emit_object
    return emit_object(text, tier)


def prestart():
    """Start a worker process unless one is idle: PGO modules call it when a function
    gets warm (modes/tiered.WARM), so that their first background build finds one
    ready (a worker takes 0.3-1 s to start, importing wasabi and LLVM, on another core)."""
    _workers.ensure_one()


def emit_elsewhere(text, tier, spool=None):
    """(object bytes, timings) of one IR text, emitted in a worker process, so that this
    process's threads are free meanwhile (PGO's background builds). `spool`: (path,
    prefix) where the worker writes prefix + object + digest if this process exits
    before the build is done (profile_store.spool_request). When no worker is
    idle, one is started and waited for; the text is emitted in this process only when
    no worker can run it. Not here meanwhile: llvmlite runs one LLVM call at a time per
    process, so an O2 build here would stop every lazy compile of the program's own
    threads for its whole length (SQLite's 54 KB interpreter function: 3.5 s at O2)."""
    try:
        return _workers.emit(text, tier, spool)
    except WorkerGone:
        return _emit_here(text, tier)


def emit_parts(translate_part, count, tier, jobs):
    """[(object bytes, timings)] of parts 0..count-1; translate_part(k) gives part
    k's IR text (called here, in order, while workers emit earlier parts)."""
    texts, futures = [], []
    with _futures.ThreadPoolExecutor(max_workers=jobs) as threads:
        for k in range(count):
            texts.append(translate_part(k))
            futures.append(threads.submit(_workers.emit, texts[k], tier))
        results = []
        for text, future in zip(texts, futures):
            try:
                results.append(future.result())
            except WorkerGone:
                results.append(_emit_here(text, tier))
    return results
