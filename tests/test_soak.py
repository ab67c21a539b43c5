"""Short soak (``make soak`` runs 10,000 frames): frames through the real graph, memory flat,
every frame answered, and the last line of the output is the JSON summary."""
from __future__ import annotations

import json
import subprocess
import sys


def test_short_soak_answers_every_frame_with_flat_memory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "reid_tracker_ros.tools.soak", "--frames", "300", "--window", "100",
                           "--out", str(tmp_path), "--no-progress"], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(result) >= {"frames", "dropped", "rss_mb_start", "rss_mb_end", "latency_ms_p50_start",
                           "latency_ms_p50_end"}
    assert result["frames"] == 300 and result["dropped"] == 0
    # latency must not creep up over the run (a growing queue or leak shows there first); the
    # bound is generous because the test machine is shared
    start, end = result["latency_ms_p50_start"], result["latency_ms_p50_end"]
    assert end < 3 * start + 50, result
    # three node processes (torch/onnxruntime loaded): growth beyond allocator noise means a leak
    assert result["rss_mb_end"] < result["rss_mb_start"] * 1.15 + 20, result
