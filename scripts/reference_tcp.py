#!/usr/bin/env python3
"""The reference package's `tcp` values (joyfuljay 0.1.6.1) on captures, for
the columns Wireshark has no field for (anomaly, fstat, flag bitmaps, ...).

Run with the interpreter of a virtualenv holding the package, from the
repository root:

    /tmp/refvenv/bin/python scripts/reference_tcp.py

Every value comes from the package itself: `joyfuljay.extract(capture,
features=["flow_meta", "tcp"], terminate_on_fin_rst=False,
flow_timeout=1e9)` (each 5-tuple one flow), TCP flows only. Writes
testdata/reference/tcp/<capture>.csv: src_ip,src_port,dst_ip,dst_port (the
reference's orientation: initiator first) and its tcp_* columns as it
prints them (booleans as True/False).
"""

from __future__ import annotations

import csv
import sys
from importlib import metadata
from pathlib import Path

import joyfuljay as jj

EXPECTED_VERSION = "0.1.6.1"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "testdata" / "reference" / "tcp"
CAPTURES = ["http.cap", "v6-http.cap", "imap.cap", "tcp-ethereal-file1.trace",
            "sample.pcap", "vlan.cap", "tcp-analysis-synth.pcap"]


def main() -> int:
    v = metadata.version("joyfuljay")
    if v != EXPECTED_VERSION:
        sys.exit(f"joyfuljay {v}, expected {EXPECTED_VERSION}")
    OUT.mkdir(parents=True, exist_ok=True)
    for name in CAPTURES:
        rows = jj.extract(str(ROOT / "testdata" / "captures" / name), output_format="dict",
                          features=["flow_meta", "tcp"], terminate_on_fin_rst=False,
                          flow_timeout=1e9)
        rows = [r for r in rows if r.get("protocol") == 6]
        cols = ["src_ip", "src_port", "dst_ip", "dst_port"] + sorted(
            {k for r in rows for k in r if k.startswith("tcp_")},
            key=lambda k: list(rows[0]).index(k))
        with open(OUT / f"{name}.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            for r in sorted(rows, key=lambda r: (str(r["src_ip"]), r["src_port"],
                                                 str(r["dst_ip"]), r["dst_port"])):
                w.writerow([r[c] for c in cols])
        print(f"{name}: {len(rows)} TCP flows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
