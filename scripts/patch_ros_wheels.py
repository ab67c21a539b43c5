#!/usr/bin/env python3
"""Point the ROS 2 wheels' CMake exports at this interpreter's include directories.

The ``ros-jazzy-*`` PyPI wheels are built in a manylinux container and their
``share/*/cmake/export_*__rosidl_generator_pyExport.cmake`` files hard-code that
container's Python and numpy include paths (``/opt/python/cp311-cp311/...``).
Building any message package against them (our ``reid_msgs``) then fails in CMake.
This rewrites those paths to the running interpreter's own; it is idempotent, so
``make setup`` can call it every time.
"""
from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy

# Any include path the wheel builder baked in: /opt/python/<tag>/include/pythonX.Y and
# /opt/python/<tag>/lib/pythonX.Y/site-packages/numpy/<_core|core>/include
_PY_INCLUDE = re.compile(r"/opt/python/[^/;\"]+/include/python3\.\d+")
_NP_INCLUDE = re.compile(r"/opt/python/[^;\"]+/site-packages/numpy/(?:_core|core)/include")


def patch(prefix: Path) -> int:
    """Rewrite every export file below ``prefix/share``; return how many changed."""
    py_include = sysconfig.get_paths()["include"]
    np_include = numpy.get_include()
    changed = 0
    for path in sorted(prefix.glob("share/*/cmake/export_*__rosidl_generator_pyExport.cmake")):
        text = path.read_text()
        new = _NP_INCLUDE.sub(np_include, _PY_INCLUDE.sub(py_include, text))
        if new != text:
            path.write_text(new)
            changed += 1
    return changed


def main() -> int:
    prefix = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(sys.prefix)
    if not (prefix / "share").is_dir():
        print(f"patch_ros_wheels: no share/ under {prefix}; are the ros-jazzy wheels installed?",
              file=sys.stderr)
        return 1
    changed = patch(prefix)
    print(f"patch_ros_wheels: {changed} CMake export file(s) rewritten under {prefix}/share")
    return 0


if __name__ == "__main__":
    sys.exit(main())
