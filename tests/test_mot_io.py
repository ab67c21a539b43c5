"""MOTChallenge folder I/O: seqinfo.ini, det/gt/results text files, frame paths."""
from __future__ import annotations

import logging
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid_tracker_ros.mot.io import (
    FrameDetections,
    MotFormatError,
    SequenceInfo,
    frame_paths,
    ground_truth_by_frame,
    infer_seqinfo,
    read_detections,
    read_ground_truth,
    read_results,
    read_seqinfo,
    snapshot_rows,
    write_results,
    write_seqinfo,
)

MOT17_INI = """[Sequence]
name=MOT17-02-FRCNN
imDir=img1
frameRate=30
seqLength=600
imWidth=1920
imHeight=1080
imExt=.jpg
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------- seqinfo


def test_read_seqinfo_mot17(tmp_path):
    _write(tmp_path / "seqinfo.ini", MOT17_INI)
    info = read_seqinfo(tmp_path)
    assert info == SequenceInfo("MOT17-02-FRCNN", 30.0, 600, 1920, 1080, ".jpg", "img1", tmp_path)
    assert info.image_dir == tmp_path / "img1"


def test_seqinfo_roundtrip_and_defaults(tmp_path):
    info = SequenceInfo("S", 12.5, 7, 64, 48, ".png", "frames", tmp_path / "S")
    ini = write_seqinfo(info)
    assert ini == tmp_path / "S" / "seqinfo.ini"
    assert read_seqinfo(tmp_path / "S") == info
    # string keys are optional and the extension gets its dot back
    _write(tmp_path / "T" / "seqinfo.ini",
           "[Sequence]\nFRAMERATE=25\nseqlength=3\nimWidth=10\nimHeight=20\nimExt=png\n")
    info2 = read_seqinfo(tmp_path / "T")
    assert (info2.name, info2.im_dir, info2.im_ext, info2.frame_rate) == ("T", "img1", ".png", 25.0)


@pytest.mark.parametrize("body, needle", [
    ("[Other]\nname=x\n", "[Sequence]"),
    ("[Sequence]\nframeRate=30\nimWidth=10\nimHeight=10\n", "seqLength"),
    ("[Sequence]\nframeRate=30\nseqLength=abc\nimWidth=10\nimHeight=10\n", "'abc'"),
    ("[Sequence]\nframeRate=0\nseqLength=5\nimWidth=10\nimHeight=10\n", "frameRate"),
    ("[Sequence]\nframeRate=30\nseqLength=5\nimWidth=-4\nimHeight=10\n", "imWidth"),
    ("[Sequence]\nframeRate=30\nseqLength=5\nimWidth=10.5\nimHeight=10\n", "integer"),
    ("[Sequence]\nframeRate=nan\nseqLength=5\nimWidth=10\nimHeight=10\n", "frameRate"),
    ("no section header at all\n", "cannot parse"),
])
def test_broken_seqinfo_names_file_and_key(tmp_path, body, needle):
    ini = _write(tmp_path / "seqinfo.ini", body)
    with pytest.raises(MotFormatError) as err:
        read_seqinfo(tmp_path)
    assert needle in str(err.value)
    assert str(ini) in str(err.value)
    assert isinstance(err.value, ValueError)


def test_missing_seqinfo_and_inference(tmp_path):
    with pytest.raises(MotFormatError, match="seqinfo.ini not found"):
        read_seqinfo(tmp_path)
    with pytest.raises(FileNotFoundError, match="img1"):
        read_seqinfo(tmp_path, infer_if_missing=True)
    img = np.zeros((30, 40, 3), np.uint8)
    (tmp_path / "img1").mkdir()
    for i in (1, 2, 5):  # frames 3 and 4 missing: length is still 5
        cv2.imwrite(str(tmp_path / "img1" / f"{i:06d}.png"), img)
    info = read_seqinfo(tmp_path, infer_if_missing=True, frame_rate=14)
    assert (info.im_width, info.im_height, info.seq_length, info.im_ext, info.frame_rate) == (40, 30, 5, ".png", 14.0)
    assert info == infer_seqinfo(tmp_path, frame_rate=14)
    paths = frame_paths(info)
    assert [p.name for p in paths] == [f"{i:06d}.png" for i in range(1, 6)]
    assert not paths[2].exists() and paths[4].exists()


def test_frame_paths_needs_folder():
    info = SequenceInfo("mem", 30.0, 3, 10, 10)
    with pytest.raises(ValueError, match="mem"):
        frame_paths(info)


# ---------------------------------------------------------------- detections


def test_read_detections_tolerant(tmp_path, caplog):
    text = (
        "1,-1,10,20,30,40,0.9,-1,-1,-1\n"
        "1,-1,11.5,21,31,41,0.4   \n"          # 7 columns + trailing spaces
        "\n"
        "2,-1,5,6,7,8,0.8,-1,-1,\n"           # trailing comma
        "3,-1,5,6,0,8,0.8,-1,-1,-1\n"         # w = 0 -> skipped
        "3,-1,5,6,7,-2,0.8,-1,-1,-1\n"        # h < 0 -> skipped
        "3,-1,nan,6,7,8,0.8,-1,-1,-1\n"       # non-finite -> skipped
        "3,-1,1,6,7,8,inf,-1,-1,-1\n"         # non-finite score -> skipped
        "0,-1,1,6,7,8,0.5,-1,-1,-1\n"         # frame 0 -> skipped
        "2, -1, 1, 2, 3, 4, 0.7, -1, -1\n"    # spaces after commas, 9 columns
        "   \n"
    )
    path = _write(tmp_path / "det.txt", text)
    with caplog.at_level(logging.WARNING):
        dets = read_detections(path)
    assert isinstance(dets, FrameDetections)
    assert sorted(dets) == [1, 2]
    assert dets.skipped == 5
    assert "skipped 5" in caplog.text and str(path) in caplog.text
    tlwh, scores = dets[1]
    np.testing.assert_allclose(tlwh, [[10, 20, 30, 40], [11.5, 21, 31, 41]])
    np.testing.assert_allclose(scores, [0.9, 0.4])
    np.testing.assert_allclose(dets[2][0], [[5, 6, 7, 8], [1, 2, 3, 4]])  # file order kept
    empty_boxes, empty_scores = dets.frame(3)
    assert empty_boxes.shape == (0, 4) and empty_scores.shape == (0,)
    high = read_detections(path, min_score=0.75)
    assert sorted(high) == [1, 2] and len(high[1][1]) == 1 and high.below_score == 2


@pytest.mark.parametrize("line, needle", [
    ("1,-1,10,20,30,40,abc,-1,-1,-1\n", ":2: non-numeric"),
    ("1,-1,10,20,30\n", ":2: expected 7..10 columns, got 5"),
    ("1,-1,1,2,3,4,5,6,7,8,9\n", "got 11"),
])
def test_read_detections_rejects_garbage(tmp_path, line, needle):
    path = _write(tmp_path / "det.txt", "1,-1,1,2,3,4,0.5\n" + line)
    with pytest.raises(MotFormatError, match=needle):
        read_detections(path)


def test_read_detections_missing_and_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_detections(tmp_path / "nope.txt")
    assert read_detections(_write(tmp_path / "e.txt", "\n\n")) == {}


# ---------------------------------------------------------------- ground truth


def test_read_ground_truth_column_layouts(tmp_path):
    path = _write(tmp_path / "gt.txt", "1,1,10,20,30,40,1,1,0.5\n"   # MOT16/17
                                       "1,2,1,2,3,4,1,-1,-1,-1\n"    # MOT15 (x, y, z world)
                                       "2,3,1,2,3,4\n")              # bare 6 columns
    rows = read_ground_truth(path)
    assert rows.shape == (3, 9)
    np.testing.assert_allclose(rows[0], [1, 1, 10, 20, 30, 40, 1, 1, 0.5])
    np.testing.assert_allclose(rows[1, 6:], [1, -1, -1])
    np.testing.assert_allclose(rows[2, 6:], [1, -1, -1])
    bad = _write(tmp_path / "bad.txt", "1,1,10,20,nan,40,1,1,0.5\n")
    with pytest.raises(MotFormatError, match="bad.txt"):
        read_ground_truth(bad)


def test_ground_truth_by_frame_mot16_filter(tmp_path):
    rows = np.array([
        [1, 5, 0, 0, 10, 20, 1, 1, 1.0],
        [1, 2, 5, 5, 10, 20, 1, 1, 0.1],
        [1, 3, 5, 5, 10, 20, 0, 1, 1.0],    # consider flag 0: ignored
        [1, 4, 5, 5, 10, 20, 1, 7, 1.0],    # static person: not evaluated
        [1, 6, 5, 5, 10, 20, 1, 8, 1.0],    # distractor
        [2, 9, 1, 1, 10, 20, 1, -1, -1],    # no class info (MOT15): kept
    ])
    gt = ground_truth_by_frame(rows)
    assert sorted(gt) == [1, 2]
    tlwh, ids, vis = gt[1]
    assert ids.tolist() == [2, 5] and ids.dtype == np.int64
    np.testing.assert_allclose(vis, [0.1, 1.0])
    assert tlwh.shape == (2, 4)
    assert gt[2][1].tolist() == [9]
    visible = ground_truth_by_frame(rows, min_visibility=0.5)
    assert visible[1][1].tolist() == [5] and visible[2][1].tolist() == [9]
    everything = ground_truth_by_frame(rows, classes=None)
    assert everything[1][1].tolist() == [2, 4, 5, 6]
    # also accepts a path
    path = _write(tmp_path / "gt.txt", "3,1,1,2,3,4,1,1,1\n")
    assert ground_truth_by_frame(path)[3][1].tolist() == [1]


# ---------------------------------------------------------------- results


def test_write_results_format_and_order(tmp_path):
    rows = [(2, 7, 1.0, 2.0, 3.0, 4.0, 0.5), (1, 9, 10.126, 20, 30, 40, 1.0), (1, 3, 0, 0, 1, 1, 0.25)]
    path = tmp_path / "sub" / "seq.txt"
    assert write_results(path, rows) == 3
    assert path.read_text().splitlines() == [
        "1,3,0.00,0.00,1.00,1.00,0.2500,-1,-1,-1",
        "1,9,10.13,20.00,30.00,40.00,1.0000,-1,-1,-1",
        "2,7,1.00,2.00,3.00,4.00,0.5000,-1,-1,-1",
    ]
    back = read_results(path)
    assert back.shape == (3, 7)
    np.testing.assert_allclose(back[:, :2], [[1, 3], [1, 9], [2, 7]])


def test_write_results_empty_and_invalid(tmp_path):
    path = tmp_path / "empty.txt"
    assert write_results(path, []) == 0
    assert path.read_text() == "" and read_results(path).shape == (0, 7)
    for bad, needle in [([(0, 1, 0, 0, 1, 1, 1)], "frame numbers"),
                        ([(1.5, 1, 0, 0, 1, 1, 1)], "frame numbers"),
                        ([(1, 1.5, 0, 0, 1, 1, 1)], "track ids"),
                        ([(1, 1, math.nan, 0, 1, 1, 1)], "non-finite"),
                        ([(1, 1, 0, 0, 1)], "7 values")]:
        with pytest.raises(ValueError, match=needle) as err:
            write_results(tmp_path / "bad.txt", bad)
        assert "bad.txt" in str(err.value)


def test_read_results_six_columns(tmp_path):
    path = _write(tmp_path / "r.txt", "2 4 1 2 3 4\n1 5 1 2 3 4\n")  # whitespace separated, no score
    np.testing.assert_allclose(read_results(path), [[1, 5, 1, 2, 3, 4, 1], [2, 4, 1, 2, 3, 4, 1]])


def test_snapshot_rows_converts_xyxy():
    rows = snapshot_rows(4, np.array([3, 8]), np.array([[10, 20, 40, 80], [0, 0, 5, 5]]), np.array([0.9, 0.1]))
    np.testing.assert_allclose(rows, [[4, 3, 10, 20, 30, 60, 0.9], [4, 8, 0, 0, 5, 5, 0.1]])
    assert snapshot_rows(1, np.zeros(0), np.zeros((0, 4))).shape == (0, 7)
    with pytest.raises(ValueError, match="frame 2"):
        snapshot_rows(2, np.array([1, 2]), np.zeros((1, 4)))


_row = st.tuples(st.integers(1, 5000), st.integers(0, 10**6),
                 *[st.floats(-1e4, 1e4, allow_nan=False) for _ in range(4)], st.floats(0, 1))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(_row, max_size=30))
def test_results_roundtrip_property(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("rt") / "r.txt"
    write_results(path, rows)
    back = read_results(path)
    expected = np.array(rows, dtype=np.float64).reshape(-1, 7)
    expected = expected[np.lexsort((expected[:, 1], expected[:, 0]))]
    np.testing.assert_array_equal(back[:, :2], expected[:, :2])
    np.testing.assert_allclose(back[:, 2:6], expected[:, 2:6], atol=0.0051)
    np.testing.assert_allclose(back[:, 6], expected[:, 6], atol=5.1e-5)
