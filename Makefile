# reid_tracker_ros workspace. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
WS := $(abspath .)
RUN := source $(WS)/env.bash &&

SEQ ?=
TRACKER ?=
FRAMES ?= 300

.PHONY: setup demo test eval clean help
help:
	@echo "make setup   create .venv, install pinned requirements, colcon build (idempotent)"
	@echo "make demo    synthetic MOT sequence -> rosbag2 -> running nodes -> HOTA/MOTA/IDF1, fps"
	@echo "make test    the whole pytest suite"
	@echo "make eval SEQ=<MOTChallenge folder> [TRACKER=deepsort|sort] [DETECTOR=public|yolo]"

setup:
	@bash scripts/setup.sh

demo: setup
	@$(RUN) python -m reid_tracker_ros.demo --frames $(FRAMES)

test: setup
	@$(RUN) python -m pytest tests -q -ra $(PYTEST_ARGS)

eval: setup
	@test -n "$(SEQ)" || { echo "usage: make eval SEQ=<MOTChallenge sequence folder> [TRACKER=...] [DETECTOR=public|yolo]"; exit 2; }
	@$(RUN) python -m reid_tracker_ros.evaluate --seq "$(SEQ)" $(if $(TRACKER),--tracker $(TRACKER)) $(if $(DETECTOR),--detector $(DETECTOR)) $(EVAL_ARGS)

clean:
	rm -rf build install log runs
