#!/usr/bin/env python3
"""End-to-end oracle for `fusion-node run`, built on PyPI `eclipse-zenoh`
and `rosbags`.

Three separate processes on zenoh loopback (explicit endpoints, multicast
scouting off): the node on the default launch file, `fusion-node
simulate-live` feeding it the highway scene, and this script, which
subscribes to the node's TrackedObjects and the simulator's ground truth
with the Python zenoh binding and decodes every message with rosbags' own
CDR codec (our shipped `.msg` files registered with it, as in
cdr_oracle.py). It checks that:

  - the node exits 0 after its --duration and prints its summary;
  - every output decodes completely, in `base_link`, stamped with one of
    the simulator's tick stamps, in increasing order;
  - every object is well formed (16-byte UUID, probabilities in [0, 1],
    finite 6x6 covariances, a bounding box);
  - after warm-up, the objects lie where the truth says actors are: at
    least 90 % of confirmed objects within 5 m of an actor at the same
    stamp, and every frame has objects.

    node_oracle.py FUSION_NODE_BINARY
"""

from __future__ import annotations

import math
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import zenoh

from cdr_oracle import load_typestore

ROOT = Path(__file__).resolve().parents[2]
TRACKED = "autoware_perception_msgs/msg/TrackedObjects"
OUTPUT_KEY = "fusion/tracked_objects"
TRUTH_KEY = "ground_truth/objects"
NODE_SECONDS = 14
SIM_SECONDS = 6
SIM_RATE_HZ = 10
WARMUP_FRAMES = 10
# Not an accuracy test (that is the evaluation's job): far radar-only
# objects and a sparse LiDAR's partial views sit 2-4 m from the actor's
# centre. Garbage from a mis-decoded message would be nowhere near.
MATCH_RADIUS_M = 5.0
MIN_PRECISION = 0.9
# autoware_perception_msgs/ObjectClassification labels, 0..=7.
MAX_LABEL = 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_launch(workdir: Path, port: int) -> Path:
    """launch/default.toml with [zenoh] replaced by a json5 file listening
    on 127.0.0.1:port only, and the logs kept in `workdir`. The budget is
    100 ms, not 10: this checks what the node publishes, and a step cut
    short on a loaded CI machine would restart the module and empty its
    tracks (deadlines have their own tests)."""
    text = (ROOT / "launch" / "default.toml").read_text()
    assert 'deadline = "10ms"' in text
    text = text.replace('deadline = "10ms"', 'deadline = "100ms"', 1)
    text = re.sub(r"\[zenoh\]\n(?:[^\[\n][^\n]*\n)*", '[zenoh]\nconfig = "zenoh.json5"\n\n', text, count=1)
    text = text.replace('"../logs/', '"logs/')
    (workdir / "zenoh.json5").write_text(
        '{ mode: "peer", listen: { endpoints: ["tcp/127.0.0.1:%d"] },'
        " scouting: { multicast: { enabled: false } } }" % port
    )
    path = workdir / "launch.toml"
    path.write_text(text)
    return path


