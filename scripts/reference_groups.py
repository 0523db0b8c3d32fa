#!/usr/bin/env python3
"""Record the reference package's columns of some groups on the shared captures.

Run with the interpreter of a virtualenv that has the Python package
joyfuljay 0.1.6.1 installed, from the repository root:

    /tmp/refvenv/bin/python scripts/reference_groups.py
    /tmp/refvenv/bin/python scripts/reference_groups.py --features padding,fingerprint \
        --first-column pkt_size_variance --also payload_bytes_total --out padding_fingerprint.csv

For each capture in CAPTURES it calls the package's own
`joyfuljay.extract(path, features=["flow_meta", *FEATURES],
flow_timeout=1e9, terminate_on_fin_rst=False)` (every 5-tuple one flow, as
our comparisons run with --no-tcp-close and an infinite timeout) and writes
every row the package returned, keyed by the capture name and the flow's
initiator-oriented 5-tuple and packet count, with the columns named by
--also and every column from FIRST_COLUMN on (names as the package prints them). Floats are written with
`repr` (shortest round-trip). Nothing here computes a feature.

Writes testdata/reference/OUT (default: the `timing` and `size` columns,
from iat_min on, to timing_size.csv).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from importlib import metadata
from pathlib import Path

import joyfuljay as jj

EXPECTED_VERSION = "0.1.6.1"
ROOT = Path(__file__).resolve().parent.parent

CAPTURES = [
    "http.cap",
    "dns.cap",
    "v6-http.cap",
    "vlan.cap",
    "mpls-basic.cap",
    "teardrop.cap",
    "sctp.cap",
    "Obsolete_Packets.cap",
    "pim-reg.cap",
    "RawPacketIPv6Tunnel-UK6x.cap",
    "sample.pcap",
    "imap.cap",
    "tcp-ethereal-file1.trace",
    "http_PPI.cap",
]

KEY = ["src_ip", "src_port", "dst_ip", "dst_port", "protocol", "total_packets"]


def cell(v: object) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return repr(v)
    if hasattr(v, "item"):  # numpy scalar
        return cell(v.item())
    return str(v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", default="timing,size", help="groups, comma-separated")
    ap.add_argument("--first-column", default="iat_min", help="the first column recorded")
    ap.add_argument("--out", default="timing_size.csv", help="file name in testdata/reference")
    ap.add_argument("--also", default="", help="further columns recorded, comma-separated")
    args = ap.parse_args()
    out = ROOT / "testdata" / "reference" / args.out
    features = ["flow_meta", *args.features.split(",")]
    version = metadata.version("joyfuljay")
    if version != EXPECTED_VERSION:
        print(f"expected joyfuljay {EXPECTED_VERSION}, found {version}", file=sys.stderr)
        return 1
    header: list[str] | None = None
    rows: list[list[str]] = []
    for name in CAPTURES:
        path = ROOT / "testdata" / "captures" / name
        try:
            df = jj.extract(
                str(path),
                features=features,
                flow_timeout=1e9,
                terminate_on_fin_rst=False,
            )
        except Exception as e:  # the package cannot read some captures
            print(f"{name}: skipped ({type(e).__name__}: {e})", file=sys.stderr)
            continue
        if len(df) == 0:
            print(f"{name}: no flows", file=sys.stderr)
            continue
        cols = list(df.columns)
        start = cols.index(args.first_column)
        feats = [c for c in args.also.split(",") if c] + cols[start:]
        if header is None:
            header = ["capture"] + KEY + feats
        elif header[1 + len(KEY):] != feats:
            print(f"{name}: different columns", file=sys.stderr)
            return 1
        for rec in df.to_dict("records"):
            rows.append([name] + [cell(rec[k]) for k in KEY] + [cell(rec[k]) for k in feats])
        print(f"{name}: {len(df)} flows", file=sys.stderr)
    assert header is not None
    with out.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {out} ({len(rows)} rows)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
