#!/usr/bin/env python3
"""Per-flow TCP ground truth from Wireshark's TCP dissector and its sequence
analysis (tshark), for the `tcp`, `tcp_sequence` and `tcp_rtt` groups.

    python3 scripts/tshark_tcp.py CAPTURE [-o OUT.csv] [--tshark /usr/bin/tshark]

tshark runs with TCP sequence analysis on, absolute sequence numbers printed
raw (``tcp.seq_raw``), no TCP reassembly and no IP defragmentation.  The
analysis flags (``tcp.analysis.retransmission`` ...) are FT_NONE fields that
``-T fields`` prints empty, so each flag is read with its own display-filter
run (``-Y FLAG -T fields -e frame.number``).

Every 5-tuple is one flow (TCP-close splitting off, infinite idle timeout);
fwd = the source of the flow's first TCP frame.  Only frames whose outermost
transport is TCP count (a TCP header quoted inside an ICMP error does not).

Output: one row per TCP 5-tuple, sorted by key; (ip_a, port_a) is the smaller
endpoint (IPv4 before IPv6, address as integer, then port).  Columns:

  ip_a,port_a,ip_b,port_b        the key
  init_ip,init_port              the initiator (fwd)
  packets                        TCP frames
  syn,ack,fin,rst,psh,urg,ece,cwr  frames with the flag (tcp.flags.*)
  synack                         frames with SYN and ACK
  syn_fwd,syn_bwd,psh_fwd,psh_bwd,fin_fwd,fin_bwd
  flags_fwd,flags_bwd            OR of the 8 flag bits per direction
  data_packets                   frames with tcp.len > 0
  ack_only                       ACK set, no SYN/FIN/RST, tcp.len == 0
  initial_window                 tcp.window_size_value of the initiator's first
                                 SYN without ACK (empty: none)
  handshake                      1: an initiator SYN (no ACK), then a responder
                                 SYN-ACK, then an initiator ACK (no SYN) whose
                                 ack number is that SYN-ACK's seq + 1
  retrans_fwd,retrans_bwd        frames flagged retransmission, fast_retransmission
                                 or spurious_retransmission
  ooo_fwd,ooo_bwd                frames flagged out_of_order
  dupack_fwd,dupack_bwd          frames flagged duplicate_ack
  isn_fwd,isn_bwd                tcp.seq_raw of each direction's first frame
  ack_rtt_us                     tcp.analysis.ack_rtt of every frame, in frame
                                 order, microseconds, space separated
  ack_rtt_dir                    f/b: direction of the ACK carrying each sample
  initial_rtt_us                 tcp.analysis.initial_rtt (the last one shown
                                 in the flow), microseconds; empty: none
  streams                        distinct tcp.stream values (>1: Wireshark
                                 split the 5-tuple after port reuse)
  lost_fwd,lost_bwd              frames flagged lost_segment
  ack_fwd,ack_bwd                frames with ACK set
  new_bytes_fwd,new_bytes_bwd    tcp.len of the frames not flagged as any
                                 retransmission
  ts_rtt_us                      timestamp-option RTT samples, frame order, µs:
                                 a frame with TSecr != 0 echoing a TSval that
                                 the other direction sent gives now minus the
                                 time of the LAST frame that carried that
                                 TSval, kept when 0 < rtt < 60 s

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
import tshark_flows as tf  # noqa: E402

PREFS = [
    "tcp.analyze_sequence_numbers:TRUE",
    "tcp.relative_sequence_numbers:TRUE",
    "tcp.desegment_tcp_streams:FALSE",
    "tcp.calculate_timestamps:TRUE",
    "ip.defragment:FALSE",
    "ipv6.defragment:FALSE",
    "tcp.try_heuristic_first:FALSE",
    "tcp.no_subdissector_on_error:TRUE",
]

FIELDS = [
    "frame.number",
    "frame.time_epoch",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.len",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.initial_rtt",
    "tcp.stream",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
]
IDX = {n: i for i, n in enumerate(FIELDS)}

FLAG_FILTERS = {
    "retrans": "tcp.analysis.retransmission or tcp.analysis.fast_retransmission"
               " or tcp.analysis.spurious_retransmission",
    "ooo": "tcp.analysis.out_of_order",
    "dupack": "tcp.analysis.duplicate_ack",
    "lost": "tcp.analysis.lost_segment",
}

HEADER = [
    "ip_a", "port_a", "ip_b", "port_b", "init_ip", "init_port", "packets",
    "syn", "ack", "fin", "rst", "psh", "urg", "ece", "cwr", "synack",
    "syn_fwd", "syn_bwd", "psh_fwd", "psh_bwd", "fin_fwd", "fin_bwd",
    "flags_fwd", "flags_bwd", "data_packets", "ack_only", "initial_window",
    "handshake", "retrans_fwd", "retrans_bwd", "ooo_fwd", "ooo_bwd",
    "dupack_fwd", "dupack_bwd", "isn_fwd", "isn_bwd", "ack_rtt_us",
    "ack_rtt_dir", "initial_rtt_us", "streams", "lost_fwd", "lost_bwd",
    "ack_fwd", "ack_bwd", "new_bytes_fwd", "new_bytes_bwd", "ts_rtt_us",
]


def base(tshark: str, capture: str) -> list[str]:
    return tf.tshark_base(tshark, capture, PREFS)


def run(cmd: list[str]) -> list[str]:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"tshark failed ({p.returncode}): {p.stderr}")
    return p.stdout.splitlines()


def secs_to_us(text: str) -> int:
    """'0.000123000' -> 123 (exact for captures with microsecond stamps)."""
    whole, _, frac = text.partition(".")
    ns = int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])
    return (ns + 500) // 1000


def epoch_us(text: str) -> int:
    """frame.time_epoch -> integer microseconds (rounded half up)."""
    return secs_to_us(text)


def ip_key(ip: str, port: int):
    return (*tf.ip_sort_key(ip), port)


def outer_is_tcp(protocols: list[str]) -> bool:
    """The first transport after the outermost IP layer is TCP."""
    seen_ip = False
    for p in protocols:
        if p in ("ip", "ipv6"):
            if seen_ip:
                return False  # tunnelled: keyed on the outer header elsewhere
            seen_ip = True
        elif p.startswith("ipv6."):
            continue
        elif seen_ip:
            return p == "tcp"
    return False


class Flow:
    def __init__(self, init):
        self.init = init
        self.c = {h: 0 for h in HEADER[6:]}
        self.c["initial_window"] = ""
        self.c["isn_fwd"] = ""
        self.c["isn_bwd"] = ""
        self.c["initial_rtt_us"] = ""
        self.rtts: list[str] = []
        self.rtt_dirs: list[str] = []
        self.streams: set[str] = set()
        self.syn_seen = False
        self.synack_next: set[int] = set()
        self.sent: dict[tuple[str, int], int] = {}
        self.ts_rtts: list[str] = []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("-o", "--output")
    ap.add_argument("--tshark", default="/usr/bin/tshark")
    args = ap.parse_args(argv)

    cmd = base(args.tshark, args.capture) + [
        "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f",
        "-E", "quote=n", "-E", "header=n"]
    for f in FIELDS:
        cmd += ["-e", f]
    marks: dict[str, set[str]] = {}
    for name, flt in FLAG_FILTERS.items():
        marks[name] = set(run(base(args.tshark, args.capture)
                              + ["-Y", flt, "-T", "fields", "-e", "frame.number"]))

    flows: dict[tuple, Flow] = {}
    for line in run(cmd):
        c = line.split("\t")
        if not outer_is_tcp(c[IDX["frame.protocols"]].split(":")):
            continue
        src = c[IDX["ip.src"]] or c[IDX["ipv6.src"]]
        dst = c[IDX["ip.dst"]] or c[IDX["ipv6.dst"]]
        sport, dport = int(c[IDX["tcp.srcport"]]), int(c[IDX["tcp.dstport"]])
        a, b = (src, sport), (dst, dport)
        key = (a, b) if ip_key(*a) <= ip_key(*b) else (b, a)
        fl = flows.get(key)
        if fl is None:
            fl = flows[key] = Flow(a)
        fwd = a == fl.init
        d = "fwd" if fwd else "bwd"
        num = c[IDX["frame.number"]]
        flags = int(c[IDX["tcp.flags"]], 16) & 0xFF
        tlen = int(c[IDX["tcp.len"]])
        seq = int(c[IDX["tcp.seq_raw"]])
        ack = int(c[IDX["tcp.ack_raw"]]) if c[IDX["tcp.ack_raw"]] else 0
        k = fl.c
        k["packets"] += 1
        syn, ackf, fin, rst = flags & 2, flags & 0x10, flags & 1, flags & 4
        for name, bit in (("fin", 1), ("syn", 2), ("rst", 4), ("psh", 8),
                          ("ack", 0x10), ("urg", 0x20), ("ece", 0x40),
                          ("cwr", 0x80)):
            if flags & bit:
                k[name] += 1
        if syn and ackf:
            k["synack"] += 1
        if syn:
            k["syn_" + d] += 1
        if flags & 8:
            k["psh_" + d] += 1
        if fin:
            k["fin_" + d] += 1
        k["flags_" + d] |= flags
        if tlen > 0:
            k["data_packets"] += 1
        if ackf and not (flags & 7) and tlen == 0:
            k["ack_only"] += 1
        if fwd and syn and not ackf and k["initial_window"] == "":
            k["initial_window"] = int(c[IDX["tcp.window_size_value"]])
        if fwd and syn and not ackf:
            fl.syn_seen = True
        if not fwd and syn and ackf and fl.syn_seen:
            fl.synack_next.add((seq + 1) % 2**32)
        if fwd and ackf and not syn and ack in fl.synack_next:
            k["handshake"] = 1
        if k["isn_" + d] == "":
            k["isn_" + d] = seq
        for name in FLAG_FILTERS:
            if num in marks[name]:
                k[f"{name}_{d}"] += 1
        rtt = c[IDX["tcp.analysis.ack_rtt"]]
        if rtt:
            fl.rtts.append(str(secs_to_us(rtt)))
            fl.rtt_dirs.append(d[0])
        irtt = c[IDX["tcp.analysis.initial_rtt"]]
        if irtt:
            k["initial_rtt_us"] = secs_to_us(irtt)
        fl.streams.add(c[IDX["tcp.stream"]])
        if ackf:
            k["ack_" + d] += 1
        if num not in marks["retrans"]:
            k["new_bytes_" + d] += tlen
        tsval = c[IDX["tcp.options.timestamp.tsval"]]
        if tsval:
            now = epoch_us(c[IDX["frame.time_epoch"]])
            tsecr = int(c[IDX["tcp.options.timestamp.tsecr"]])
            fl.sent[(d, int(tsval))] = now
            other = "bwd" if fwd else "fwd"
            if tsecr != 0 and (other, tsecr) in fl.sent:
                r = now - fl.sent[(other, tsecr)]
                if 0 < r < 60_000_000:
                    fl.ts_rtts.append(str(r))

    out = open(args.output, "w", newline="") if args.output else sys.stdout
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    for key in sorted(flows, key=lambda k: (ip_key(*k[0]), ip_key(*k[1]))):
        fl = flows[key]
        fl.c["ack_rtt_us"] = " ".join(fl.rtts)
        fl.c["ack_rtt_dir"] = "".join(fl.rtt_dirs)
        fl.c["streams"] = len(fl.streams)
        fl.c["ts_rtt_us"] = " ".join(fl.ts_rtts)
        if len(fl.streams) > 1:
            print(f"note: {key} spans tcp.stream {sorted(fl.streams)}", file=sys.stderr)
        w.writerow([key[0][0], key[0][1], key[1][0], key[1][1], fl.init[0],
                    fl.init[1]] + [fl.c[h] for h in HEADER[6:]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
