"""A worker process of parallel.py: emits the object of each IR text it is sent.

    python -m wasabi.compiler.emit_worker

Reads (IR text, tier, spool) messages on stdin and answers each with ("ok", (object
bytes, timings)) or ("error", exception) on stdout, until stdin closes or no
work came for IDLE_SECONDS (an idle worker holds ~110 MB; the parent starts a
new one when it needs one).

Spool: when the parent exits while a build with a spool is under way, it sends
parallel.SPOOL_NOW instead of waiting; the worker then writes the object of its
last request to that spool (profile_store.write_spooled: the parent's next run
links it). A reply the exiting parent cannot read any more is dropped. The parent
may also leave it (parallel.AFTER_EXIT, path) messages: PGO builds to make after it
ended (modes/after_exit.py); the worker ends when its input does.
"""
import select as _select
import sys as _sys

from .jit import emit_object
from .parallel import AFTER_EXIT, SPOOL_NOW, read_message, write_message

IDLE_SECONDS = 120


def main():
    stdin, stdout = _sys.stdin.buffer, _sys.stdout.buffer
    _sys.stdout = _sys.stderr            # nothing else may write into the replies
    last = None                          # (spool, reply) of the last request
    while True:
        ready, _, _ = _select.select([stdin], [], [], IDLE_SECONDS)
        if not ready:
            return
        try:
            message = read_message(stdin)
        except EOFError:
            return
        if message == SPOOL_NOW:        # the parent is exiting: then EOF, or builds after
            if last is not None:
                _spool(*last)
            last = None
            continue
        if message[0] == AFTER_EXIT:
            from .modes.after_exit import run
            run(message[1])
            continue
        text, tier, spool = message
        try:
            reply = ("ok", emit_object(text, tier))
        except Exception as exc:       # noqa: BLE001 - the caller raises it
            reply = ("error", exc)
        last = (spool, reply)
        try:
            write_message(stdout, reply)
        except OSError:                  # the parent ended: only a spool is left to do
            pass


def _spool(spool, reply):
    status, value = reply
    if spool is None or status != "ok":
        return
    from .profile_store import write_spooled
    path, prefix = spool
    write_spooled(path, prefix, value[0])


if __name__ == "__main__":
    main()
