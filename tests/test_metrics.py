"""TrackEval wrapper: known answers for perfect, id-swapped, shifted, padded and empty results."""
from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest

from reid_tracker_ros.mot.io import SequenceInfo, read_ground_truth, write_results
from reid_tracker_ros.mot.metrics import evaluate_many, evaluate_mot, format_summary
from reid_tracker_ros.mot.synthetic import generate_sequence


@pytest.fixture(scope="module")
def seq(tmp_path_factory):
    return generate_sequence(tmp_path_factory.mktemp("synth"), name="SYN-M", frames=20, width=320,
                             height=240, n_people=5, seed=3, camera_jitter=1.0)


@pytest.fixture(scope="module")
def gt_rows(seq):
    return read_ground_truth(seq / "gt" / "gt.txt")


def _results(tmp_path, rows, name="res.txt"):
    path = tmp_path / name
    write_results(path, rows)
    return path


def test_perfect_tracker(seq, gt_rows, tmp_path, capsys):
    res = evaluate_mot(seq, _results(tmp_path, gt_rows[:, :7]))
    assert capsys.readouterr() == ("", "")  # TrackEval prints nothing
    assert res["HOTA"] == pytest.approx(100.0, abs=1e-6)
    assert res["MOTA"] == 100.0 and res["IDF1"] == 100.0 and res["MOTP"] == pytest.approx(100.0)
    assert res["IDSW"] == 0 and res["FP"] == 0 and res["FN"] == 0
    assert res["GT_Dets"] == len(gt_rows) == res["TP"] == res["IDTP"]
    assert res["GT_IDs"] == len(np.unique(gt_rows[:, 1]))
    assert res["Frames"] == 20
    for key in ("IDSW", "FP", "FN", "TP", "Frag", "MT", "PT", "ML", "IDTP", "IDFP", "IDFN"):
        assert type(res[key]) is int, key
    for key in ("HOTA", "DetA", "AssA", "MOTA", "MOTP", "IDF1", "IDP", "IDR", "Recall", "Precision"):
        assert type(res[key]) is float, key
    assert "HOTA 100.00" in format_summary(res) and "IDSW 0" in format_summary(res)


def test_id_swap_halfway(seq, gt_rows, tmp_path):
    # two ids present on both sides of the swap frame exchange their labels from then on
    swap_at = 10
    before = set(gt_rows[gt_rows[:, 0] == swap_at - 1, 1]) & set(gt_rows[gt_rows[:, 0] == swap_at, 1])
    a, b = sorted(before)[:2]
    rows = gt_rows[:, :7].copy()
    late = rows[:, 0] >= swap_at
    ida, idb = late & (rows[:, 1] == a), late & (rows[:, 1] == b)
    rows[ida, 1], rows[idb, 1] = b, a
    res = evaluate_mot(seq, _results(tmp_path, rows))
    assert res["IDSW"] == 2
    assert res["IDF1"] < 100.0 and res["AssA"] < 100.0 and res["HOTA"] < 100.0
    assert res["DetA"] == pytest.approx(100.0) and res["FP"] == 0 and res["FN"] == 0
    assert res["MOTA"] == pytest.approx(100.0 * (1 - 2 / len(gt_rows)))


def test_empty_results(seq, gt_rows, tmp_path):
    res = evaluate_mot(seq, _results(tmp_path, []))
    assert res["MOTA"] <= 0.0
    assert res["HOTA"] == 0.0 and res["IDF1"] == 0.0
    assert res["FN"] == len(gt_rows) and res["TP"] == 0 and res["ML"] == res["GT_IDs"]


def test_false_positives_and_localisation(seq, gt_rows, tmp_path):
    rows = gt_rows[:, :7].copy()
    rows[:, 2] += 0.05 * rows[:, 4]  # small shift: still matched (IoU > 0.5), worse localisation
    extra = np.array([[f, 900 + f, -5000.0, -5000.0, 10.0, 20.0, 0.3] for f in (1, 2, 3)])
    res = evaluate_mot(seq, _results(tmp_path, np.vstack([rows, extra])))
    assert res["FP"] == 3 and res["FN"] == 0 and res["IDSW"] == 0
    assert res["MOTA"] == pytest.approx(100.0 * (1 - 3 / len(gt_rows)))
    assert 80.0 < res["MOTP"] < 100.0 and res["LocA"] < 100.0
    assert res["FP_per_frame"] == pytest.approx(3 / 20)


