"""What the evaluators' command lines share: SIGTERM (a launch shutting down) handled as Ctrl-C,
known input errors reported in one line with exit code 2, Ctrl-C with 130, no traceback."""
from __future__ import annotations

import json
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


def key_value(text: str, flag: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from a command line; VALUE read as JSON (numbers, true/false), else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"{flag} {text!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
