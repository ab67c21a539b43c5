"""Synthetic MOTChallenge generator: folder layout, determinism, scene properties, CLI."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from reid_tracker_ros.mot.io import frame_paths, read_detections, read_ground_truth, read_seqinfo
from reid_tracker_ros.mot.persons import make_appearance
from reid_tracker_ros.mot.synthetic import generate_sequence, main, render_person

SMALL = dict(frames=20, width=320, height=240, n_people=5)


@pytest.fixture(scope="module")
def small_seq(tmp_path_factory):
    return generate_sequence(tmp_path_factory.mktemp("synth"), name="SYN-A", seed=1, **SMALL)


def test_layout_and_seqinfo(small_seq):
    assert small_seq.name == "SYN-A"
    info = read_seqinfo(small_seq)
    assert (info.name, info.seq_length, info.im_width, info.im_height, info.frame_rate) == ("SYN-A", 20, 320, 240, 30.0)
    paths = frame_paths(info)
    assert all(p.is_file() for p in paths)
    img = cv2.imread(str(paths[-1]))
    assert img.shape == (240, 320, 3)
    assert img.std() > 10  # textured, not a flat colour


def test_ground_truth_mot16_style(small_seq):
    gt = read_ground_truth(small_seq / "gt" / "gt.txt")
    assert len(gt) > 20
    raw = (small_seq / "gt" / "gt.txt").read_text().splitlines()
    assert all(len(line.split(",")) == 9 for line in raw)
    assert set(gt[:, 6]) == {1.0} and set(gt[:, 7]) == {1.0}
    assert ((gt[:, 8] >= 0) & (gt[:, 8] <= 1)).all()
    assert set(gt[:, 1].astype(int)) <= set(range(1, 6))
    assert gt[:, 0].min() >= 1 and gt[:, 0].max() <= 20
    assert (gt[:, 4] > 0).all() and (gt[:, 5] > 0).all()
    # one row per id and frame
    keys = gt[:, 0] * 1000 + gt[:, 1]
    assert len(np.unique(keys)) == len(keys)
    # every box overlaps the image
    assert ((gt[:, 2] < 320) & (gt[:, 2] + gt[:, 4] > 0) & (gt[:, 3] < 240) & (gt[:, 3] + gt[:, 5] > 0)).all()


def test_detections_are_noisy_copies(small_seq):
    gt = read_ground_truth(small_seq / "gt" / "gt.txt")
    dets = read_detections(small_seq / "det" / "det.txt")
    assert dets.skipped == 0
    n_det = sum(len(s) for _, s in dets.values())
    assert 0.5 * len(gt) < n_det < 1.5 * len(gt)
    raw = (small_seq / "det" / "det.txt").read_text().splitlines()
    assert all(line.split(",")[1] == "-1" and len(line.split(",")) == 10 for line in raw)
    for _, scores in dets.values():
        assert ((scores > 0) & (scores < 1)).all()
    # most detections overlap some gt box of their frame well
    good = total = 0
    for f, (boxes, _) in dets.items():
        g = gt[gt[:, 0] == f][:, 2:6]
        for b in boxes:
            total += 1
            x1 = np.maximum(b[0], g[:, 0])
            y1 = np.maximum(b[1], g[:, 1])
            x2 = np.minimum(b[0] + b[2], g[:, 0] + g[:, 2])
            y2 = np.minimum(b[1] + b[3], g[:, 1] + g[:, 3])
            inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
            iou = inter / (b[2] * b[3] + g[:, 2] * g[:, 3] - inter)
            good += bool(len(iou) and iou.max() > 0.5)
    assert good / total > 0.7


def test_deterministic_and_seed_dependent(tmp_path, small_seq):
    again = generate_sequence(tmp_path / "a", name="SYN-A", seed=1, **SMALL)
    for rel in ("gt/gt.txt", "det/det.txt", "seqinfo.ini", "img1/000007.jpg"):
        assert (again / rel).read_bytes() == (small_seq / rel).read_bytes(), rel
    other = generate_sequence(tmp_path / "b", name="SYN-A", seed=2, **SMALL)
    assert (other / "gt/gt.txt").read_text() != (small_seq / "gt/gt.txt").read_text()
    # detection noise has its own random stream: the scene does not change with it
    noisy = generate_sequence(tmp_path / "c", name="SYN-A", seed=1, det_noise=0.2, fp_rate=2.0, **SMALL)
    assert (noisy / "gt/gt.txt").read_text() == (small_seq / "gt/gt.txt").read_text()
    assert (noisy / "det/det.txt").read_text() != (small_seq / "det/det.txt").read_text()


def test_scene_has_perspective_occlusion_and_reentry(tmp_path):
    # low fps: 120 frames cover 12 s of walking, enough to leave and come back
    seq = generate_sequence(tmp_path, frames=120, width=320, height=180, n_people=8, seed=0, fps=10)
    gt = read_ground_truth(seq / "gt" / "gt.txt")
    # perspective: height grows with the foot row (ground plane below the horizon at 30 %)
    bottom, height = gt[:, 3] + gt[:, 5], gt[:, 5]
    assert np.corrcoef(bottom - 0.3 * 180, height)[0, 1] > 0.9
    # occlusion and border truncation lower visibility
    assert (gt[:, 8] < 0.8).mean() > 0.02
    assert (gt[:, 8] > 0.99).mean() > 0.5
    # someone leaves the view and comes back later with the same id
    gaps = [np.diff(gt[gt[:, 1] == i, 0]).max() for i in np.unique(gt[:, 1]) if (gt[:, 1] == i).sum() > 1]
    assert max(gaps) > 1
    # people enter during the sequence
    first_seen = [gt[gt[:, 1] == i, 0].min() for i in np.unique(gt[:, 1])]
    assert max(first_seen) > 1


def test_camera_jitter_shifts_boxes_consistently(tmp_path):
    args = dict(frames=15, width=320, height=240, n_people=6, seed=4, n_props=0)
    still = read_ground_truth(generate_sequence(tmp_path / "s", camera_jitter=0.0, **args) / "gt/gt.txt")
    shaky = read_ground_truth(generate_sequence(tmp_path / "j", camera_jitter=3.0, **args) / "gt/gt.txt")
    shifts = []
    for f in range(1, 16):
        a, b = still[still[:, 0] == f], shaky[shaky[:, 0] == f]
        common = np.intersect1d(a[:, 1], b[:, 1])
        assert len(common) > 0
        da = a[np.isin(a[:, 1], common)][:, 2:6]
        db = b[np.isin(b[:, 1], common)][:, 2:6]
        d = db - da
        assert (d[:, 2:] == 0).all()  # same silhouettes
        assert (d[:, :2] == d[0, :2]).all()  # one shift for the whole frame
        shifts.append(d[0, :2])
    assert np.abs(np.array(shifts)).max() > 0


def test_render_person_silhouette():
    app = make_appearance(0, np.random.default_rng(0))
    patch = render_person(app, 120, 0.3, facing_right=True)
    assert patch.shape[0] == 120 and patch.shape[2] == 4
    alpha = patch[..., 3] > 0
    assert alpha[-4:].any() and alpha[:4].any()  # feet at the bottom, head at the top
    assert 0.2 < alpha.mean() < 0.7
    mirrored = render_person(app, 120, 0.3, facing_right=False)
    np.testing.assert_array_equal(mirrored, patch[:, ::-1])
    colours = {tuple(c) for c in patch[alpha][:, :3]}
    assert len(colours) >= 4  # skin, hair, shirt, trousers, shoes...


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match="frames"):
        generate_sequence(tmp_path, frames=0)
    with pytest.raises(ValueError, match="miss_rate"):
        generate_sequence(tmp_path, frames=2, miss_rate=1.5)
    with pytest.raises(ValueError, match="32x32"):
        generate_sequence(tmp_path, frames=2, width=32, height=32)


def test_cli_prints_folder(tmp_path, capsys):
    main([str(tmp_path), "--frames", "3", "--width", "160", "--height", "120", "--people", "2",
          "--seed", "5", "--name", "CLI-1"])
    out = capsys.readouterr().out.strip()
    assert out == str(tmp_path / "CLI-1")
    assert read_seqinfo(out).seq_length == 3
    assert len(list((tmp_path / "CLI-1" / "img1").glob("*.jpg"))) == 3


def test_contact_sheet_draws_the_results(tmp_path):
    """The demo's picture: tiles of evenly spaced frames with each result box drawn in its id colour."""
    import cv2

    from reid_tracker_ros.mot.io import read_ground_truth, write_results
    from reid_tracker_ros.tools.contact_sheet import contact_sheet
    from reid_tracker_ros.visualization.colours import id_colour

    seq = generate_sequence(tmp_path, name="SHEET", frames=8, width=320, height=240, n_people=3, seed=1)
    gt = read_ground_truth(seq / "gt" / "gt.txt")
    results = tmp_path / "res.txt"
    write_results(results, np.column_stack([gt[:, :6], np.ones(len(gt))]))
    sheet = contact_sheet(seq, results, tmp_path / "sheet.png", frames=4, columns=2, tile_width=320)  # no resize
    img = cv2.imread(str(sheet))
    assert img.shape == (2 * 240, 2 * 320, 3)
    colours = {id_colour(int(i)) for i in gt[:, 1]}
    drawn = {tuple(int(c) for c in px) for px in img.reshape(-1, 3)}
    assert colours & drawn  # at least one id's colour appears: the boxes were drawn
    assert len({id_colour(i) for i in range(1, 50)}) == 49  # distinct colours for distinct ids


