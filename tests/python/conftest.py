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
    """Read `jj extract -f csv` output with the dtypes of the schema: ints as
    int64, floats as float64 (read back exactly), strings as strings, list
    columns parsed from their JSON text."""
    import pandas as pd

    dtypes = {}
    for name, ty in columns_types.items():
        dtypes[name] = {"int": "int64", "float": "float64"}.get(ty, object)
    df = pd.read_csv(
        path,
        dtype=dtypes,
        float_precision="round_trip",
        keep_default_na=False,
        na_values={n: [""] for n, t in columns_types.items() if t == "float"},
    )
    for name, ty in columns_types.items():
        if ty.startswith("list"):
            df[name] = df[name].map(json.loads)
    return df


@pytest.fixture(scope="session")
def schema_types():
    import joyfuljay as jj

    return {c["name"]: c["type"] for c in jj.features()}
