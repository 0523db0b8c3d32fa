#!/usr/bin/env python3
"""Values of the reference package (joyfuljay 0.1.6.1) for the SYN-derived
columns of tcp_fingerprint and tcp_options, on the captures the tests use.

Run with the interpreter of a virtualenv that has joyfuljay 0.1.6.1, from the
repository root:

    /tmp/refvenv/bin/python scripts/reference_tcpopts.py

For each capture, the package's own ``joyfuljay.extract`` computes the groups
(idle timeout 1e9 s). The package ends a TCP flow at the first FIN, so only
the FIRST flow of each 5-tuple (the one holding the handshake) is kept: its
SYN-based values are those of the whole connection. Writes
testdata/reference/tcp_syn.csv. Nothing here recomputes a value.
"""

from __future__ import annotations

import csv
from importlib import metadata
from pathlib import Path

import joyfuljay as jj

EXPECTED_VERSION = "0.1.6.1"
ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ["http.cap", "v6-http.cap", "vlan.cap", "sample.pcap", "imap.cap",
            "tcp-ethereal-file1.trace", "RawPacketIPv6Tunnel-UK6x.cap",
            "Obsolete_Packets.cap", "tcp-options-edges.pcap", "tcp-impaired.pcap",
            "tcp-options.pcap", "mptcp.pcap"]
COLUMNS = ["tcp_fp_fwd_window", "tcp_fp_fwd_ttl", "tcp_fp_fwd_mss", "tcp_fp_fwd_ws",
           "tcp_fp_bwd_window", "tcp_fp_bwd_ttl", "tcp_fp_bwd_mss", "tcp_fp_bwd_ws",
           "tcp_os_hint_fwd", "tcp_os_hint_bwd", "tcp_uptime_fwd", "tcp_uptime_bwd",
           "tcp_fp_fwd", "tcp_fp_bwd"]


def main():
    v = metadata.version("joyfuljay")
    assert v == EXPECTED_VERSION, f"joyfuljay {v}, expected {EXPECTED_VERSION}"
    out = ROOT / "testdata" / "reference" / "tcp_syn.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["capture", "src_ip", "src_port", "dst_ip", "dst_port"] + COLUMNS)
        for cap in CAPTURES:
            df = jj.extract(str(ROOT / "testdata" / "captures" / cap),
                            features=["flow_meta", "tcp_fingerprint"], flow_timeout=1e9)
            df = df[df["protocol"] == 6].sort_values("start_time", kind="stable")
            seen = set()
            for _, r in df.iterrows():
                k = frozenset([(r["src_ip"], int(r["src_port"])), (r["dst_ip"], int(r["dst_port"]))])
                if k in seen:
                    continue
                seen.add(k)
                w.writerow([cap, r["src_ip"], int(r["src_port"]), r["dst_ip"], int(r["dst_port"])]
                           + [repr(r[c]) if isinstance(r[c], float) else r[c] for c in COLUMNS])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
