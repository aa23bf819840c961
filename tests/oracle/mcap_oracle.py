#!/usr/bin/env python3
"""Independent readers of fusion-drive's MCAP drives.

    mcap_oracle.py DIR

DIR holds what the Rust test `dump_drives_for_the_python_oracle` wrote:
drives with every type the recorder writes (zstd, lz4 and uncompressed,
and one spliced from the zstd drive's chunks and new lz4 chunks),
cuts of the zstd drive, and expected.json (every message as written: topic,
type, log/publish time, sequence, CDR bytes and field values).

Each drive is read
  - with PyPI `mcap` (header profile and library, summary statistics, chunk
    and message indexes, chunk compression);
  - with `mcap_ros2.reader.read_ros2_messages`, which builds its decoders
    from the file's `ros2msg` schemas and decodes EVERY message;
  - with `rosbags.highlevel.AnyReader` on the .mcap file itself (rosbags
    0.11 opens a rosbag2 mcap file without a metadata.yaml) and an EMPTY
    typestore, so types come only from the file's schemas too; its rosbag2
    reader also parses each channel's offered_qos_profiles as rosbag2 does.
Counts, topics, types, times, sequences, bytes and decoded field values
must all match expected.json.

Each cut is read with mcap's StreamReader, record by record until the cut:
the messages of the chunks it completes must be exactly those fusion-drive
read from the same cut.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from mcap.reader import make_reader
from mcap.records import Message
from mcap.stream_reader import StreamReader
from mcap_ros2.reader import read_ros2_messages
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

failures: list[str] = []


def check(cond: bool, what: str) -> None:
    if not cond:
        failures.append(what)


def plain(value, like):
    """`value` (a decoded message of either library) in the shape of `like`
    (the JSON serde wrote): only the fields `like` has."""
    if isinstance(like, dict):
        return {k: plain(getattr(value, k), v) for k, v in like.items()}
    if isinstance(like, list):
        if isinstance(value, (bytes, bytearray)):
            return list(value)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        return [plain(v, l) for v, l in zip(value, like)] + (
            ["<length differs>"] if len(value) != len(like) else []
        )
    if isinstance(value, np.generic):
        return value.item()
    return value


def by_log_time(messages):
    return sorted(messages, key=lambda m: m["log_time_ns"])


def check_structure(path: Path, drive: dict) -> None:
    with path.open("rb") as f:
        reader = make_reader(f)
        header = reader.get_header()
        check(header.profile == "ros2", f"{path.name}: profile {header.profile!r}")
        check(header.library.startswith("fusion-drive/"), f"{path.name}: library {header.library!r}")
        summary = reader.get_summary()
        check(summary is not None, f"{path.name}: no summary")
        stats = summary.statistics
        check(stats.message_count == len(drive["messages"]), f"{path.name}: statistics count {stats.message_count}")
        times = [m["log_time_ns"] for m in drive["messages"]]
        check(
            (stats.message_start_time, stats.message_end_time) == (min(times), max(times)),
            f"{path.name}: statistics times",
        )
        check(len(summary.chunk_indexes) == stats.chunk_count > 1, f"{path.name}: chunk indexes")
        names = {"zstd": "zstd", "lz4": "lz4", "none": ""}
        # A spliced drive has the copied chunks' and its own.
        want = {names[drive["compression"]], names[drive.get("new_compression", drive["compression"])]}
        got = {index.compression for index in summary.chunk_indexes}
        check(got == want, f"{path.name}: chunk compressions {got}, not {want}")
        for index in summary.chunk_indexes:
            check(index.message_index_length > 0 and index.message_index_offsets, f"{path.name}: no message index")
        for schema in summary.schemas.values():
            check(schema.encoding == "ros2msg", f"{path.name}: schema encoding {schema.encoding}")
        for channel in summary.channels.values():
            check(channel.message_encoding == "cdr", f"{path.name}: message encoding")
            check("offered_qos_profiles" in channel.metadata, f"{path.name}: {channel.topic} without QoS")
        # Chunk and data-section CRCs, which the stream reader checks.
        try:
            with path.open("rb") as stream:
                for _ in StreamReader(stream, validate_crcs=True).records:
                    pass
        except Exception as e:  # noqa: BLE001
            check(False, f"{path.name}: CRC check failed: {e!r}")
        # Seeking by index agrees with the stream.
        indexed = sum(1 for _ in reader.iter_messages(log_time_order=True))
        check(indexed == len(drive["messages"]), f"{path.name}: indexed read {indexed}")


def check_mcap_ros2(path: Path, drive: dict) -> None:
    expected = by_log_time(drive["messages"])
    got = list(read_ros2_messages(str(path)))
    check(len(got) == len(expected), f"{path.name}: mcap_ros2 read {len(got)} of {len(expected)}")
    for m, w in zip(got, expected):
        where = f"{path.name} mcap_ros2 {w['topic']}@{w['log_time_ns']}"
        check(m.channel.topic == w["topic"], f"{where}: topic {m.channel.topic}")
        check(m.schema.name == w["type_name"], f"{where}: type {m.schema.name}")
        check(m.log_time_ns == w["log_time_ns"], f"{where}: log time {m.log_time_ns}")
        check(m.publish_time_ns == w["publish_time_ns"], f"{where}: publish time")
        check(m.sequence_count == w["sequence"], f"{where}: sequence {m.sequence_count}")
        check(plain(m.ros_msg, w["value"]) == w["value"], f"{where}: decoded value differs")


def check_rosbags(path: Path, drive: dict) -> None:
    expected = by_log_time(drive["messages"])
    with AnyReader([path], default_typestore=get_typestore(Stores.EMPTY)) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        want_types = {w["topic"]: w["type_name"] for w in expected}
        check(types == want_types, f"{path.name}: rosbags topics {types}")
        check(reader.message_count == len(expected), f"{path.name}: rosbags count {reader.message_count}")
        for c in reader.connections:
            qos = c.ext.offered_qos_profiles
            check(len(qos) == 1, f"{path.name}: {c.topic} QoS {qos}")
            check(qos[0].reliability.name == "RELIABLE" and qos[0].durability.name == "VOLATILE" and qos[0].depth == 10,
                  f"{path.name}: {c.topic} QoS {qos[0]}")
        got = list(reader.messages())
        check(len(got) == len(expected), f"{path.name}: rosbags read {len(got)}")
        for (connection, timestamp, raw), w in zip(got, expected):
            where = f"{path.name} rosbags {w['topic']}@{w['log_time_ns']}"
            check(connection.topic == w["topic"], f"{where}: topic {connection.topic}")
            check(timestamp == w["log_time_ns"], f"{where}: time {timestamp}")
            check(bytes(raw) == bytes(w["data"]), f"{where}: bytes differ")
            msg = reader.deserialize(raw, connection.msgtype)
            check(plain(msg, w["value"]) == w["value"], f"{where}: decoded value differs")


def stream_messages(path: Path) -> tuple[list[tuple[str, int, int]], str]:
    """Messages the Python stream reader yields before the cut, and how it stopped."""
    channels: dict[int, str] = {}
    out = []
    with path.open("rb") as f:
        try:
            for record in StreamReader(f).records:
                if type(record).__name__ == "Channel":
                    channels[record.id] = record.topic
                elif isinstance(record, Message):
                    out.append((channels[record.channel_id], record.log_time, record.sequence))
            return out, "end"
        # It has no notion of a cut: it raises whatever its parser hit
        # (McapError, EOFError, struct.error...).
        except Exception as e:  # noqa: BLE001
            return out, type(e).__name__


def check_cut(path: Path, cut: dict) -> None:
    streamed, how = stream_messages(path)
    ours = [tuple(m) for m in cut["read"]]
    print(f"  {path.name} ({cut['bytes']} bytes): mcap StreamReader stopped with {how} after "
          f"{len(streamed)} messages; fusion-drive read {len(ours)}")
    check(how != "end", f"{path.name}: the Python stream reader saw no cut")
    # Chunks are all-or-nothing in the Python reader too: the same messages.
    check(sorted(streamed) == sorted(ours), f"{path.name}: prefixes differ")


def main() -> int:
    root = Path(sys.argv[1])
    expected = json.loads((root / "expected.json").read_text())
    for drive in expected["drives"]:
        path = root / drive["file"]
        check_structure(path, drive)
        check_mcap_ros2(path, drive)
        check_rosbags(path, drive)
        print(f"  {drive['file']}: {len(drive['messages'])} messages checked with mcap, mcap_ros2 and rosbags")
    for cut in expected["cuts"]:
        check_cut(root / cut["file"], cut)
    for f in failures[:30]:
        print("FAIL", f)
    total = len(expected["drives"]) * 3 + len(expected["cuts"])
    print(f"mcap oracle: {total - min(total, len(failures))} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