# --------------------------------------------------------------------------------------------
# persons.py: the appearance model shared with the ReID training data


def test_lookalikes_differ_in_exactly_one_detail():
    from dataclasses import asdict

    from reid_tracker_ros.mot.persons import LOOKALIKE_DETAILS, make_appearance, make_lookalike

    rng = np.random.default_rng(0)
    fields_of = {"bag": {"bag", "bag_color"}, "logo": {"pattern", "shirt2"}, "stripes": {"pattern", "shirt2"},
                 "shoes": {"shoes"}, "hat": {"hat"}, "back_print": {"back_print"}}
    for i, detail in enumerate(LOOKALIKE_DETAILS * 3):
        base = make_appearance(i, rng)
        twin, got = make_lookalike(base, rng, detail)
        assert got == detail
        changed = {k for k, v in asdict(base).items() if asdict(twin)[k] != v} - {"height_m", "width_factor"}
        assert changed and changed <= fields_of[detail], (detail, changed)
    with pytest.raises(ValueError, match="detail"):
        make_lookalike(base, rng, "scarf")


def test_population_records_lookalike_origins():
    from reid_tracker_ros.mot.persons import make_population

    apps, origins = make_population(40, np.random.default_rng(1), lookalike_fraction=0.5)
    assert len(apps) == len(origins) == 40 and origins[0] is None
    twins = [(i, o) for i, o in enumerate(origins) if o is not None]
    assert 10 <= len(twins) <= 30
    assert all(j < i for i, (j, _) in twins)
    assert make_population(5, np.random.default_rng(1), 0.0)[1] == [None] * 5


