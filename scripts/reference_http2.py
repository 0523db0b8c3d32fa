"""Values of the reference package (joyfuljay 0.1.6.1) for the http2 group on
real captures.

Run with the interpreter of a virtualenv that has the reference installed,
from the repository root:

    /tmp/refvenv/bin/python scripts/reference_http2.py

The reference's pipeline never runs its HTTP2Extractor (``features=["http2"]``
gives no http2 column), so this script appends the extractor to the
pipeline's list (and asks for the dns group, which makes the pipeline keep
raw payloads). ``joyfuljay.extract`` runs with an effectively infinite flow
timeout and TCP-close splitting off (every 5-tuple one flow, as our tests
run); the rows are written, sorted, to testdata/reference/http2/<capture>.csv:
src_ip, src_port, dst_ip, dst_port, protocol, then the extractor's columns as
the reference prints them. Nothing is recomputed here.
"""

from __future__ import annotations

import csv
import sys
from importlib import metadata
from pathlib import Path

import joyfuljay as jj
from joyfuljay.core import pipeline
from joyfuljay.extractors.http2 import HTTP2Extractor

EXPECTED_VERSION = "0.1.6.1"
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "testdata" / "reference" / "http2"
CAPTURES = ["http2-h2c.pcap", "quic.pcap", "http.cap"]
KEY = ["src_ip", "src_port", "dst_ip", "dst_port", "protocol"]


def main() -> int:
    version = metadata.version("joyfuljay")
    if version != EXPECTED_VERSION:
        print(f"joyfuljay {version}, expected {EXPECTED_VERSION}", file=sys.stderr)
        return 2
    orig = pipeline.Pipeline._init_extractors
    pipeline.Pipeline._init_extractors = lambda self: orig(self) + [HTTP2Extractor()]
    cols = HTTP2Extractor().feature_names
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in CAPTURES:
        rows = jj.extract(str(ROOT / "testdata" / "captures" / name),
                          output_format="dict", features=["flow_meta", "dns"],
                          flow_timeout=1e9, terminate_on_fin_rst=False)
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