def test_gt_path_forms_and_names(seq, gt_rows, tmp_path):
    path = _results(tmp_path, gt_rows[:, :7])
    for form in (seq / "gt", seq / "gt" / "gt.txt"):
        assert evaluate_mot(form, path)["IDF1"] == 100.0
    # seqinfo override bounds the frames; results past it are rejected with the file name
    info = SequenceInfo("SYN-M", 30.0, 20, 320, 240, path=seq)
    assert evaluate_mot(seq, path, seq_name="renamed", seqinfo=info)["MOTA"] == 100.0
    # a shortened seqinfo evaluates the prefix only (a run that stopped after 8 frames)
    head = gt_rows[gt_rows[:, 0] <= 8]
    short = evaluate_mot(seq, _results(tmp_path, head[:, :7], "head.txt"), seqinfo=replace(info, seq_length=8))
    assert short["MOTA"] == 100.0 and short["GT_Dets"] == len(head) and short["Frames"] == 8
    late = _results(tmp_path, [(21, 1, 0, 0, 10, 10, 1.0)], "late.txt")
    with pytest.raises(ValueError, match="late.txt.*21"):
        evaluate_mot(seq, late)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        evaluate_mot(seq, tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError, match="no ground truth"):
        evaluate_mot(tmp_path, path)


def test_duplicate_ids_rejected(seq, gt_rows, tmp_path):
    rows = gt_rows[gt_rows[:, 0] == 1][:, :7].copy()
    rows[:, 1] = 7  # same id twice in frame 1
    with pytest.raises(ValueError, match="TrackEval rejected.*same ID"):
        evaluate_mot(seq, _results(tmp_path, rows))


def test_mot15_style_gt_without_seqinfo(gt_rows, tmp_path):
    seq_dir = tmp_path / "TUD-LIKE"
    (seq_dir / "gt").mkdir(parents=True)
    lines = [f"{int(r[0])},{int(r[1])},{r[2]:.1f},{r[3]:.1f},{r[4]:.1f},{r[5]:.1f},1,-1,-1,-1\n" for r in gt_rows]
    (seq_dir / "gt" / "gt.txt").write_text("".join(lines))
    res = evaluate_mot(seq_dir, _results(tmp_path, gt_rows[:, :7]))
    assert res["MOTA"] == 100.0 and res["IDF1"] == 100.0
    assert res["Frames"] == int(gt_rows[:, 0].max())


def test_evaluate_many_combines(seq, gt_rows, tmp_path):
    other = tmp_path / "SYN-M2"
    shutil.copytree(seq / "gt", other / "gt")
    (other / "seqinfo.ini").write_text((seq / "seqinfo.ini").read_text().replace("SYN-M", "SYN-M2"))
    perfect = _results(tmp_path, gt_rows[:, :7])
    empty = _results(tmp_path, [], "empty.txt")
    out = evaluate_many([(seq, perfect), (other, empty)])
    assert set(out) == {"SYN-M", "SYN-M2", "COMBINED"}
    assert out["SYN-M"]["MOTA"] == 100.0 and out["SYN-M2"]["FN"] == len(gt_rows)
    comb = out["COMBINED"]
    assert comb["GT_Dets"] == 2 * len(gt_rows) and comb["TP"] == len(gt_rows)
    assert comb["MOTA"] == pytest.approx(50.0) and comb["Frames"] == 40
    named = evaluate_many({"x": (seq, perfect), "y": (seq, perfect)})
    assert named["COMBINED"]["IDF1"] == 100.0
    with pytest.raises(ValueError, match="duplicate"):
        evaluate_many([(seq, perfect), (seq, empty)])


def test_untidy_results_file_is_normalised(seq, gt_rows, tmp_path):
    # space separated, 6 columns, blank lines and trailing blanks: our reader accepts it and
    # TrackEval gets a clean copy
    lines = [" ".join(f"{v:g}" for v in r[:6]) + "   \n\n" for r in gt_rows[::-1]]
    path = tmp_path / "untidy.txt"
    path.write_text("\n" + "".join(lines))
    res = evaluate_mot(seq, path)
    assert res["MOTA"] == 100.0 and res["IDF1"] == 100.0


def test_seqinfo_on_disk_shorter_than_gt_is_an_error(seq, gt_rows, tmp_path):
    bad = tmp_path / "BAD"
    shutil.copytree(seq / "gt", bad / "gt")
    (bad / "seqinfo.ini").write_text((seq / "seqinfo.ini").read_text().replace("seqLength=20", "seqLength=10"))
    with pytest.raises(ValueError, match="ground truth has frame 20 > seqLength 10"):
        evaluate_mot(bad, _results(tmp_path, gt_rows[:, :7]))
