"""tools/bench_identity: assignment time per frame against the gallery's size, on tiny sizes
(the IVF path runs from 1000 identities here); checks the report, not the speed."""
from __future__ import annotations

import json

import pytest

from reid_tracker_ros.identity import HAVE_FAISS
from reid_tracker_ros.tools import bench_identity


def test_reports_times_recall_and_memory_per_size(capsys):
    assert bench_identity.main(["--sizes", "200", "2000", "--dim", "64", "--frames", "20", "--exact-frames", "10",
                                "--queries", "200", "--index-from", "1000"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["dim"] == 64 and out["faiss"] == HAVE_FAISS and set(out["sizes"]) == {"200", "2000"}
    for size, row in out["sizes"].items():
        for key in ("frame_ms", "worst_ms", "exact_frame_ms", "exact_worst_ms"):
            assert 0 < row[f"{key}_p50"] <= row[f"{key}_p95"]
        assert 0.9 <= row["recall_at_1"] <= 1.0 and row["exact_correct"] >= 0.9
        assert row["memory_mb"] > 0 and row["build_s"] >= 0 and isinstance(row["meets_5ms"], bool)
        assert row["indexed"] == (HAVE_FAISS and size == "2000")


def test_bad_arguments_are_named():
    with pytest.raises(SystemExit, match="--sizes must be >= 10"):
        bench_identity.main(["--sizes", "5"])
