"""Shared fixtures: real captures copied under the document's file names,
the `jj` console script, and CSV written by `jj extract`."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "testdata" / "captures"
DOCUMENT = Path(__file__).resolve().parent / "data" / "flow_meta.md"


def capture(name: str) -> Path:
    return CAPTURES / name


def jj_script() -> str:
    """The `jj` console script installed with the package (beside this
    interpreter), else the one on PATH."""
    here = Path(sys.executable).parent / "jj"
    if here.exists():
        return str(here)
    found = shutil.which("jj")
    assert found, "the `jj` console script is not installed"
    return found


def run_jj(*args: str, cwd: "os.PathLike[str] | str | None" = None, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([jj_script(), *args], cwd=cwd, capture_output=True, text=True)
    if check:
        assert p.returncode == 0, f"jj {' '.join(args)} exited {p.returncode}: {p.stderr}"
    return p


def read_pcap(path: Path):
    """(global header, [record bytes with their 16-byte header]) of a
    microsecond little-endian pcap."""
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", path
    header, pos, records = data[:24], 24, []
    while pos + 16 <= len(data):
        ts_s, ts_us, incl, _orig = struct.unpack_from("<IIII", data, pos)
        records.append(((ts_s, ts_us), data[pos : pos + 16 + incl]))
        pos += 16 + incl
    return header, records


def merge_pcaps(out: Path, *inputs: Path) -> None:
    """One pcap holding the packets of `inputs` (same link type), in time order."""
    header, records = read_pcap(inputs[0])
    for p in inputs[1:]:
        records += read_pcap(p)[1]
    records.sort(key=lambda r: r[0])
    out.write_bytes(header + b"".join(r for _, r in records))


def synthetic_pcap(path: Path, flows: int) -> Path:
    """A pcap of `flows` distinct UDP flows (10.x.y.z:40000 <-> 192.0.2.1:53,
    a request and a response each; Ethernet/IPv4)."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    payload = b"\x00" * 32
    t0 = 1_700_000_000
    for i in range(flows):
        src = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
        dst = bytes([192, 0, 2, 1])
        for k, (a, b, sp, dp) in enumerate([(src, dst, 40000, 53), (dst, src, 53, 40000)]):
            udp = struct.pack(">HHHH", sp, dp, 8 + len(payload), 0) + payload
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, a, b) + udp
            frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip
            us = i * 10 + k * 5
            out += struct.pack("<IIII", t0 + us // 1_000_000, us % 1_000_000, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))
    return path


@pytest.fixture(scope="session")
def many_flows(tmp_path_factory) -> Path:
    """100,000 distinct UDP flows: two record batches of 64 Ki rows."""
    return synthetic_pcap(tmp_path_factory.mktemp("synth") / "udp_flows.pcap", 100_000)


@pytest.fixture
def doc_dir(tmp_path, monkeypatch):
    """A working directory with the document's captures: capture.pcap (an
    HTTP download, 3 flows), capture1.pcap (it plus DNS traffic) and
    capture2.pcap (it plus an IMAP session). The two share the HTTP flows."""
    shutil.copy(capture("http.cap"), tmp_path / "capture.pcap")
    merge_pcaps(tmp_path / "capture1.pcap", capture("http.cap"), capture("dns.cap"))
    merge_pcaps(tmp_path / "capture2.pcap", capture("http.cap"), capture("imap.cap"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def csv_frame(path: Path, columns_types: dict):
    """Read `jj extract -f csv` output with the dtypes of the schema
    (`jj.features()` types, `|None` appended for nullable columns): ints as
    int64 (pandas' nullable Int64 when nullable: an empty cell is <NA>),
    floats as float64 (read back exactly; empty is NaN), booleans from
    `true`/`false` (nullable: pandas' boolean), strings as strings (None
    when a nullable cell is empty), list columns parsed from their JSON
    text."""
    import pandas as pd

    dtypes = {}
    for name, ty in columns_types.items():
        base = ty.removesuffix("|None")
        if ty == "int":
            dtypes[name] = "int64"
        elif base == "float":
            dtypes[name] = "float64"
        else:
            dtypes[name] = object
    # pandas < 3 parses floats exactly only when asked to.
    exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    df = pd.read_csv(
        path,
        dtype=dtypes,
        **exact,
        keep_default_na=False,
        na_values={n: [""] for n, t in columns_types.items() if t.startswith("float")},
    )
    for name, ty in columns_types.items():
        if name not in df.columns:
            continue
        base, nullable = ty.removesuffix("|None"), ty.endswith("|None")
        if base.startswith("list"):
            df[name] = df[name].map(lambda v: None if v == "" else json.loads(v))
        elif base == "bool":
            cells = [{"true": True, "false": False, "": None}[v] for v in df[name]]
            df[name] = pd.array(cells, dtype="boolean") if nullable else pd.Series(cells, dtype=bool)
        elif base == "int" and nullable:
            df[name] = pd.array([None if v == "" else int(v) for v in df[name]], dtype="Int64")
        elif base == "str" and nullable:
            df[name] = [None if v == "" else v for v in df[name]]
    return df


@pytest.fixture(scope="session")
def schema_types():
    import joyfuljay as jj

    return {c["name"]: c["type"] + ("|None" if c["nullable"] else "") for c in jj.features()}
