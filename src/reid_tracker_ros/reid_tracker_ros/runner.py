"""Start the graph of :mod:`reid_tracker_ros.graph` as local processes (no ``launch`` needed).

Each node runs as ``python -m <module> --ros-args ...`` with the same parameter files,
overrides and remappings a launch file would give it, its output in a log file per node.
Used by the evaluator, the demo and the integration tests; ``run_graph`` is its CLI.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .graph import NodeSpec, environment, multicam_pipeline, pipeline
from .topics import DEFAULT_IMAGE_TOPIC


def ros_arguments(spec: NodeSpec) -> list[str]:
    """The --ros-args a launch_ros Node action would produce for this spec."""
    args = ["--ros-args", "-r", f"__node:={spec.name}"]
    if spec.namespace:
        args += ["-r", f"__ns:=/{spec.namespace.strip('/')}"]
    for f in spec.param_files:
        args += ["--params-file", f]
    for key, value in spec.overrides.items():
        args += ["-p", f"{key}:={json.dumps(value) if not isinstance(value, str) else value}"]
    for src, dst in spec.remappings:
        args += ["-r", f"{src}:={dst}"]
    return args


class GraphRunner:
    """Runs node processes; ``with GraphRunner(specs) as g:`` stops them on exit."""

    def __init__(self, specs: list[NodeSpec], log_dir: str | os.PathLike, profile: str = "local",
                 extra_env: dict[str, str] | None = None) -> None:
        self.specs = specs
        self.log_dir = Path(log_dir)
        # REID_LAUNCHER_PID: a node that starts after this process died ends itself (node_runtime)
        self.env = {**os.environ, **environment(profile), "REID_LAUNCHER_PID": str(os.getpid()), **(extra_env or {})}
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, object] = {}

    def start(self) -> "GraphRunner":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.specs:
            self._start(spec, "w")
        return self

    def _start(self, spec: NodeSpec, mode: str) -> None:
        log = open(self.log_dir / f"{spec.key}.log", mode)
        self._logs[spec.key] = log
        cmd = [sys.executable, "-u", "-m", spec.module, *ros_arguments(spec)]
        self.procs[spec.key] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                                 start_new_session=True)

    def restart(self, keys: list[str], timeout: float = 10.0) -> dict[str, int]:
        """Stop the nodes ``keys`` (SIGINT, as Ctrl-C would; SIGKILL after ``timeout``) and
        start them again with the same command line; their logs go on. Returns the exit codes."""
        specs = {s.key: s for s in self.specs}
        unknown = [k for k in keys if k not in specs]
        if unknown:
            raise ValueError(f"cannot restart {unknown}: the graph has {sorted(specs)}")
        codes = {}
        for key in keys:
            proc = self.procs[key]
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            codes[key] = proc.returncode
            self._logs[key].write(f"\n--- restarted (exit code {proc.returncode}) ---\n")
            self._logs[key].close()
            self._start(specs[key], "a")
        return codes

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace").splitlines() if path.exists() else []
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        """Raise RuntimeError with the node's last log lines if any node process has exited."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"node '{name}' exited with code {proc.returncode}; its log "
                                   f"({self.log_dir / (name + '.log')}) ends with:\n{self.log_tail(name)}")

    def stop(self, timeout: float = 5.0, sig: int = signal.SIGINT) -> dict[str, int]:
        """Signal every running node (SIGINT, or ``sig``), wait up to ``timeout`` s, SIGKILL the
        rest. Returns each node's exit code (0: clean; negative: killed by that signal)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in self._logs.values():
            log.close()
        return {name: proc.returncode for name, proc in self.procs.items()}

    def __enter__(self) -> "GraphRunner":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start detector -> embedder -> tracker without ros2 launch.")
    parser.add_argument("--config", action="append", default=[], help="extra parameter YAML (repeatable)")
    parser.add_argument("--image", default=None,
                        help=f"input image topic (default {DEFAULT_IMAGE_TOPIC}; with --cameras: image_raw in each "
                             "camera's namespace)")
    parser.add_argument("--cameras", default="",
                        help="comma-separated camera names: one pipeline per camera in its namespace plus one "
                             "identity node (global ids), as multicam.launch.py starts them")
    parser.add_argument("--detector", choices=("ultralytics", "public"), help="detector backend override")
    parser.add_argument("--tracker", help="tracker strategy override")
    parser.add_argument("--profile", choices=("robot", "local"), default="robot",
                        help="Fast DDS profile: robot (SHM+UDP) or local (SHM only, this host)")
    parser.add_argument("--log-dir", default="runs/graph-logs")
    args = parser.parse_args(argv)
    cameras = [c.strip() for c in args.cameras.split(",") if c.strip()]
    if cameras:
        specs = multicam_pipeline(cameras, args.config or ["default.yaml"], image_topic=args.image or "image_raw",
                                  with_visualizer=False, detector_backend=args.detector, tracker=args.tracker)
    else:
        specs = pipeline(args.config or ["default.yaml"], image_topic=args.image or DEFAULT_IMAGE_TOPIC,
                         detector_backend=args.detector, tracker=args.tracker)
    stop_requested: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C or a service manager: stop the nodes cleanly
        signal.signal(sig, lambda signum, _frame: stop_requested.append(signum))
    runner = GraphRunner(specs, args.log_dir, profile=args.profile).start()
    print(f"started {', '.join(s.key for s in specs)}; logs in {args.log_dir}; Ctrl-C stops", flush=True)
    code = 0
    try:
        while not stop_requested:
            runner.check_alive()
            time.sleep(0.2)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        code = 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the stop
        codes = runner.stop()
    unclean = {name: rc for name, rc in codes.items() if rc != 0}
    if unclean and not code:
        print(f"nodes that did not exit cleanly (exit codes): {unclean}", file=sys.stderr)
        code = 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
