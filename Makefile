# reid_tracker_ros workspace. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
WS := $(abspath .)
RUN := source $(WS)/env.bash &&

SEQ ?=
TRACKER ?=
FRAMES ?= 300

.PHONY: setup demo test eval eval-multicam soak reid-eval bench-tracker tune-tracker bench-live bench-identity clean help
help:
	@echo "make setup   create .venv, install pinned requirements, colcon build (idempotent)"
	@echo "make demo    synthetic MOT sequence -> rosbag2 -> running nodes -> HOTA/MOTA/IDF1, fps"
	@echo "make test    the whole pytest suite"
	@echo "make eval-multicam SEQ=\"cam1 cam2\"  several cameras, one identity node: per-camera and global IDF1"
	@echo "make eval SEQ=<MOTChallenge folder> [TRACKER=deepsort|sort] [DETECTOR=public|yolo]"
	@echo "make bench-tracker [SEQ=\"<MOT folder> ...\"] [BENCH_ARGS=\"--split dev\"]  ours vs BoxMOT and Ultralytics on the validation suite's test split (.venv-bench)"
	@echo "make tune-tracker TRACKER=botsort GRID=\"key=v1,v2 ...\" [SEQ=...]  settings ranked by their worst family on the dev split (last line JSON)"
	@echo "make bench-live [IMGSZ=960] [VIDEO=<video>]  camera graph vs Ultralytics' model.track, realtime latency (last line JSON)"
	@echo "make bench-identity [IDENTITY_SIZES=\"1000 10000 100000\"]  identity gallery: assignment ms per frame vs stored identities (last line JSON)"
	@echo "make reid-eval DATA=<Market-1501-layout folder> [MODEL=<.onnx|.pt|default>]  rank-1/mAP (+ re-ranking)"
	@echo "make gan-study  GAN -> generated persons -> ReID with/without them (last line JSON)"
	@echo "make soak    $(SOAK_FRAMES) frames through the graph: RSS and latency at start and end (last line JSON)"

setup:
	@bash scripts/setup.sh

demo: setup
	@$(RUN) python -m reid_tracker_ros.tools.demo --frames $(FRAMES)

test: setup
	@$(RUN) python -m pytest tests -q -ra $(PYTEST_ARGS)

eval: setup
	@test -n "$(SEQ)" || { echo "usage: make eval SEQ=<MOTChallenge sequence folder> [TRACKER=...] [DETECTOR=public|yolo]"; exit 2; }
	@$(RUN) python -m reid_tracker_ros.tools.evaluate --seq "$(SEQ)" $(if $(TRACKER),--tracker $(TRACKER)) $(if $(DETECTOR),--detector $(DETECTOR)) $(EVAL_ARGS)

# Several cameras through the real nodes and one identity node: per-camera and global scores.
# SEQ: one MOTChallenge folder per camera, gt ids global across them (mot/multicam.py writes such sets).
eval-multicam: setup
	@test -n "$(SEQ)" || { echo "usage: make eval-multicam SEQ=\"<cam1 folder> <cam2 folder> ...\" [TRACKER=...]"; exit 2; }
	@$(RUN) python -m reid_tracker_ros.tools.eval_multicam --seq $(SEQ) $(if $(TRACKER),--tracker $(TRACKER)) $(EVAL_ARGS)

# ReID evaluation (rank-1/5, mAP, with and without k-reciprocal re-ranking) of a model on any
# Market-1501-layout folder; MODEL defaults to the shipped default model. Last line: one JSON object.
reid-eval: setup
	@test -n "$(DATA)" || { echo "usage: make reid-eval DATA=<Market-1501-layout folder> [MODEL=<.onnx|.pt|default>]"; exit 2; }
	@$(RUN) python -m reid_training.evaluate --data "$(DATA)" --model "$(or $(MODEL),default)" $(REID_EVAL_ARGS)

# Settings of one of our trackers ranked by their worst family (mean HOTA) on the validation
# suite's dev split, or on SEQ: how every preset default was chosen (docs/validation.md).
tune-tracker: setup
	@test -n "$(TRACKER)" || { echo "usage: make tune-tracker TRACKER=<name> GRID=\"key=v1,v2 ...\" [SEQ=\"<MOT folder> ...\"] [TUNE_ARGS=--motion-only]"; exit 2; }
	@$(RUN) python -m reid_tracker_ros.tools.tune_tracker --tracker $(TRACKER) $(if $(GRID),--grid $(GRID)) $(if $(SEQ),--seq $(SEQ)) $(TUNE_ARGS)

SOAK_FRAMES ?= 10000
soak: setup
	@$(RUN) python -m reid_tracker_ros.tools.soak --frames $(SOAK_FRAMES) $(SOAK_ARGS)

# Our trackers against BoxMOT's and Ultralytics' on the same detections and embeddings; default:
# the validation suite's test split (docs/validation.md; BENCH_ARGS="--split dev" to tune).
# boxmot and lap live only in .venv-bench (scripts/setup_bench_env.sh).
bench-tracker: setup
	@bash scripts/setup_bench_env.sh
	@$(RUN) nice -n 5 "$(WS)/.venv-bench/bin/python" -m reid_tracker_ros.tools.bench_tracker $(if $(SEQ),--seq $(SEQ)) $(BENCH_ARGS)

# The camera graph against Ultralytics' own `model.track` loop on the same video frames, weights
# and imgsz, in one run; then realtime latency, and a generated sequence lockstep vs realtime.
# Ultralytics' tracker needs `lap` (lapx, requirements-bench.txt): runs in .venv-bench.
# The ROS wheels find their shared libraries from the interpreter's prefix (.venv), which
# .venv-bench's is not: take .venv's library path (and tell the wheels it is set).
IMGSZ ?= 960
VIDEO ?= /usr/share/doc/opencv-doc/examples/data/vtest.avi
BENCH_ROS_LIBS := export $$(python -c 'import os; print("LD_LIBRARY_PATH=" + os.environ.get("LD_LIBRARY_PATH", ""))') _ROS_WHEELS_BOOTSTRAP_COMPLETE=1 &&
bench-live: setup
	@bash scripts/setup_bench_env.sh
	@$(RUN) $(BENCH_ROS_LIBS) "$(WS)/.venv-bench/bin/python" -m reid_tracker_ros.tools.bench_live --imgsz $(IMGSZ) --video "$(VIDEO)" $(BENCH_LIVE_ARGS)

# The identity node's core at 1k/10k/100k stored synthetic identities (1280-dim, narrow cone):
# assign() time per camera report, default config (IVF from 20k) vs exact, IVF recall and build.
IDENTITY_SIZES ?= 1000 10000 100000
bench-identity: setup
	@$(RUN) python -m reid_tracker_ros.tools.bench_identity --sizes $(IDENTITY_SIZES) $(BENCH_IDENTITY_ARGS)

clean:
	rm -rf build install log runs ros2_tools

# GAN study (docs/gan.md): synthetic persons -> GAN -> generated crops -> ReID baseline vs LSRO vs extra data.
# Last line of output: one JSON object. GAN_STUDY_ARGS e.g. "--gan wgan-gp --out runs/gan_study_wgan".
.PHONY: gan-study
gan-study: setup
	@$(RUN) python -m reid_training.gan_study $(GAN_STUDY_ARGS)
