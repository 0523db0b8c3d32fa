#!/usr/bin/env python3
"""Values of the reference package (joyfuljay 0.1.6.1) for the header groups
ip_extended, ipv6_options, mac and icmp on real captures.

Run with the interpreter of a virtualenv that has the reference installed,
from the repository root:

    /tmp/refvenv/bin/python scripts/reference_ip.py

For each capture below, ``joyfuljay.extract`` runs with features flow_meta,
ip_extended, ipv6_options, mac and icmp, an effectively infinite flow timeout
and TCP-close splitting off (every 5-tuple one flow, as our tests run), and
the rows are written, sorted, to testdata/reference/ip_groups/<capture>.csv:
src_ip, src_port, dst_ip, dst_port, protocol, then the four groups' columns
as the reference prints them (its sentinels included). Nothing is
recomputed here: the values are the package's own.
"""

from __future__ import annotations

import csv
import sys
from importlib import metadata
from pathlib import Path

import joyfuljay as jj
from joyfuljay.extractors.icmp import ICMPExtractor
from joyfuljay.extractors.ip_extended import IPExtendedExtractor
from joyfuljay.extractors.ipv6_options import IPv6OptionsExtractor
from joyfuljay.extractors.mac import MACExtractor

EXPECTED_VERSION = "0.1.6.1"
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "testdata" / "reference" / "ip_groups"
CAPTURES = ["icmp-mix.pcap", "vlan.cap", "v6-http.cap", "http.cap", "dns.cap"]
GROUPS = ["ip_extended", "ipv6_options", "mac", "icmp"]
EXTRACTORS = [IPExtendedExtractor, IPv6OptionsExtractor, MACExtractor, ICMPExtractor]
KEY = ["src_ip", "src_port", "dst_ip", "dst_port", "protocol"]


def main() -> int:
    version = metadata.version("joyfuljay")
    if version != EXPECTED_VERSION:
        print(f"joyfuljay {version}, expected {EXPECTED_VERSION}", file=sys.stderr)
        return 2
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in CAPTURES:
        rows = jj.extract(str(ROOT / "testdata" / "captures" / name),
                          output_format="dict",
                          features=["flow_meta"] + GROUPS,
                          flow_timeout=1e9, terminate_on_fin_rst=False)
        cols = [c for e in EXTRACTORS for c in e().feature_names]
        rows.sort(key=lambda r: tuple(str(r[k]) for k in KEY))
        with open(OUT_DIR / f"{name}.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(KEY + cols)
            for r in rows:
                w.writerow([r[k] for k in KEY] + [r[c] for c in cols])
        print(f"{name}: {len(rows)} flows, {len(cols)} columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
