#!/usr/bin/env python3
"""Independent per-flow truth for the tcp_window, tcp_options,
tcp_fingerprint and tcp_mptcp groups, from Wireshark's TCP dissector.

    python3 scripts/tshark_tcp_options.py CAPTURE [-o OUT.csv] [--tshark /usr/bin/tshark]

tshark runs once (``-T fields``, every occurrence of each field), with the
same preferences as scripts/tshark_flows.py (no IP defragmentation, no TCP
desegmentation or sequence analysis). Only frames whose OUTERMOST IP header
carries TCP directly count (after IPv6 extension headers); ICMP errors quoting
a TCP header and tunnelled TCP are not TCP frames of a TCP flow. Frames are
grouped by bidirectional 5-tuple (every 5-tuple one flow, as with TCP-close
splitting off and an infinite idle timeout); the flow's forward direction is
the source of its first frame.

Per flow (columns named as the group columns they check; empty = null):

* windows: ``tcp.window_size_value`` (raw) first/min/max/mean, zero count,
  ups and downs between consecutive packets of a direction;
  ``tcp.window_size`` (scaled by Wireshark) maximum; the shift Wireshark
  applied to the direction's LAST non-SYN packet,
  log2(``tcp.window_size_scalefactor``) (-1 unknown -> empty, -2 not used -> 0;
  ``-`` when the direction has no non-SYN packet: nothing to compare).
* options: first ``tcp.options.mss_val`` and ``tcp.options.wscale.shift`` per
  direction; SACK permitted = some packet lists option kind 4 in
  ``tcp.option_kind``; SACK blocks = occurrences of ``tcp.options.sack_le``;
  timestamps first/last/first-echo from ``tcp.options.timestamp.tsval/tsecr``,
  diff = (last - first) mod 2^32; packets with options = ``tcp.hdr_len`` > 20;
  bitmap 1 MSS, 2 window scale, 4 SACK permitted, 8 timestamps (either side).
* SYNs: the initiator's first SYN without ACK and the responder's first
  SYN+ACK: IP version, ``ip.ttl``/``ipv6.hlim``, raw window, MSS, shift, and
  the option kinds in order (``tcp.option_kind``), cut after the first EOL
  (Wireshark lists each padding byte after it as another EOL).
* MPTCP: packets with ``tcp.options.mptcp.subtype``; a side is capable when
  one of its SYN packets has subtype 0 (MP_CAPABLE) or 1 (MP_JOIN); all
  subtypes seen (informational).

Python 3.11 standard library only.  Never produce the expected files with our
own tool.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_flows as flows_script  # noqa: E402

FIELDS = [
    "frame.number",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "tcp.hdr_len",
    "tcp.window_size_value",
    "tcp.window_size",
    "tcp.window_size_scalefactor",
    "tcp.option_kind",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_le",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.options.mptcp.subtype",
]
IDX = {n: i for i, n in enumerate(FIELDS)}
SEP, AGG = "\t", flows_script.AGG

SYN, ACK = 0x02, 0x10

# (IP version, address as an integer): tshark_flows.py's endpoint order.
ip_key = flows_script.ip_sort_key


class Frame:
    def __init__(self, line: str):
        self.cols = line.rstrip("\n").split(SEP)
        if len(self.cols) != len(FIELDS):
            raise ValueError(f"expected {len(FIELDS)} columns, got {len(self.cols)}")

    def all(self, f):
        v = self.cols[IDX[f]]
        return v.split(AGG) if v else []

    def first(self, f):
        a = self.all(f)
        return a[0] if a else None

    def int(self, f):
        v = self.first(f)
        return None if v is None else int(v, 0)


class Dir:
    def __init__(self):
        self.n = 0
        self.init = None
        self.last = None
        self.min = self.max = None
        self.sum = 0
        self.zero = self.up = self.down = 0
        self.scaled_max = None
        self.last_nonsyn_scale = "-"
        self.mss = None
        self.ws = None
        self.sack_perm = False
        self.ts = []  # (tsval, tsecr)
        self.syn = None
        self.capable = False


class Flow:
    def __init__(self, init):
        self.init = init  # (ip, port) of the first frame's source
        self.d = [Dir(), Dir()]
        self.sack_blocks = 0
        self.with_options = 0
        self.mptcp_packets = 0
        self.subtypes = set()


def tcp_frame(fr: Frame) -> bool:
    """The outermost IP layer carries TCP directly."""
    p = fr.first("frame.protocols").split(":")
    outer = next((i for i, t in enumerate(p) if t in ("ip", "ipv6")), None)
    if outer is None:
        return False
    i = outer + 1
    while i < len(p) and p[i].startswith("ipv6."):
        i += 1
    return i < len(p) and p[i] == "tcp"


def process(lines):
    flows = {}
    for line in lines:
        fr = Frame(line)
        if not tcp_frame(fr):
            continue
        v6 = fr.first("ip.src") is None
        src = fr.first("ipv6.src" if v6 else "ip.src")
        dst = fr.first("ipv6.dst" if v6 else "ip.dst")
        sp, dp = fr.int("tcp.srcport"), fr.int("tcp.dstport")
        a, b = (src, sp), (dst, dp)
        key = (a, b) if (ip_key(a[0]), a[1]) <= (ip_key(b[0]), b[1]) else (b, a)
        fl = flows.setdefault(key, Flow(a))
        fwd = a == fl.init
        d = fl.d[0 if fwd else 1]
        flags = fr.int("tcp.flags")
        raw = fr.int("tcp.window_size_value")
        scaled = fr.int("tcp.window_size")
        d.n += 1
        if d.init is None:
            d.init = raw
            d.min = d.max = raw
            d.scaled_max = scaled
        else:
            d.up += raw > d.last
            d.down += raw < d.last
            d.min, d.max = min(d.min, raw), max(d.max, raw)
            d.scaled_max = max(d.scaled_max, scaled)
        d.last = raw
        d.sum += raw
        d.zero += raw == 0
        if not flags & SYN:
            sf = fr.int("tcp.window_size_scalefactor")
            if sf is None:
                raise ValueError(f"frame {fr.first('frame.number')}: no scale factor")
            d.last_nonsyn_scale = "" if sf == -1 else 0 if sf == -2 else sf.bit_length() - 1
        kinds = [int(k) for k in fr.all("tcp.option_kind")]
        if 0 in kinds:
            kinds = kinds[: kinds.index(0) + 1]
        if fr.int("tcp.hdr_len") > 20:
            fl.with_options += 1
        if d.mss is None:
            d.mss = fr.int("tcp.options.mss_val")
        if d.ws is None:
            d.ws = fr.int("tcp.options.wscale.shift")
        d.sack_perm |= 4 in kinds
        fl.sack_blocks += len(fr.all("tcp.options.sack_le"))
        if fr.first("tcp.options.timestamp.tsval") is not None:
            d.ts.append((fr.int("tcp.options.timestamp.tsval"), fr.int("tcp.options.timestamp.tsecr")))
        want = SYN if fwd else SYN | ACK
        if d.syn is None and flags & (SYN | ACK) == want:
            d.syn = {
                "ver": 6 if v6 else 4,
                "window": raw,
                "ttl": fr.int("ipv6.hlim" if v6 else "ip.ttl"),
                "mss": fr.int("tcp.options.mss_val"),
                "ws": fr.int("tcp.options.wscale.shift"),
                "kinds": "-".join(map(str, kinds)),
            }
        subs = [int(s) for s in fr.all("tcp.options.mptcp.subtype")]
        if subs:
            fl.mptcp_packets += 1
            fl.subtypes.update(subs)
            if flags & SYN and (0 in subs or 1 in subs):
                d.capable = True
    return flows


def opt(v):
    return "" if v is None else v


def tf(b):
    return "true" if b else "false"


def row(key, fl: Flow):
    (ia, pa), (ib, pb) = key
    r = {"ip_a": ia, "port_a": pa, "ip_b": ib, "port_b": pb,
         "init_ip": fl.init[0], "init_port": fl.init[1]}
    f, b = fl.d
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_init_win_{name}"] = opt(d.init)
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_win_scale_{name}"] = d.last_nonsyn_scale
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_win_{name}_min"] = opt(d.min)
        r[f"tcp_win_{name}_max"] = opt(d.max)
        r[f"tcp_win_{name}_mean"] = repr(d.sum / d.n) if d.n else ""
        r[f"tcp_win_{name}_zero_count"] = d.zero
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_win_{name}_up_count"] = d.up
        r[f"tcp_win_{name}_down_count"] = d.down
        r[f"tcp_win_{name}_change_count"] = d.up + d.down
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_scaled_win_{name}_max"] = opt(d.scaled_max)
    n = f.n + b.n
    r["tcp_zero_win_ratio"] = repr((f.zero + b.zero) / n) if n else ""
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_mss_{name}"] = opt(d.mss)
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_ws_{name}"] = opt(d.ws)
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_sack_permitted_{name}"] = tf(d.sack_perm)
    r["tcp_sack_blocks_total"] = fl.sack_blocks
    for name, d in (("fwd", f), ("bwd", b)):
        r[f"tcp_ts_{name}_present"] = tf(d.ts)
        r[f"tcp_ts_{name}_first"] = d.ts[0][0] if d.ts else ""
        r[f"tcp_ts_{name}_last"] = d.ts[-1][0] if d.ts else ""
        r[f"tcp_ts_{name}_diff"] = (d.ts[-1][0] - d.ts[0][0]) % 2**32 if d.ts else ""
        r[f"tcp_ts_ecr_{name}_first"] = d.ts[0][1] if d.ts else ""
    bitmap = (1 if f.mss is not None or b.mss is not None else 0) \
        | (2 if f.ws is not None or b.ws is not None else 0) \
        | (4 if f.sack_perm or b.sack_perm else 0) \
        | (8 if f.ts or b.ts else 0)
    r["tcp_options_bitmap"] = bitmap
    r["tcp_options_pkt_count"] = fl.with_options
    for name, d in (("fwd", f), ("bwd", b)):
        s = d.syn or {}
        r[f"syn_{name}_ver"] = opt(s.get("ver"))
        r[f"tcp_fp_{name}_window"] = opt(s.get("window"))
        r[f"tcp_fp_{name}_ttl"] = opt(s.get("ttl"))
        r[f"tcp_fp_{name}_mss"] = opt(s.get("mss"))
        r[f"tcp_fp_{name}_ws"] = opt(s.get("ws"))
        r[f"syn_{name}_kinds"] = opt(s.get("kinds"))
    r["mptcp_detected"] = tf(fl.mptcp_packets)
    r["mptcp_capable_fwd"] = tf(f.capable)
    r["mptcp_capable_bwd"] = tf(b.capable)
    r["mptcp_option_count"] = fl.mptcp_packets
    r["mptcp_subtypes"] = "-".join(map(str, sorted(fl.subtypes)))
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("-o", "--output")
    ap.add_argument("--tshark", default="/usr/bin/tshark")
    args = ap.parse_args(argv)
    # The same tshark options as tshark_flows.py, this script's fields.
    cmd = flows_script.fields_command(args.tshark, args.capture, FIELDS)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace")
    flows = process(proc.stdout)
    err = [l for l in proc.stderr.read().splitlines() if l.strip() and "Running as user" not in l]
    if proc.wait() != 0:
        print(f"tshark failed on {args.capture}:\n" + "\n".join(err), file=sys.stderr)
        return 2
    for l in err:
        print(f"tshark: {l}", file=sys.stderr)
    rows = [row(k, flows[k]) for k in sorted(flows, key=lambda k: (ip_key(k[0][0]), k[0][1], ip_key(k[1][0]), k[1][1]))]
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        if rows:
            w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    finally:
        if args.output:
            out.close()
    print(f"{args.capture}: {len(rows)} TCP flows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
