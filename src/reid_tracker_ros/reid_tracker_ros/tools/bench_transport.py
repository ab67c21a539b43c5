"""Image transport between two nodes in two processes: latency p50/p95 and losses.

    python -m reid_tracker_ros.tools.bench_transport --width 960 --height 540 --rate 30 --count 300

Publishes rgb8 images (reliable QoS, like the evaluation path) from this process to a
subscriber process started here, both with the Fast DDS profile of ``--profile``
(``local``: shared memory only; ``robot``: shared memory + UDP; ``none``: Fast DDS's default
transports, UDP + a 512 KB shared-memory segment), and reports the publish-to-callback
latency from the stamps. Last line: one JSON object.

Every packet stays on this host: for ``robot`` and ``none`` the UDP transport is restricted
to the loopback interface (a generated copy of the profile), so no discovery multicast or
data reaches the machine's network interfaces.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

_LOOPBACK_UDP = ("<transport_descriptor><transport_id>{id}</transport_id><type>UDPv4</type>"
                 "<interfaceWhiteList><address>127.0.0.1</address></interfaceWhiteList></transport_descriptor>")
_DEFAULTS_ON_LOOPBACK = """<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns="http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"><profiles>
  <transport_descriptors>
    <transport_descriptor><transport_id>shm_default</transport_id><type>SHM</type></transport_descriptor>
    {udp}
  </transport_descriptors>
  <participant profile_name="defaults_on_loopback" is_default_profile="true"><rtps>
    <useBuiltinTransports>false</useBuiltinTransports>
    <userTransports><transport_id>shm_default</transport_id><transport_id>udp_loopback</transport_id></userTransports>
  </rtps></participant>
</profiles></dds>
"""

BENCH_TOPIC = "bench_image"  # this benchmark's own topic, apart from the graph's


def loopback_profile(profile: str, out_dir: str) -> str:
    """Path of a Fast DDS profile for ``profile`` whose UDP (if any) only uses 127.0.0.1."""
    from ..graph import dds_profile

    path = os.path.join(out_dir, f"bench_{profile}.xml")
    if profile == "local":
        return str(dds_profile("local"))
    if profile == "none":
        text = _DEFAULTS_ON_LOOPBACK.format(udp=_LOOPBACK_UDP.format(id="udp_loopback"))
    else:
        text = dds_profile("robot").read_text().replace(
            "<transport_id>reid_udp</transport_id>\n        <type>UDPv4</type>",
            "<transport_id>reid_udp</transport_id>\n        <type>UDPv4</type>\n"
            "        <interfaceWhiteList><address>127.0.0.1</address></interfaceWhiteList>")
        if "interfaceWhiteList" not in text:
            raise RuntimeError("could not restrict the robot profile's UDP transport to loopback")
    with open(path, "w") as fh:
        fh.write(text)
    return path


def _subscriber(count: int, timeout_s: float) -> None:
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    from ..ros.qos import data_qos

    rclpy.init()
    node = Node("bench_transport_sub")
    lat: list[float] = []

    def on_image(msg: Image) -> None:
        sent = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        lat.append((time.time_ns() - sent) / 1e6)

    node.create_subscription(Image, BENCH_TOPIC, on_image, data_qos(10))
    deadline = time.monotonic() + timeout_s
    while len(lat) < count and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    print(json.dumps({"received": len(lat), "latency_ms": lat}), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--width", type=int, default=960)
    p.add_argument("--height", type=int, default=540)
    p.add_argument("--rate", type=float, default=30.0, help="images per second")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--profile", choices=("local", "robot", "none"), default="local")
    p.add_argument("--_subscriber", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._subscriber:
        _subscriber(args.count, timeout_s=args.count / args.rate + 30)
        return 0
    import tempfile

    from ..graph import environment

    tmp = tempfile.mkdtemp(prefix="bench_transport_")
    env = {**os.environ, **environment("local"), "FASTRTPS_DEFAULT_PROFILES_FILE": loopback_profile(args.profile, tmp)}
    env.setdefault("ROS_DOMAIN_ID", str(np.random.default_rng().integers(120, 220)))
    for var in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOCALHOST_ONLY", "ROS_STATIC_PEERS"):
        env.pop(var, None)
    os.environ.clear()
    os.environ.update(env)
    sub = subprocess.Popen([sys.executable, "-m", "reid_tracker_ros.tools.bench_transport", "--_subscriber",
                            "--count", str(args.count), "--rate", str(args.rate)], stdout=subprocess.PIPE,
                           text=True, env=os.environ.copy())
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    from ..ros.qos import data_qos

    rclpy.init()
    node = Node("bench_transport_pub")
    pub = node.create_publisher(Image, BENCH_TOPIC, data_qos(10))
    deadline = time.monotonic() + 30
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    data = np.random.default_rng(0).integers(0, 255, (args.height, args.width, 3), np.uint8).tobytes()
    msg = Image(height=args.height, width=args.width, encoding="rgb8", step=3 * args.width)
    msg.data = data  # bytes: assigning an ndarray would copy element by element
    start = time.monotonic()
    for k in range(args.count):
        due = start + k / args.rate
        time.sleep(max(0.0, due - time.monotonic()))  # one sleep: a busy wait would steal the subscriber's core
        now = time.time_ns()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(now, 1_000_000_000)
        pub.publish(msg)
    out, _ = sub.communicate(timeout=args.count / args.rate + 60)
    node.destroy_node()
    rclpy.shutdown()
    res = json.loads(out.strip().splitlines()[-1])
    lat = np.asarray(res["latency_ms"])
    summary = {"profile": args.profile, "size": f"{args.width}x{args.height}", "rate_hz": args.rate,
               "sent": args.count, "received": res["received"], "lost": args.count - res["received"],
               "p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
               "p95_ms": float(np.percentile(lat, 95)) if lat.size else None}
    print(f"{summary['size']} rgb8 at {args.rate:g} Hz, profile {args.profile}: "
          f"p50 {summary['p50_ms']:.2f} ms  p95 {summary['p95_ms']:.2f} ms  lost {summary['lost']}/{args.count}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