def test_front_and_back_views_show_different_details():
    from dataclasses import replace

    from reid_tracker_ros.mot.persons import make_appearance

    app = replace(make_appearance(3, np.random.default_rng(2)), pattern="plain", bag="none", back_print=None,
                  hat=None)
    logo = replace(app, pattern="logo", shirt2=(0, 0, 255, 255))
    printed = replace(app, back_print=(255, 0, 0, 255))
    views = {v: render_person(app, 160, 0.5, view=v) for v in ("front", "back", "side")}
    assert all(p.shape[0] == 160 for p in views.values())
    assert not np.array_equal(views["front"], views["back"])  # the face shows only from the front
    # a chest logo shows from the front, a back print only from the back
    assert not np.array_equal(render_person(logo, 160, 0.5, view="front"), views["front"])
    np.testing.assert_array_equal(render_person(logo, 160, 0.5, view="back"), views["back"])
    assert not np.array_equal(render_person(printed, 160, 0.5, view="back"), views["back"])
    np.testing.assert_array_equal(render_person(printed, 160, 0.5, view="front"), views["front"])
    # gait: the legs move with the phase
    assert not np.array_equal(render_person(app, 160, 0.0, view="front"), render_person(app, 160, 1.5, view="front"))
    with pytest.raises(ValueError, match="view"):
        render_person(app, 100, 0.0, view="top")


def test_cached_sequences_are_remade_when_the_generator_changes(tmp_path):
    from reid_tracker_ros.mot.synthetic import GENERATOR_STAMP, is_current

    seq = generate_sequence(tmp_path, name="CACHE", frames=3, width=320, height=180, n_people=2)
    assert is_current(seq, 3) and not is_current(seq, 4)
    (seq / GENERATOR_STAMP).write_text("1\n")  # made by an older renderer
    assert not is_current(seq, 3)
    (seq / GENERATOR_STAMP).unlink()
    assert not is_current(seq, 3)
