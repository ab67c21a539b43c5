"""The identity node on real DDS: two camera pipelines and one identity node replayed in
lockstep (``make eval-multicam``), the identity node and one tracker stopped and started again
mid-sequence (people keep their global ids: the gallery is saved at shutdown and loaded at
start), and the list / enrol / forget services."""
from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from reid_tracker_ros.graph import identity_spec
from reid_tracker_ros.identity import load
from reid_tracker_ros.mot.io import read_ground_truth
from reid_tracker_ros.mot.multicam import MultiCamConfig, render_multicam
from reid_tracker_ros.runner import GraphRunner
from reid_tracker_ros.tools import eval_multicam
from reid_tracker_ros.topics import IDENTITY_SERVICES

FRAMES = 120


@pytest.fixture(scope="module")
def cameras(tmp_path_factory):
    cfg = MultiCamConfig(frames=FRAMES, people=6, overlap=0.5, gap_m=0.0)
    return render_multicam(tmp_path_factory.mktemp("mcnode"), "MCN", cfg, seed=5)


def test_two_cameras_share_identities_and_keep_them_across_a_restart(cameras, tmp_path, capsys):
    code = eval_multicam.main(["--seq", *map(str, cameras), "--out", str(tmp_path), "--restart-at", "60",
                               "--no-progress"])
    out = capsys.readouterr()
    assert code == 0, out.err + out.out
    result = json.loads(out.out.strip().splitlines()[-1])
    for key in ("cameras", "frames", "frames_dropped", "per_camera", "HOTA_global", "IDF1_global",
                "IDF1_global_no_sharing"):
        assert key in result
    assert result["frames"] == 2 * FRAMES and result["frames_dropped"] == 0
    assert set(result["per_camera"]) == {"MCN-cam1", "MCN-cam2"}
    assert all(set(m) == {"HOTA", "IDF1", "MOTA", "IDSW"} for m in result["per_camera"].values())
    # sharing identities beats each camera keeping its own (people walk from one view into the other)
    assert result["IDF1_global"] > result["IDF1_global_no_sharing"], result
    restart = result["restart"]
    assert restart["nodes"] == ["identity", "cam1.tracker"]
    assert restart["people_across"] >= 2 and restart["kept_global_id"] == restart["people_across"], restart
    log = (tmp_path / "logs" / "identity.log").read_text()
    assert "restarted (exit code 0)" in log and "identities" in log  # loaded the saved gallery
    assert "threshold 0.04" in log  # the default model's, from its metadata
    saved = load(tmp_path / "gallery.npz")
    assert len(saved["global_ids"]) >= 2 and set(saved["link_cameras"]) <= {"cam1", "cam2"}


def _crops(seq, person: int, n: int, folder):
    """Crops of one person from a camera's frames (the enrolment folder a user would make)."""
    gt = read_ground_truth(seq / "gt" / "gt.txt")
    rows = gt[(gt[:, 1] == person) & (gt[:, 8] > 0.8)]
    folder.mkdir(parents=True)
    for r in rows[:: max(1, len(rows) // n)][:n]:
        img = cv2.imread(str(seq / "img1" / f"{int(r[0]):06d}.jpg"))
        x, y, w, h = (int(round(v)) for v in r[2:6])
        cv2.imwrite(str(folder / f"{int(r[0]):06d}.png"), img[max(y, 0):y + h, max(x, 0):x + w])
    return folder


def _call(node, srv_type, name, request, timeout=60.0):
    import rclpy

    client = node.create_client(srv_type, name)
    assert client.wait_for_service(timeout_sec=timeout), f"{name} not offered"
    future = client.call_async(request)
    deadline = time.monotonic() + timeout
    while not future.done() and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    assert future.done(), f"{name}: no answer"
    node.destroy_client(client)
    return future.result()


def test_enrol_list_and_forget_persist(cameras, tmp_path, ros_context):
    import rclpy
    from reid_msgs.srv import EnrolIdentity, ForgetIdentity, ListIdentities

    gt = read_ground_truth(cameras[0] / "gt" / "gt.txt")
    person = int(np.bincount(gt[gt[:, 8] > 0.8, 1].astype(int)).argmax())
    folder = _crops(cameras[0], person, 8, tmp_path / "alice")
    path = tmp_path / "gallery.npz"
    spec = identity_spec(overrides={"gallery_path": str(path)})
    node = rclpy.create_node("identity_service_probe")
    runner = GraphRunner([spec], tmp_path / "logs").start()
    try:
        bad = _call(node, EnrolIdentity, IDENTITY_SERVICES["enrol"],
                    EnrolIdentity.Request(name="nobody", folder=str(tmp_path / "missing")))
        assert not bad.success and "missing" in bad.message
        res = _call(node, EnrolIdentity, IDENTITY_SERVICES["enrol"],
                    EnrolIdentity.Request(name="alice", folder=str(folder)))
        assert res.success and res.global_id == 1 and res.crops == 8, res.message
        listed = _call(node, ListIdentities, IDENTITY_SERVICES["list"], ListIdentities.Request())
        assert list(listed.global_ids) == [1] and list(listed.names) == ["alice"]
        assert list(load(path)["names"]) == ["alice"]  # saved at once
        runner.restart(["identity"])
        listed = _call(node, ListIdentities, IDENTITY_SERVICES["list"], ListIdentities.Request())
        assert list(listed.names) == ["alice"]  # loaded again after the restart
        gone = _call(node, ForgetIdentity, IDENTITY_SERVICES["forget"], ForgetIdentity.Request(name="alice"))
        assert gone.success
        assert len(_call(node, ListIdentities, IDENTITY_SERVICES["list"], ListIdentities.Request()).global_ids) == 0
        assert len(load(path)["global_ids"]) == 0  # forgotten on disk too (privacy)
        again = _call(node, ForgetIdentity, IDENTITY_SERVICES["forget"], ForgetIdentity.Request(global_id=1))
        assert not again.success and "no identity" in again.message
    finally:
        node.destroy_node()
        codes = runner.stop()
    assert codes == {"identity": 0}, codes
