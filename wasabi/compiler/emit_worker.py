"""A worker process of parallel.py: emits the object of each IR text it is sent.

    python -m wasabi.compiler.emit_worker

Reads (IR text, tier) messages on stdin and answers each with ("ok", (object
bytes, timings)) or ("error", exception) on stdout, until stdin closes or no
work came for IDLE_SECONDS (an idle worker holds ~110 MB; the parent starts a
new one when it needs one).
"""
import select as _select
import sys as _sys

from .jit import emit_object
from .parallel import read_message, write_message

IDLE_SECONDS = 120


def main():
    stdin, stdout = _sys.stdin.buffer, _sys.stdout.buffer
    _sys.stdout = _sys.stderr            # nothing else may write into the replies
    while True:
        ready, _, _ = _select.select([stdin], [], [], IDLE_SECONDS)
        if not ready:
            return
        try:
            text, tier = read_message(stdin)
        except EOFError:
            return
        try:
            reply = ("ok", emit_object(text, tier))
        except Exception as exc:       # noqa: BLE001 - the caller raises it
            reply = ("error", exc)
        write_message(stdout, reply)


if __name__ == "__main__":
    main()