class Collector:
    """Raw payloads per key, from zenoh callback threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: dict[str, list[bytes]] = {OUTPUT_KEY: [], TRUTH_KEY: []}

    def __call__(self, sample):
        with self.lock:
            self.messages[str(sample.key_expr)].append(sample.payload.to_bytes())


def stamp_ns(header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def check_object(obj, where: str) -> list[str]:
    errors = []
    if len(obj.object_id.uuid) != 16:
        errors.append(f"{where}: uuid of {len(obj.object_id.uuid)} bytes")
    if not 0.0 <= obj.existence_probability <= 1.0:
        errors.append(f"{where}: existence_probability {obj.existence_probability}")
    if not obj.classification:
        errors.append(f"{where}: no classification")
    for c in obj.classification:
        if not (0 <= c.label <= MAX_LABEL and 0.0 <= c.probability <= 1.0):
            errors.append(f"{where}: classification {c.label} {c.probability}")
    k = obj.kinematics
    for name, cov in [
        ("pose", k.pose_with_covariance.covariance),
        ("twist", k.twist_with_covariance.covariance),
        ("acceleration", k.acceleration_with_covariance.covariance),
    ]:
        if len(cov) != 36 or not all(math.isfinite(x) for x in cov):
            errors.append(f"{where}: {name} covariance not 36 finite values")
    dims = obj.shape.dimensions
    if not (dims.x > 0 and dims.y > 0 and dims.z > 0):
        errors.append(f"{where}: box {dims.x} x {dims.y} x {dims.z}")
    return errors


def main(argv: list[str]) -> int:
    binary = Path(argv[1])
    store, _ = load_typestore()
    workdir = Path(tempfile.mkdtemp(prefix="node-oracle-"))
    port = free_port()
    launch = loopback_launch(workdir, port)

    node = subprocess.Popen(
        [str(binary), "run", "--launch", str(launch), "--duration", f"{NODE_SECONDS}s"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    running = threading.Event()

    def read_stderr():
        for line in node.stderr:
            lines.append(line.rstrip())
            if "running" in line:
                running.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    if not running.wait(180):
        node.kill()
        print("node_oracle: the node did not start:\n" + "\n".join(lines), file=sys.stderr)
        return 1

    config = zenoh.Config()
    config.insert_json5("mode", '"peer"')
    config.insert_json5("connect/endpoints", f'["tcp/127.0.0.1:{port}"]')
    config.insert_json5("scouting/multicast/enabled", "false")
    collector = Collector()
    with zenoh.open(config) as session:
        subscribers = [session.declare_subscriber(k, collector) for k in (OUTPUT_KEY, TRUTH_KEY)]
        time.sleep(1.0)  # let the declarations reach the node
        sim = subprocess.run(
            [
                str(binary), "simulate-live", "--launch", str(launch),
                "--connect", f"tcp/127.0.0.1:{port}",
                "--duration", f"{SIM_SECONDS}s", "--rate", str(SIM_RATE_HZ), "--seed", "7",
            ],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )
        if sim.returncode != 0:
            node.kill()
            print(f"node_oracle: simulate-live failed:\n{sim.stderr}", file=sys.stderr)
            return 1
        try:
            status = node.wait(NODE_SECONDS + 60)
        except subprocess.TimeoutExpired:
            node.kill()
            print("node_oracle: the node did not exit after --duration", file=sys.stderr)
            return 1
        time.sleep(0.2)
        del subscribers

    errors: list[str] = []
    if status != 0:
        errors.append(f"node exit status {status}")
    if not any(" frames, " in line for line in lines):
        errors.append("no summary line from the node")

    with collector.lock:
        outputs = [store.deserialize_cdr(b, TRACKED) for b in collector.messages[OUTPUT_KEY]]
        truths = [store.deserialize_cdr(b, TRACKED) for b in collector.messages[TRUTH_KEY]]
        # rosbags decodes exactly the message: re-serialising gives the same bytes.
        for raw, msg in zip(collector.messages[OUTPUT_KEY], outputs):
            if store.serialize_cdr(msg, TRACKED) != raw:
                errors.append("an output does not re-serialise to its own bytes")
                break
    truth_at = {stamp_ns(t.header): t for t in truths}
    ticks = SIM_SECONDS * SIM_RATE_HZ
    if len(truths) < ticks // 2:
        errors.append(f"only {len(truths)} ground-truth messages of about {ticks}")
    if len(outputs) < ticks // 2:
        errors.append(f"only {len(outputs)} outputs of about {ticks} ticks")

    matched = confirmed = 0
    last = None
    for i, out in enumerate(outputs):
        stamp = stamp_ns(out.header)
        if out.header.frame_id != "base_link":
            errors.append(f"output {i}: frame_id {out.header.frame_id!r}")
        if stamp not in truth_at:
            errors.append(f"output {i}: stamp {stamp} is no tick of the simulator")
            continue
        if last is not None and stamp <= last:
            errors.append(f"output {i}: stamp {stamp} not after {last}")
        last = stamp
        for j, obj in enumerate(out.objects):
            errors.extend(check_object(obj, f"output {i} object {j}"))
        if i < WARMUP_FRAMES:
            continue
        if not out.objects:
            errors.append(f"output {i}: no objects after warm-up")
        actors = [
            (t.kinematics.pose_with_covariance.pose.position.x, t.kinematics.pose_with_covariance.pose.position.y)
            for t in truth_at[stamp].objects
        ]
        for obj in out.objects:
            if obj.existence_probability < 0.5:
                continue
            confirmed += 1
            p = obj.kinematics.pose_with_covariance.pose.position
            if any(math.hypot(p.x - x, p.y - y) <= MATCH_RADIUS_M for x, y in actors):
                matched += 1

    precision = matched / confirmed if confirmed else 0.0
    if precision < MIN_PRECISION:
        errors.append(
            f"{matched} of {confirmed} confirmed objects within {MATCH_RADIUS_M} m of an actor "
            f"({precision:.2f} < {MIN_PRECISION})"
        )
    for e in errors[:20]:
        print(f"node_oracle: {e}", file=sys.stderr)
    if errors:
        print("node stderr:\n" + "\n".join(lines[-30:]), file=sys.stderr)
        print(f"node_oracle: launch file and logs kept in {workdir}", file=sys.stderr)
        return 1
    shutil.rmtree(workdir, ignore_errors=True)  # kept when a check failed
    print(
        f"node_oracle: {len(outputs)} TrackedObjects from the node decoded by rosbags; "
        f"{matched}/{confirmed} confirmed objects within {MATCH_RADIUS_M} m of the simulator's truth"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
