#!/usr/bin/env python3
"""Time the Python API against the `jj` CLI on the same captures.

    python scripts/bench_python.py [--flows 200000] [--repeat 3]

Writes a synthetic capture of N distinct UDP flows (one request and one
response each, Ethernet/IPv4), then prints for it and for
testdata/captures/Obsolete_Packets.cap the best of `--repeat` runs of:
`jj extract -q -f csv -o /dev/null` (the console script, same code as the
binary), `jj extract -o x.parquet`, `jj.extract(output_format="arrow")`
(extraction only), `jj.extract()` (DataFrame) and the `to_pandas`
conversion alone. Needs the package installed (pip install .).
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joyfuljay as jj

ROOT = Path(__file__).resolve().parents[1]


def synthetic_pcap(path: Path, flows: int, seed: int | None = None) -> None:
    """`flows` UDP flows to 192.0.2.1:53, request then response, 5 µs apart.

    Without `seed` the clients are 10.x.y.z:40000 (x.y.z = the flow's
    number); with it (bench_spark.py: one distinct file per seed) they are
    10.seed.y.z with the port 40000 + the number's top bits.
    """
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    payload = b"\x00" * 32
    t0 = 1_700_000_000
    dst = bytes([192, 0, 2, 1])
    for i in range(flows):
        if seed is None:
            src, sport = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]), 40000
        else:
            src, sport = bytes([10, seed & 255, (i >> 8) & 255, i & 255]), 40000 + (i >> 16)
        for k, (a, b, sp, dp) in enumerate([(src, dst, sport, 53), (dst, src, 53, sport)]):
            udp = struct.pack(">HHHH", sp, dp, 8 + len(payload), 0) + payload
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, a, b) + udp
            frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip
            us = i * 10 + k * 5
            out += struct.pack("<IIII", t0 + us // 1_000_000, us % 1_000_000, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--binary", help="also time this native `jj` binary (e.g. target/release/jj)")
    a = ap.parse_args()
    script = Path(sys.executable).parent / "jj"
    jj_cmd = str(script) if script.exists() else shutil.which("jj")
    tmp = Path(tempfile.mkdtemp())
    synth = tmp / "udp_flows.pcap"
    synthetic_pcap(synth, a.flows)
    print(f"joyfuljay {jj.__version__}; synthetic capture: {a.flows} UDP flows, {synth.stat().st_size / 1e6:.1f} MB")
    for cap in [ROOT / "testdata/captures/Obsolete_Packets.cap", synth]:
        run = lambda *args: subprocess.run([jj_cmd, "extract", "-q", *args, str(cap)], check=True)  # noqa: E731
        cli_csv = best(lambda: run("-f", "csv", "-o", os.devnull), a.repeat)
        native = a.binary and best(
            lambda: subprocess.run([a.binary, "extract", "-q", "-f", "csv", "-o", os.devnull, str(cap)], check=True),
            a.repeat,
        )
        cli_pq = best(lambda: run("-o", str(tmp / "f.parquet")), a.repeat)
        arrow = best(lambda: jj.extract(cap, output_format="arrow"), a.repeat)
        table = jj.extract(cap, output_format="arrow")
        to_pandas = best(table.to_pandas, a.repeat)
        df_time = best(lambda: jj.extract(cap), a.repeat)
        print(f"\n{cap.name}: {table.num_rows} flows, {table.num_columns} columns (all groups)")
        print(f"  jj extract -f csv (CLI)       {cli_csv * 1e3:8.1f} ms")
        if native:
            print(f"  native binary -f csv          {native * 1e3:8.1f} ms")
        print(f"  jj extract -o .parquet (CLI)  {cli_pq * 1e3:8.1f} ms")
        print(f"  jj.extract(output_format='arrow') {arrow * 1e3:8.1f} ms")
        print(f"  jj.extract() -> DataFrame     {df_time * 1e3:8.1f} ms")
        print(f"  Table.to_pandas() alone       {to_pandas * 1e3:8.1f} ms")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
