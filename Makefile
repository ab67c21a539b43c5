# reid_tracker_ros workspace. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
WS := $(abspath .)
RUN := source $(WS)/env.bash &&

SEQ ?=
TRACKER ?=
FRAMES ?= 300

.PHONY: setup demo test eval soak reid-eval bench-tracker clean help
help:
	@echo "make setup   create .venv, install pinned requirements, colcon build (idempotent)"
	@echo "make demo    synthetic MOT sequence -> rosbag2 -> running nodes -> HOTA/MOTA/IDF1, fps"
	@echo "make test    the whole pytest suite"
	@echo "make eval SEQ=<MOTChallenge folder> [TRACKER=deepsort|sort] [DETECTOR=public|yolo]"
	@echo "make bench-tracker [SEQ=\"<MOT folder> ...\"] [BENCH_ARGS=\"--cmc on\"]  ours vs BoxMOT (.venv-bench)"
	@echo "make reid-eval DATA=<Market-1501-layout folder> [MODEL=<.onnx|.pt|default>]  rank-1/mAP (+ re-ranking)"
	@echo "make gan-study  GAN -> generated persons -> ReID with/without them (last line JSON)"
	@echo "make soak    $(SOAK_FRAMES) frames through the graph: RSS and latency at start and end (last line JSON)"

setup:
	@bash scripts/setup.sh

demo: setup
	@$(RUN) python -m reid_tracker_ros.demo --frames $(FRAMES)

test: setup
	@$(RUN) python -m pytest tests -q -ra $(PYTEST_ARGS)

eval: setup
	@test -n "$(SEQ)" || { echo "usage: make eval SEQ=<MOTChallenge sequence folder> [TRACKER=...] [DETECTOR=public|yolo]"; exit 2; }
	@$(RUN) python -m reid_tracker_ros.evaluate --seq "$(SEQ)" $(if $(TRACKER),--tracker $(TRACKER)) $(if $(DETECTOR),--detector $(DETECTOR)) $(EVAL_ARGS)

# ReID evaluation (rank-1/5, mAP, with and without k-reciprocal re-ranking) of a model on any
# Market-1501-layout folder; MODEL defaults to the shipped default model. Last line: one JSON object.
reid-eval: setup
	@test -n "$(DATA)" || { echo "usage: make reid-eval DATA=<Market-1501-layout folder> [MODEL=<.onnx|.pt|default>]"; exit 2; }
	@$(RUN) python -m reid_training.evaluate --data "$(DATA)" --model "$(or $(MODEL),default)" $(REID_EVAL_ARGS)

SOAK_FRAMES ?= 10000
soak: setup
	@$(RUN) python -m reid_tracker_ros.soak --frames $(SOAK_FRAMES) $(SOAK_ARGS)

# Our trackers against BoxMOT's on the same detections and embeddings; default: two synthetic
# sequences. boxmot lives only in .venv-bench (scripts/setup_bench_env.sh), never in .venv.
bench-tracker: setup
	@bash scripts/setup_bench_env.sh
	@$(RUN) nice -n 5 "$(WS)/.venv-bench/bin/python" -m reid_tracker_ros.bench_tracker $(if $(SEQ),--seq $(SEQ)) $(BENCH_ARGS)

clean:
	rm -rf build install log runs ros2_tools

# GAN study (docs/gan.md): synthetic persons -> GAN -> generated crops -> ReID baseline vs LSRO vs extra data.
# Last line of output: one JSON object. GAN_STUDY_ARGS e.g. "--gan wgan-gp --out runs/gan_study_wgan".
.PHONY: gan-study
gan-study: setup
	@$(RUN) python -m reid_training.gan_study $(GAN_STUDY_ARGS)
