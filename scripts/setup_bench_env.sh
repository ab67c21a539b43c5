#!/usr/bin/env bash
# Create .venv-bench: the project's .venv plus boxmot and lap (benchmark only; neither goes into
# .venv). lap (from the lapx pin) is what Ultralytics' own trackers need to run as a peer.
#
# Why a second venv that *reuses* .venv: BoxMOT needs torch/opencv/numpy, which .venv already
# has (and which must not be reinstalled). A .pth file adds .venv's site-packages (with its own
# .pth files, via site.addsitedir) after .venv-bench's, so pip sees those packages as installed
# and only adds what BoxMOT needs on top. Idempotent: a second run only checks the install.
set -euo pipefail
WS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$WS/.venv"
BENCH="$WS/.venv-bench"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup_bench_env: $VENV is missing; run 'make setup' first" >&2
  exit 1
fi
if [ ! -x "$BENCH/bin/python" ]; then
  "$VENV/bin/python" -m venv "$BENCH"
fi
echo '*' > "$BENCH/.gitignore"  # keep the tree clean whatever the top-level .gitignore says
site_main="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
site_bench="$("$BENCH/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf 'import site; site.addsitedir(%s)\n' "'$site_main'" > "$site_bench/zz_reid_main_venv.pth"
if "$BENCH/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("boxmot") != "25.0.0" or m.version("lapx") != "0.11.1")' 2>/dev/null; then
  echo "setup_bench_env: boxmot 25.0.0 and lapx 0.11.1 already in $BENCH"
else
  "$BENCH/bin/python" -m pip install --disable-pip-version-check -q -r "$WS/requirements-bench.txt"
fi
"$BENCH/bin/python" - <<'PY'
import boxmot, lap, numpy, torch, ultralytics
from ultralytics.trackers.track import TRACKER_MAP  # imports lap itself: fails here, not mid-benchmark
print(f"setup_bench_env: boxmot {boxmot.__version__}, lap {lap.__version__}, ultralytics "
      f"{ultralytics.__version__} (trackers: {', '.join(sorted(TRACKER_MAP))}), numpy {numpy.__version__}, "
      f"torch {torch.__version__}")
PY
