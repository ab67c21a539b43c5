"""tools/bench_prediction: the offline model of the live path (a detector answering one camera
frame in K, L frames late) on a hand-made sequence of three people walking at constant speed."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reid_tracker_ros.tools import bench_prediction

FRAMES = 90


@pytest.fixture(scope="module")
def walkers(tmp_path_factory):
    root = tmp_path_factory.mktemp("walkers") / "WALK-3"
    (root / "gt").mkdir(parents=True)
    (root / "det").mkdir()
    (root / "seqinfo.ini").write_text("[Sequence]\nname=WALK-3\nimDir=img1\nframeRate=30\n"
                                      f"seqLength={FRAMES}\nimWidth=960\nimHeight=540\nimExt=.jpg\n")
    rng = np.random.default_rng(0)
    gt, det = [], []
    for f in range(1, FRAMES + 1):
        for i, (x0, y0, vx, vy) in enumerate([(50, 200, 4.0, 0.5), (850, 180, -3.5, 0.0), (400, 100, 1.0, 2.0)], 1):
            x, y = x0 + vx * f, y0 + vy * f
            gt.append(f"{f},{i},{x:.2f},{y:.2f},40,100,1,1,1")
            n = rng.normal(0, 1.0, 2)
            det.append(f"{f},-1,{x + n[0]:.2f},{y + n[1]:.2f},40,100,0.9,-1,-1,-1")
    (root / "gt" / "gt.txt").write_text("\n".join(gt) + "\n")
    (root / "det" / "det.txt").write_text("\n".join(det) + "\n")
    return root


def test_extrapolation_beats_held_boxes_and_latency_costs(walkers, tmp_path, capsys):
    code = bench_prediction.main(["--seq", str(walkers), "--every", "1", "4", "--latency", "0", "6",
                                  "--tracker", "sort", "--out", str(tmp_path)])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # one frame in one detected is the lockstep run itself
    assert out["every_1"]["extrapolate"]["HOTA"] == pytest.approx(out["all"]["HOTA"])
    every4, late4 = out["every_4"], out["every_4_latency_6"]
    # walkers at constant speed: the Kalman extrapolation (one step per camera frame) is far
    # closer than the held boxes, which are far better than no answer at all
    assert every4["extrapolate"]["HOTA"] > every4["hold"]["HOTA"] + 5 > every4["none"]["HOTA"] + 10
    # (1-2 px off: HOTA's localisation thresholds up to IoU 0.95 still count that; measured 87.3
    # against 95.3 for every frame detected, held boxes 69.2, nothing between 22.7)
    assert every4["extrapolate"]["HOTA"] > out["all"]["HOTA"] - 12
    # detections 6 frames late: held boxes lose much more (33.8), extrapolation little (81.1)
    assert late4["hold"]["HOTA"] < every4["hold"]["HOTA"] - 5
    assert late4["extrapolate"]["HOTA"] > late4["hold"]["HOTA"] + 10


def test_bad_arguments_are_named(walkers, tmp_path):
    with pytest.raises(SystemExit, match="--every must be >= 1"):
        bench_prediction.main(["--seq", str(walkers), "--every", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--latency >= 0"):
        bench_prediction.main(["--seq", str(walkers), "--latency", "-1", "--out", str(tmp_path)])
