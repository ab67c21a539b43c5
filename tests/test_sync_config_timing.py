"""Pure helpers around the nodes: stamp pairing, parameter schema/YAML, stage timing."""
from __future__ import annotations

import pytest
import yaml

from reid_tracker_ros.config import PARAMETER_SCHEMA, load_node_parameters, validated_parameters
from reid_tracker_ros.mot.timing import StageClock, throughput_fps
from reid_tracker_ros.sync import ExactStampPairer


def test_pairer_pairs_in_any_order_and_bounds_memory():
    p: ExactStampPairer[str, str] = ExactStampPairer(capacity=3)
    assert p.add_a(1, "img1") is None
    assert p.add_b(1, "det1") == ("img1", "det1")
    assert p.add_b(2, "det2") is None
    assert p.add_a(2, "img2") == ("img2", "det2")
    for s in range(10, 16):  # images whose detections never come
        assert p.add_a(s, f"img{s}") is None
    assert p.waiting == (3, 0)
    assert p.stats.dropped_a == 3 and p.stats.paired == 2
    assert p.add_b(15, "det15") == ("img15", "det15")  # the newest survived
    assert p.add_b(10, "det10") is None  # the oldest was dropped
    p.add_b(10, "det10-again")
    assert p.stats.duplicates_b == 1


def test_pairer_rejects_zero_capacity():
    with pytest.raises(ValueError, match="capacity"):
        ExactStampPairer(0)


def test_default_config_covers_the_schema_exactly():
    for node in PARAMETER_SCHEMA:
        values = load_node_parameters(node)
        assert validated_parameters(node, values)  # raises on unknown/missing/invalid


def test_eval_config_overrides_defaults():
    merged = load_node_parameters("detector", ["default.yaml", "mot_eval.yaml"])
    assert merged["backend"] == "public" and merged["image_qos"] == "reliable"


def test_validation_names_the_bad_parameter(tmp_path):
    values = load_node_parameters("tracker")
    with pytest.raises(ValueError, match="max_cosine_distance"):
        validated_parameters("tracker", {**values, "max_cosine_distance": 5.0})
    with pytest.raises(ValueError, match="bogus"):
        validated_parameters("tracker", {**values, "bogus": 1})
    with pytest.raises(ValueError, match="n_init"):
        validated_parameters("tracker", {**values, "n_init": "three"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("detector: [unclosed")
    with pytest.raises(ValueError, match="bad.yaml"):
        load_node_parameters("detector", [bad])
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_node_parameters("detector", ["nope.yaml"])


def test_yaml_files_are_ros_parameter_files(repo_root):
    for path in (repo_root / "config").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        for node, section in doc.items():
            assert set(section) == {"ros__parameters"}, f"{path.name}:{node}"


def test_stage_latency_and_fps():
    clock = StageClock()
    for k in range(10):
        t0 = float(k)
        clock.mark("published", k, t0)
        clock.mark("detections", k, t0 + 0.010)
        clock.mark("embedded_detections", k, t0 + 0.030)
        clock.mark("tracks", k, t0 + 0.031)
        clock.mark("tracks_detected", k, t0 + 0.031)  # a DETECTED answer is both
    clock.mark("tracks", 0, 99.0)  # a duplicate does not rewrite the first arrival
    lat = clock.latency_ms()
    assert lat["detector"]["p50"] == pytest.approx(10.0)
    assert lat["embedder"]["p50"] == pytest.approx(20.0)
    assert lat["tracker"]["p50"] == pytest.approx(1.0)
    assert lat["end_to_end"]["n"] == 10
    assert lat["end_to_end_detected"]["p50"] == pytest.approx(31.0)
    assert throughput_fps(clock.times["published"], clock.times["tracks"]) == pytest.approx(10 / 9.031)
    assert throughput_fps({}, {}) is None


def test_stage_latency_with_predicted_first_answers():
    """A live graph answers a frame first with a prediction, later with its detections: the
    end-to-end latency is the first answer's, the tracker stage's is the DETECTED one's."""
    clock = StageClock()
    clock.mark("published", 1, 0.0)
    clock.mark("tracks", 1, 0.050)  # PREDICTED after the budget
    clock.mark("embedded_detections", 1, 0.080)
    clock.mark("tracks_detected", 1, 0.082)
    lat = clock.latency_ms()
    assert lat["end_to_end"]["p50"] == pytest.approx(50.0)
    assert lat["end_to_end_detected"]["p50"] == pytest.approx(82.0)
    assert lat["tracker"]["p50"] == pytest.approx(2.0)


def test_newer_detections_supersede_images_the_detector_skipped():
    p: ExactStampPairer[str, str] = ExactStampPairer(capacity=10, b_supersedes_older_a=True)
    for s in (1, 2, 3, 4):
        p.add_a(s, f"img{s}")
    assert p.add_b(3, "det3") == ("img3", "det3")
    assert p.stats.skipped_a == 2 and p.stats.dropped_a == 0  # 1 and 2 were skipped, not lost
    assert p.waiting == (1, 0)  # image 4 still waits for its detections
    assert p.add_b(4, "det4") == ("img4", "det4")


def test_typos_in_parameter_files_are_caught_before_the_nodes_start(tmp_path):
    from reid_tracker_ros.graph import pipeline

    typo = tmp_path / "mine.yaml"
    typo.write_text("/**/detector:\n  ros__parameters:\n    confidance: 0.5\n")
    with pytest.raises(ValueError, match=r"mine.yaml: unknown detector parameter\(s\) \['confidance'\]"):
        pipeline([str(typo)])
    good = tmp_path / "default.yaml"  # a user file that happens to be called default.yaml is used
    good.write_text("/**/tracker:\n  ros__parameters:\n    max_age: 5\n")
    specs = pipeline([str(good)])
    assert str(good) in specs[2].param_files and len(specs[2].param_files) == 2
    with pytest.raises(FileNotFoundError, match="elsewhere/mot_eval.yaml"):
        pipeline([str(tmp_path / "elsewhere" / "mot_eval.yaml")])  # no silent fallback to config/


def test_readme_documents_every_parameter_with_its_default(repo_root):
    """The configuration reference in the README must stay true to the schema and default.yaml."""
    readme = (repo_root / "README.md").read_text()
    for node, specs in PARAMETER_SCHEMA.items():
        section = readme.split(f"**{node}**", 1)[1].split("\n\n", 2)[1]
        values = load_node_parameters(node)
        for spec in specs:
            value = values[spec.name]
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            assert f"| `{spec.name}` | `{shown}` |" in section, f"README: {node}.{spec.name} = {shown}"
