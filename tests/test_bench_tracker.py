"""The tracker benchmark's peer plumbing that runs without the benchmark environment."""
from __future__ import annotations

import json

import numpy as np

from reid_tracker_ros.tools import bench_tracker as bench


def test_ultralytics_detections_are_results_like():
    xyxy = np.array([[10, 20, 50, 120], [200, 40, 230, 100], [5, 5, 6, 6]], np.float64)
    d = bench.UltralyticsDetections(xyxy, [0.9, 0.4, 0.2])
    assert len(d) == 3 and d.cls.tolist() == [0, 0, 0]
    assert d.xywh[0].tolist() == [30, 70, 40, 100] and d.xywh[1].tolist() == [215, 70, 30, 60]
    sub = d[d.conf >= 0.3]
    assert len(sub) == 2 and sub.xyxy.tolist() == xyxy[:2].tolist() and sub.xywh.tolist() == d.xywh[:2].tolist()
    assert not hasattr(d, "xywhr")  # Ultralytics reads oriented boxes when this exists


def test_peer_tables():
    assert bench.BOXMOT_CLASSES["boosttrack"] == "BoostTrack"
    assert set(bench.ULTRALYTICS_TRACKERS) <= set(bench.strategy_names())
    assert not set(bench.ULTRALYTICS_ONLY) & set(bench.strategy_names())
    # BoxMOT's BoostTrack runs with embeddings exactly when our preset does
    assert bench.boxmot_uses_embeddings("boosttrack") is bench.preset_config("boosttrack").with_appearance
    assert bench.ultralytics_reid("botsort") and not bench.ultralytics_reid("bytetrack")
    assert not bench.ultralytics_reid("boosttrack")  # Ultralytics has no BoostTrack


def test_table_has_a_column_group_per_peer():
    s = {"HOTA": 70.0, "MOTA": 80.0, "IDF1": 90.0, "IDSW": 3, "ms_p50": 0.5, "ms_p95": 1.0}
    peer = dict(s, ms_p50=2.0)
    table = bench.format_table({"SEQ": {"bytetrack": {"ours": s, "boxmot": None, "ultralytics": peer},
                                        "boosttrack": {"ours": s, "boxmot": peer, "ultralytics": None}}},
                               peer_only={"SEQ": {"tracktrack": peer}})
    lines = table.splitlines()
    assert "BoxMOT" in lines[0] and "Ultralytics" in lines[0]
    byte = next(line for line in lines if " bytetrack " in line)
    assert byte.rstrip().endswith("-      4.0")  # no BoxMOT ratio, Ultralytics 2.0 / 0.5
    boost = next(line for line in lines if " boosttrack " in line)
    assert boost.rstrip().endswith("4.0        -")
    assert "(Ultralytics only)" in next(line for line in lines if "tracktrack" in line)


def test_last_line_keeps_its_keys_and_adds_ultralytics(tmp_path, capsys):
    from reid_tracker_ros.mot.synthetic import generate_sequence

    seq = generate_sequence(tmp_path, name="TINY", frames=12, width=320, height=240, n_people=3, seed=4)
    assert bench.main(["--seq", str(seq), "--trackers", "boosttrack", "sort", "--embedder", "none",
                       "--no-boxmot", "--no-ultralytics", "--out", str(tmp_path / "out")]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name in ("boosttrack", "sort"):
        entry = last["TINY"][name]
        assert set(entry) == {"ours", "ours_motion_only", "boxmot", "ultralytics"}
        assert entry["boxmot"] is None and entry["ultralytics"] is None
        assert entry["ours_motion_only"] == entry["ours"]  # no features: the same run
        assert set(entry["ours"]) == {"HOTA", "IDF1", "MOTA", "IDSW", "ms_p50"}


def test_our_cmc_time_is_measured_and_reported(tmp_path):
    """With CMC on, our result carries the per-frame camera-motion time (a part of the timed
    update, never more than it) and the method; the report prints it next to peers' methods."""
    from reid_tracker_ros.mot.offline import load_sequence, score
    from reid_tracker_ros.mot.synthetic import generate_sequence

    seq = generate_sequence(tmp_path, name="TINYCMC", frames=10, width=320, height=240, n_people=3, seed=5)
    data = load_sequence(seq)
    result = bench.run_ours("bytetrack", data, cmc=True)
    assert result.cmc == "sparse_flow" and result.cmc_ms is not None and len(result.cmc_ms) == len(data)
    assert (result.cmc_ms > 0).all() and (result.cmc_ms <= result.times_ms).all()
    score(result, data, tmp_path / "res.txt")
    s = result.summary()
    assert 0 < s["cmc_ms_p50"] <= s["ms_p50"]
    off = bench.run_ours("bytetrack", data, cmc=False)
    assert off.cmc == "none" and off.cmc_ms is None

    class UltraLike:  # Ultralytics keeps a GMC whose method is None when off
        gmc = type("G", (), {"method": None})()

    class BoxmotLike:
        cmc = type("ECC", (), {})()

    assert bench.peer_cmc(UltraLike()) == "none" and bench.peer_cmc(BoxmotLike()) == "ECC"
    assert bench.peer_cmc(object()) == "none"
    peer = dict(s, cmc="none")
    text = bench.format_cmc({"TINYCMC": {"bytetrack": {"ours": s, "boxmot": peer, "ultralytics": None}}})
    line = next(l for l in text.splitlines() if "bytetrack" in l)
    assert "ours sparse_flow" in line and f"{s['cmc_ms_p50']:.3f} / {s['ms_p50']:.3f}" in line
    assert "BoxMOT none" in line


def test_family_plot_draws_every_tracker_and_side(tmp_path):
    """The per-family picture: a PNG with a panel per tracker; a side that did not run leaves a
    gap, and an empty summary is an error that says why."""
    import cv2
    import pytest

    from reid_tracker_ros.tools.bench_plots import plot_families

    def fam(h: float) -> dict:
        m = {f: {"HOTA": h + k, "IDF1": h + 10} for k, f in enumerate(("crowd", "real"))}
        m["worst"] = {"HOTA": h, "IDF1": h + 10}
        return m

    families = {"botsort": {"ours": fam(70), "ours_motion_only": fam(65), "boxmot": fam(60), "ultralytics": None},
                "sort": {"ours": fam(55), "ours_motion_only": fam(55)}}
    path = plot_families(families, tmp_path / "f" / "families.png", "title")
    img = cv2.imread(str(path))
    assert img is not None and img.shape[1] > img.shape[0] > 100
    # bars in the side colours: ours (blue), BoxMOT (red); no Ultralytics (orange) anywhere
    b, g, r = (img[..., i].astype(int) for i in range(3))
    assert ((abs(b - 0xb4) < 8) & (abs(g - 0x77) < 8) & (abs(r - 0x1f) < 8)).sum() > 200
    assert ((abs(b - 0x28) < 8) & (abs(g - 0x27) < 8) & (abs(r - 0xd6) < 8)).sum() > 200
    assert ((abs(b - 0x0e) < 8) & (abs(g - 0x7f) < 8) & (abs(r - 0xff) < 8)).sum() == 0
    with pytest.raises(ValueError, match="no family summary"):
        plot_families({}, tmp_path / "empty.png")
