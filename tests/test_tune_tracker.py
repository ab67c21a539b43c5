"""The worst-family tuning tool: grid rows, ranking, the last JSON line, and clear refusals."""
from __future__ import annotations

import json

import pytest

from reid_tracker_ros.tools import tune_tracker as tune


def test_grid_rows_are_the_preset_then_every_combination():
    assert tune.grid_rows("ocsort", ["oru=false"])[1] == ("oru=False", {"oru": False})
    rows = tune.grid_rows("bytetrack", ["max_age=10,30", "fuse_score=true,false"])
    assert rows[0] == ("preset", {})
    assert [o for _, o in rows[1:]] == [{"max_age": 10, "fuse_score": True}, {"max_age": 10, "fuse_score": False},
                                        {"max_age": 30, "fuse_score": True}, {"max_age": 30, "fuse_score": False}]


@pytest.mark.parametrize("grid, says", [(["max_agee=10"], "max_agee"), (["proximity_iou_distance=3"], "proximity_iou_distance"),
                                        (["max_age"], "KEY=VALUE")])
def test_bad_grid_is_refused_before_any_run(grid, says, tmp_path, capsys):
    assert tune.main(["--tracker", "sort", "--seq", str(tmp_path / "none"), "--grid", *grid,
                      "--out", str(tmp_path / "out")]) == 2
    assert says in capsys.readouterr().err


def test_rows_ranked_by_worst_family_and_last_line(tmp_path, capsys):
    from reid_tracker_ros.mot.synthetic import generate_sequence

    seq = generate_sequence(tmp_path, name="TINY", frames=30, width=320, height=240, n_people=3, seed=4)
    assert tune.main(["--tracker", "sort", "--seq", str(seq), "--grid", "max_iou_distance=0.05,0.7",
                      "--embedder", "none", "--no-progress", "--out", str(tmp_path / "out")]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["tracker"] == "sort" and last["split"] == "seq"
    names = [r["name"] for r in last["rows"]]
    assert sorted(names) == ["max_iou_distance=0.05", "max_iou_distance=0.7", "preset"]
    worst = [r["worst"]["HOTA"] for r in last["rows"]]
    assert worst == sorted(worst, reverse=True)
    by_name = {r["name"]: r for r in last["rows"]}
    # an IoU gate of 0.95 overlap breaks tracks that the preset keeps
    assert by_name["max_iou_distance=0.05"]["worst"]["HOTA"] < by_name["preset"]["worst"]["HOTA"]
    assert set(by_name["preset"]["sequences"]["TINY"]) == {"HOTA", "IDF1", "MOTA", "IDSW"}
    assert (tmp_path / "out" / "tune.json").is_file()
