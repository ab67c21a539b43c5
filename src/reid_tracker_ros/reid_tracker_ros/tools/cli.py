"""What the evaluators' command lines share: SIGTERM (a launch shutting down) handled as Ctrl-C,
known input errors reported in one line with exit code 2, Ctrl-C with 130, no traceback."""
from __future__ import annotations

import signal
import sys
from typing import Any, Callable

from ..mot.io import MotFormatError

EXPECTED = (MotFormatError, FileNotFoundError, TimeoutError, RuntimeError, ValueError)


def run_guarded(prog: str, run: Callable[[Any], dict], args: Any) -> tuple[int, dict | None]:
    """``(0, run(args))``, or ``(exit code, None)`` after saying why on stderr."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return 0, run(args)
    except EXPECTED as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2, None
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; no metrics", file=sys.stderr)
        return 130, None
    finally:
        signal.signal(signal.SIGTERM, previous)
