#!/usr/bin/env python3
"""Independent CDR oracle for fusion-msgs, built on PyPI `rosbags`.

rosbags has its own ROS 2 type system and CDR codec, written without any
reference to this project. We register our shipped `.msg` files with it and:

  golden OUT.json       serialise seeded values of every type (little- and
                        big-endian) and write them as golden vectors, which
                        the Rust tests decode and re-encode byte for byte;
  check-golden IN.json  regenerate and compare with the committed vectors;
  check-ours IN.jsonl   decode messages our Rust encoder wrote, compare the
                        values, and re-serialise them to identical bytes;
                        then do the same with PyPI `mcap-ros2-support`,
                        whose decoder is built from our `ros2msg` schema
                        text, so the schemas are checked too.
"""

from __future__ import annotations

import json
import random
import struct
import sys
from pathlib import Path

import numpy as np
from mcap_ros2._dynamic import generate_dynamic, serialize_dynamic
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Nodetype

MSG_ROOT = Path(__file__).resolve().parents[2] / "msgs" / "msg"
SEED = 20261126
VECTORS_PER_TYPE = 4

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "uint8": (0, 2**8 - 1),
    # ROS 2 `byte` is an unsigned octet, rosbags reads it as ROS 1's signed
    # int8: the bytes agree, and so do the values in 0..=127.
    "byte": (0, 2**7 - 1),
    "char": (0, 2**8 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
NUMPY_DTYPES = {
    "int8": np.int8, "uint8": np.uint8, "byte": np.int8, "char": np.uint8,
    "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
    "int64": np.int64, "uint64": np.uint64, "float32": np.float32, "float64": np.float64,
    "bool": np.bool_,
}
STRING_ALPHABET = "abcXYZ019 _-/.:üßé日本語🚗\t\n\"\\"


def load_typestore():
    store = get_typestore(Stores.EMPTY)
    types = {}
    for path in sorted(MSG_ROOT.glob("*/*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"{path.parent.name}/msg/{path.stem}"))
    store.register(types)
    return store, sorted(types)


def f32(x: float) -> float:
    """The float32 nearest x, as a Python float (exact in JSON)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Generator:
    """Seeded values for any registered type; `edge` picks boundary values."""

    def __init__(self, store, rng: random.Random, edge: bool):
        self.store, self.rng, self.edge = store, rng, edge

    def base(self, name: str):
        rng = self.rng
        if name == "bool":
            return self.edge or rng.random() < 0.5
        if name in INT_RANGES:
            lo, hi = INT_RANGES[name]
            return hi if self.edge else rng.randint(lo, hi)
        if name in ("float32", "float64"):
            if self.edge:
                v = -1.0e-300 if name == "float64" else -1.0e-38
            else:
                v = rng.choice([0.0, -0.0, 1.5, -2.25]) if rng.random() < 0.2 else \
                    rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)
            return f32(v) if name == "float32" else v
        if name == "string":
            if self.edge:
                return ""
            return "".join(rng.choice(STRING_ALPHABET) for _ in range(rng.randint(0, 9)))
        raise ValueError(f"unsupported base type {name}")

    def node(self, node):
        kind, detail = node
        if kind == Nodetype.BASE:
            return self.base(detail[0])
        if kind == Nodetype.NAME:
            return self.message(detail)
        if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
            elem, size = detail
            if kind == Nodetype.SEQUENCE:
                size = 0 if self.edge else self.rng.randint(0, 3 if elem[0] == Nodetype.NAME else 7)
            values = [self.node(elem) for _ in range(size)]
            if elem[0] == Nodetype.BASE and elem[1][0] in NUMPY_DTYPES:
                return np.array(values, dtype=NUMPY_DTYPES[elem[1][0]])
            return values
        raise ValueError(f"unsupported node {node}")

    def message(self, typename: str):
        _, fields = self.store.fielddefs[typename]
        cls = self.store.types[typename]
        return cls(**{name: self.node(node) for name, node in fields})


def to_plain(store, typename: str, msg) -> dict:
    """A message as JSON-able dicts and lists with the ROS field names."""
    _, fields = store.fielddefs[typename]
    return {name: plain_node(store, node, getattr(msg, name)) for name, node in fields}


def plain_node(store, node, value):
    kind, detail = node
    if kind == Nodetype.BASE:
        if detail[0] == "byte":
            return value & 0xFF  # rosbags' signed byte as the ROS 2 octet
        return bool(value) if detail[0] == "bool" else value
    if kind == Nodetype.NAME:
        return to_plain(store, detail, value)
    elem = detail[0]
    if isinstance(value, np.ndarray):
        return [bool(v) if v.dtype == np.bool_ else v.item() for v in value]
    return [plain_node(store, elem, v) for v in value]


def from_plain(store, typename: str, value: dict):
    _, fields = store.fielddefs[typename]
    cls = store.types[typename]
    return cls(**{name: node_from_plain(store, node, value[name]) for name, node in fields})


def node_from_plain(store, node, value):
    kind, detail = node
    if kind == Nodetype.BASE:
        if detail[0] == "byte":
            return value - 256 if value > 127 else value
        return f32(value) if detail[0] == "float32" else value
    if kind == Nodetype.NAME:
        return from_plain(store, detail, value)
    elem = detail[0]
    if elem[0] == Nodetype.BASE and elem[1][0] in NUMPY_DTYPES:
        return np.array(value, dtype=NUMPY_DTYPES[elem[1][0]])
    return [node_from_plain(store, elem, v) for v in value]


def make_vectors(store, typenames) -> list[dict]:
    rng = random.Random(SEED)
    vectors = []
    for typename in typenames:
        for i in range(VECTORS_PER_TYPE):
            msg = Generator(store, rng, edge=(i == 0)).message(typename)
            vectors.append({
                "type": typename,
                "value": to_plain(store, typename, msg),
                "cdr_le": bytes(store.serialize_cdr(msg, typename)).hex(),
                "cdr_be": bytes(store.serialize_cdr(msg, typename, little_endian=False)).hex(),
            })
    return vectors


def dump(vectors) -> str:
    return json.dumps({"generator": "tests/oracle/cdr_oracle.py", "seed": SEED, "vectors": vectors},
                      indent=1, ensure_ascii=False) + "\n"


def mcap_ros2_roundtrip(codecs: dict, typename: str, schema: str, ours: bytes) -> bytes:
    """Decode with a decoder generated from our schema text, re-encode."""
    if typename not in codecs:
        codecs[typename] = (generate_dynamic(typename, schema)[typename],
                            serialize_dynamic(typename, schema)[typename])
    decode, encode = codecs[typename]
    return bytes(encode(decode(ours)))


def check_ours(store, path: Path) -> int:
    failures = checked = 0
    codecs: dict = {}
    for lineno, line in enumerate(path.read_text().split("\n"), 1):
        if not line:
            continue
        case = json.loads(line)
        typename, ours = case["type"], bytes.fromhex(case["cdr"])
        try:
            if mcap_ros2_roundtrip(codecs, typename, case["schema"], ours) != ours:
                print(f"{path}:{lineno}: {typename}: mcap-ros2-support re-encodes to different bytes")
                failures += 1
                continue
            msg = store.deserialize_cdr(ours, typename)
            again = bytes(store.serialize_cdr(msg, typename))
            expected = to_plain(store, typename, from_plain(store, typename, case["value"]))
            decoded = to_plain(store, typename, msg)
        except Exception as err:  # noqa: BLE001 - report every failing case
            print(f"{path}:{lineno}: {typename}: rosbags failed: {err!r}")
            failures += 1
            continue
        if again != ours:
            print(f"{path}:{lineno}: {typename}: rosbags re-encodes to different bytes")
            failures += 1
        elif decoded != expected:
            print(f"{path}:{lineno}: {typename}: decoded value differs from ours")
            failures += 1
        checked += 1
    print(f"cdr oracle: {checked} messages from fusion-msgs decoded and re-encoded by rosbags "
          f"and by mcap-ros2-support, "
          f"{failures} failures")
    return 1 if failures or checked == 0 else 0


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("golden", "check-golden", "check-ours"):
        print(__doc__, file=sys.stderr)
        return 2
    store, typenames = load_typestore()
    path = Path(argv[2])
    if argv[1] == "golden":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(make_vectors(store, typenames)))
        return 0
    if argv[1] == "check-golden":
        fresh = dump(make_vectors(store, typenames))
        if fresh != path.read_text():
            print(f"{path} differs from what rosbags produces now: regenerate it with "
                  f"`python3 tests/oracle/cdr_oracle.py golden {path}`")
            return 1
        print(f"cdr oracle: {path} matches rosbags")
        return 0
    return check_ours(store, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
