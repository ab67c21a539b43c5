# Source this file in a shell to use the workspace:   source env.bash
# (made usable by `make setup`). It activates .venv, the ROS 2 underlay (apt ROS 2 when
# /opt/ros/<distro> exists, else the ROS 2 Jazzy PyPI wheels in .venv plus ros2_tools/, the
# launch and `ros2` command-line tools built from ../shared/ros2), the colcon overlay in
# install/, and the tuned Fast DDS transport.
#
# REID_DDS_PROFILE=local (default here) keeps every DDS packet on this host (shared memory
# only); REID_DDS_PROFILE=robot keeps UDP beside shared memory so other computers (RViz)
# see the topics.
_reid_ws="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
if [ ! -f "$_reid_ws/.venv/bin/activate" ]; then
  echo "env.bash: $_reid_ws/.venv is missing; run 'make setup' first" >&2
  return 1 2>/dev/null || exit 1
fi
for _reid_distro in jazzy humble kilted rolling; do
  if [ -f "/opt/ros/$_reid_distro/setup.bash" ]; then
    # shellcheck disable=SC1090
    . "/opt/ros/$_reid_distro/setup.bash"
    _reid_distro_found=1
    break
  fi
done
# shellcheck disable=SC1091
. "$_reid_ws/.venv/bin/activate"
if [ -z "${ROS_DISTRO:-}" ]; then
  # PyPI wheels: the venv is the ROS prefix (colcon and ament need to be told so)
  export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export ROS_DISTRO=jazzy
fi
if [ "${_reid_distro_found:-}" != 1 ] && [ -f "$_reid_ws/ros2_tools/install/local_setup.bash" ]; then
  # no apt ROS 2: ros2 launch / lifecycle / param / topic / node built from ../shared/ros2 by
  # `make setup` (an underlay of the workspace overlay below)
  # shellcheck disable=SC1091
  COLCON_CURRENT_PREFIX="$_reid_ws/ros2_tools/install" . "$_reid_ws/ros2_tools/install/local_setup.bash"
fi
if [ -f "$_reid_ws/install/local_setup.bash" ]; then
  # shellcheck disable=SC1091
  COLCON_CURRENT_PREFIX="$_reid_ws/install" . "$_reid_ws/install/local_setup.bash"
fi
# reid_training's command-line tools (reid-train, reid-evaluate, reid-export, reid-gan...) on PATH;
# on a robot `ros2 run reid_training reid-train` works as well
if [ -d "$_reid_ws/install/reid_training/lib/reid_training" ]; then
  case ":$PATH:" in *":$_reid_ws/install/reid_training/lib/reid_training:"*) ;;
    *) export PATH="$_reid_ws/install/reid_training/lib/reid_training:$PATH" ;; esac
fi
# Transport profile, malloc and ultralytics settings: the same values the runner and the launch
# files use, printed by reid_tracker_ros.graph (one source of truth).
if _reid_exports="$(python -m reid_tracker_ros.graph --print-env "${REID_DDS_PROFILE:-local}" 2>&1)"; then
  eval "$_reid_exports"
else
  echo "env.bash: could not read the graph environment (run 'make setup'):" >&2
  echo "$_reid_exports" >&2
fi
unset _reid_exports
export YOLO_CONFIG_DIR="${YOLO_CONFIG_DIR:-$HOME/.cache/reid_tracker_ros/ultralytics}"
export REID_TRACKER_WS="$_reid_ws"
unset _reid_ws _reid_distro _reid_distro_found
