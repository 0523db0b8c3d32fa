#!/usr/bin/env python3
"""Per-flow ground truth for the header groups ip_extended, ipv6_options, mac
and icmp, built on Wireshark's dissectors (tshark).

    python3 scripts/tshark_ip.py CAPTURE [-o OUT.csv] [--tshark /usr/bin/tshark]

Flows are exactly those of scripts/tshark_flows.py (same tshark options, no
defragmentation, same key rules including ICMP's ports 0/0 and fragments),
which this script imports; it adds the fields below to the same tshark run
and computes every column of the four groups per flow from them, with the
definitions of docs/semantics.md, independently of joyfuljay's code.

Direction: the flow's initiator is the source of its first frame in the
file; a frame is forward when its source address (and, for a flow between
two ports of one address, its source port) is the initiator's.

Fields read (first occurrence = outermost header):
* IP: the outer header only (``ip.*`` when the outer layer is ``ip``,
  ``ipv6.*`` when it is ``ipv6``): ip.ttl, ip.dsfield, ip.flags.rb/df/mf,
  ip.id, ipv6.hlim, ipv6.tclass, ipv6.flow.
* link: the first layer of frame.protocols after ``ppi``/``radiotap``/
  ``wlan_radio``: ``eth`` -> eth.src, eth.dst, eth.type (absent for 802.3
  length frames), ``sll`` -> sll.src.eth, sll.etype, ``wlan`` -> wlan.sa,
  wlan.da; vlan.id (first occurrence = outermost tag).
* ICMP: on protocol 1 / 58 flows, when the layer after the outer IP header
  (and its extension headers) is ``icmp`` / ``icmpv6`` and the frame is not
  a later fragment: icmp.type, icmp.code, icmp.ident, icmp.seq (echo types
  0 and 8 only), icmpv6.type, icmpv6.code, icmpv6.echo.identifier,
  icmpv6.echo.sequence_number (types 128 and 129 only).

Output columns: ip_a,port_a,ip_b,port_b,protocol (as tshark_flows.py), then
the groups' columns in registry order; null is an empty field, booleans are
true/false. Python 3.11 standard library only. Never produce the expected
files with our own tool.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_flows as tf  # noqa: E402

EXTRA = [
    "ip.ttl", "ip.dsfield", "ip.flags.rb", "ip.flags.df", "ip.flags.mf",
    "ipv6.hlim", "ipv6.tclass", "ipv6.flow",
    "eth.src", "eth.dst", "eth.type", "sll.src.eth", "sll.etype",
    "wlan.sa", "wlan.da", "vlan.id",
    "icmp.type", "icmp.code", "icmp.ident", "icmp.seq",
    "icmpv6.type", "icmpv6.code", "icmpv6.echo.identifier",
    "icmpv6.echo.sequence_number",
]
for _f in EXTRA:
    if _f not in tf.FIELDS:
        tf.FIELDS.append(_f)
tf.IDX.clear()
tf.IDX.update({name: i for i, name in enumerate(tf.FIELDS)})

INITIAL_TTLS = (32, 64, 128, 255)

COLUMNS = [
    # ip_extended
    "ip_ttl_fwd_min", "ip_ttl_fwd_max", "ip_ttl_fwd_mean", "ip_ttl_fwd_changes",
    "ip_ttl_bwd_min", "ip_ttl_bwd_max", "ip_ttl_bwd_mean", "ip_ttl_bwd_changes",
    "ip_ttl_fwd_initial_est", "ip_ttl_fwd_hops_est",
    "ip_tos_value", "ip_tos_unique_count", "ip_dscp", "ip_ecn",
    "ip_flags", "ip_df_count", "ip_df_ratio", "ip_version", "ip_id_gaps",
    # ipv6_options
    "ipv6_packet_count", "ipv4_packet_count", "ipv6_flow_label",
    "ipv6_flow_label_unique_count", "ipv6_flow_label_changes",
    "ipv6_traffic_class", "ipv6_traffic_class_unique_count", "ipv6_dscp",
    "ipv6_ecn", "ipv6_ratio", "is_ipv6_only",
    # mac
    "mac_src", "mac_dst", "mac_eth_type", "mac_vlan_id", "mac_vlan_count",
    "mac_unique_src_count", "mac_unique_dst_count", "mac_stat",
    "mac_broadcast_count", "mac_multicast_count",
    # icmp
    "icmp_packet_count", "icmp_echo_request_count", "icmp_echo_reply_count",
    "icmp_dest_unreachable_count", "icmp_time_exceeded_count",
    "icmp_unique_type_codes", "icmp_dominant_type", "icmp_dominant_type_count",
    "icmp_echo_success_ratio", "icmp_unique_ids", "icmp_seq_min",
    "icmp_seq_max", "icmp_seq_gaps", "icmp_stat", "icmp_ratio", "is_icmp_only",
]


class Pkt:
    """What the columns need of one frame."""
    __slots__ = ("fwd", "v6", "ttl", "tos", "rb", "df", "mf", "ip_id", "flow",
                 "src_mac", "dst_mac", "eth_type", "vlan", "icmp")

    def __init__(self):
        self.icmp = None  # (v6, type, code, id, seq) with id/seq None if not echo


def link_token(protocols: list[str]) -> str | None:
    for p in protocols:
        if p in ("ppi", "radiotap", "wlan_radio"):
            continue
        return p
    return None


def frame_pkt(fr, key, src, sport, pos) -> Pkt:
    p = Pkt()
    outer = next(i for i, x in enumerate(fr.protocols) if x in ("ip", "ipv6"))
    p.v6 = fr.protocols[outer] == "ipv6"
    if p.v6:
        p.ttl = fr.nth_int("ipv6.hlim")
        p.tos = fr.nth_int("ipv6.tclass")
        p.flow = fr.nth_int("ipv6.flow")
        p.rb = p.df = p.mf = p.ip_id = None
    else:
        p.ttl = fr.nth_int("ip.ttl")
        p.tos = fr.nth_int("ip.dsfield")
        p.rb = fr.nth_int("ip.flags.rb")
        p.df = fr.nth_int("ip.flags.df")
        p.mf = fr.nth_int("ip.flags.mf")
        p.ip_id = fr.nth_int("ip.id")
        p.flow = None
    link = link_token(fr.protocols)
    p.src_mac = p.dst_mac = p.eth_type = None
    if link == "eth":
        p.src_mac, p.dst_mac = fr.nth("eth.src"), fr.nth("eth.dst")
        p.eth_type = fr.nth_int("eth.type")
    elif link == "sll":
        p.src_mac = fr.nth("sll.src.eth")
        p.eth_type = fr.nth_int("sll.etype")
    elif link == "wlan":
        p.src_mac, p.dst_mac = fr.nth("wlan.sa"), fr.nth("wlan.da")
    p.vlan = fr.nth_int("vlan.id") if "vlan" in fr.protocols[:outer] else None
    proto = key[4]
    if pos is not None and pos < len(fr.protocols):
        if proto == 1 and fr.protocols[pos] == "icmp":
            occ = fr.protocols[:pos].count("icmp")
            t, c = fr.nth_int("icmp.type", occ), fr.nth_int("icmp.code", occ)
            ident = seq = None
            if t in (0, 8):
                # ident/seq occurrences: count earlier echo-bearing icmp layers
                # (none precede the outer one, so index 0).
                ident, seq = fr.nth_int("icmp.ident", 0), fr.nth_int("icmp.seq", 0)
            p.icmp = (False, t, c, ident, seq)
        elif proto == 58 and fr.protocols[pos] == "icmpv6":
            occ = fr.protocols[:pos].count("icmpv6")
            t, c = fr.nth_int("icmpv6.type", occ), fr.nth_int("icmpv6.code", occ)
            ident = seq = None
            if t in (128, 129):
                ident = fr.nth_int("icmpv6.echo.identifier", 0)
                seq = fr.nth_int("icmpv6.echo.sequence_number", 0)
            p.icmp = (True, t, c, ident, seq)
    return p


def initial_ttl(ttl: int) -> int:
    return next((t for t in INITIAL_TTLS if ttl <= t), 255)


def kind(v6: bool, t: int) -> str:
    table = {
        (False, 8): "req", (True, 128): "req",
        (False, 0): "rep", (True, 129): "rep",
        (False, 3): "unreach", (True, 1): "unreach",
        (False, 11): "exceeded", (True, 3): "exceeded",
        (False, 5): "redirect", (True, 137): "redirect",
    }
    return table.get((v6, t), "other")


def columns(v6_flow: bool, pkts: list[Pkt]) -> dict:
    out = {}
    n = len(pkts)
    # ip_extended
    for d, name in ((True, "fwd"), (False, "bwd")):
        ttls = [p.ttl for p in pkts if p.fwd == d and p.ttl is not None]
        if ttls:
            out[f"ip_ttl_{name}_min"] = min(ttls)
            out[f"ip_ttl_{name}_max"] = max(ttls)
            out[f"ip_ttl_{name}_mean"] = sum(ttls) / len(ttls)
            out[f"ip_ttl_{name}_changes"] = len(set(ttls)) - 1
        else:
            for k in ("min", "max", "mean", "changes"):
                out[f"ip_ttl_{name}_{k}"] = None
    first = next((p.ttl for p in pkts if p.fwd and p.ttl is not None), None)
    out["ip_ttl_fwd_initial_est"] = None if first is None else initial_ttl(first)
    out["ip_ttl_fwd_hops_est"] = None if first is None else initial_ttl(first) - first
    v4 = [p for p in pkts if not p.v6]
    if v4:
        tos = [p.tos for p in v4]
        out["ip_tos_value"] = min(tos)
        out["ip_tos_unique_count"] = len(set(tos))
        out["ip_dscp"] = min(tos) >> 2
        out["ip_ecn"] = min(tos) & 3
        flags = 0
        for p in v4:
            flags |= (p.rb << 2) | (p.df << 1) | p.mf
        out["ip_flags"] = flags
        df = sum(p.df for p in v4)
        out["ip_df_count"] = df
        out["ip_df_ratio"] = df / len(v4)
        gaps = 0
        for d in (True, False):
            ids = [p.ip_id for p in v4 if p.fwd == d]
            gaps += sum(1 for a, b in zip(ids, ids[1:]) if (b - a) % 65536 > 1)
        out["ip_id_gaps"] = gaps
    else:
        for k in ("ip_tos_value", "ip_tos_unique_count", "ip_dscp", "ip_ecn",
                  "ip_flags", "ip_df_count", "ip_df_ratio", "ip_id_gaps"):
            out[k] = None
    out["ip_version"] = 6 if v6_flow else 4
    # ipv6_options
    v6 = [p for p in pkts if p.v6]
    out["ipv6_packet_count"] = len(v6)
    out["ipv4_packet_count"] = len(v4)
    if v6:
        labels = {p.flow for p in v6}
        classes = {p.tos for p in v6}
        out["ipv6_flow_label"] = min(labels)
        out["ipv6_flow_label_unique_count"] = len(labels)
        out["ipv6_flow_label_changes"] = len(labels) - 1
        out["ipv6_traffic_class"] = min(classes)
        out["ipv6_traffic_class_unique_count"] = len(classes)
        out["ipv6_dscp"] = min(classes) >> 2
        out["ipv6_ecn"] = min(classes) & 3
    else:
        for k in ("ipv6_flow_label", "ipv6_flow_label_unique_count",
                  "ipv6_flow_label_changes", "ipv6_traffic_class",
                  "ipv6_traffic_class_unique_count", "ipv6_dscp", "ipv6_ecn"):
            out[k] = None
    out["ipv6_ratio"] = len(v6) / n
    out["is_ipv6_only"] = len(v6) == n
    # mac
    f0 = pkts[0]
    out["mac_src"] = f0.src_mac
    out["mac_dst"] = f0.dst_mac
    out["mac_eth_type"] = f0.eth_type
    vlans = {p.vlan for p in pkts if p.vlan is not None}
    out["mac_vlan_id"] = min(vlans) if vlans else None
    out["mac_vlan_count"] = len(vlans)
    srcs = {p.src_mac for p in pkts if p.src_mac}
    dsts = {p.dst_mac for p in pkts if p.dst_mac}
    out["mac_unique_src_count"] = len(srcs)
    out["mac_unique_dst_count"] = len(dsts)
    stat = 0
    stat |= 1 if f0.src_mac else 0
    stat |= 2 if f0.dst_mac else 0
    stat |= 4 if len(srcs) > 1 else 0
    stat |= 8 if len(dsts) > 1 else 0
    stat |= 16 if vlans else 0
    out["mac_stat"] = stat
    out["mac_broadcast_count"] = sum(1 for p in pkts if p.dst_mac == "ff:ff:ff:ff:ff:ff")
    out["mac_multicast_count"] = sum(
        1 for p in pkts
        if p.dst_mac and p.dst_mac != "ff:ff:ff:ff:ff:ff" and int(p.dst_mac[:2], 16) & 1)
    # icmp
    msgs = [p.icmp for p in pkts if p.icmp is not None]
    kinds = [kind(m[0], m[1]) for m in msgs]
    out["icmp_packet_count"] = len(msgs)
    req = kinds.count("req")
    rep = kinds.count("rep")
    out["icmp_echo_request_count"] = req
    out["icmp_echo_reply_count"] = rep
    out["icmp_dest_unreachable_count"] = kinds.count("unreach")
    out["icmp_time_exceeded_count"] = kinds.count("exceeded")
    out["icmp_unique_type_codes"] = len({(m[1], m[2]) for m in msgs})
    if msgs:
        counts: dict[int, int] = {}
        for m in msgs:  # dicts keep insertion order: ties go to the earliest
            counts[m[1]] = counts.get(m[1], 0) + 1
        best = max(counts.values())
        dom = next(t for t, c in counts.items() if c == best)
        out["icmp_dominant_type"] = dom
        out["icmp_dominant_type_count"] = best
    else:
        out["icmp_dominant_type"] = out["icmp_dominant_type_count"] = None
    out["icmp_echo_success_ratio"] = rep / req if req else None
    echo = [m for m in msgs if m[3] is not None]
    out["icmp_unique_ids"] = len({m[3] for m in echo})
    out["icmp_seq_min"] = min(m[4] for m in echo) if echo else None
    out["icmp_seq_max"] = max(m[4] for m in echo) if echo else None
    reqs = [m for m in echo if kind(m[0], m[1]) == "req"]
    if reqs:
        out["icmp_seq_gaps"] = sum(
            1 for a, b in zip(reqs, reqs[1:]) if a[3] == b[3] and (b[4] - a[4]) % 65536 > 1)
    else:
        out["icmp_seq_gaps"] = None
    bits = {"req": 1, "rep": 2, "unreach": 4, "exceeded": 8, "redirect": 16, "other": 32}
    stat = 0
    for k in set(kinds):
        stat |= bits[k]
    out["icmp_stat"] = stat
    out["icmp_ratio"] = len(msgs) / n
    out["is_icmp_only"] = len(msgs) == n
    return out


def fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("-o", "--output", help="CSV file (default stdout)")
    ap.add_argument("--tshark", default="/usr/bin/tshark")
    args = ap.parse_args(argv)

    cmd = tf.run_tshark(args.tshark, args.capture)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace")
    st = tf.Stats()
    per_flow: dict[tuple, list[Pkt]] = {}
    initiator: dict[tuple, tuple] = {}

    def on_frame(fr, key, src, sport, pos):
        p = frame_pkt(fr, key, src, sport, pos)
        first = initiator.setdefault(key, (src, sport))
        if key[0] == key[2]:  # one address at both ends: the ports decide
            p.fwd = (src, sport) == first
        else:
            p.fwd = src == first[0]
        per_flow.setdefault(key, []).append(p)

    tf.process((tf.Frame(line) for line in proc.stdout), st, on_frame)
    err = proc.stderr.read()
    rc = proc.wait()
    if rc != 0:
        print(f"tshark failed ({rc}) on {args.capture}:\n{err}", file=sys.stderr)
        return 2

    def sort_key(k):
        return (tf.ip_sort_key(k[0]), k[1], tf.ip_sort_key(k[2]), k[3], k[4])

    out = open(args.output, "w", newline="") if args.output else sys.stdout
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["ip_a", "port_a", "ip_b", "port_b", "protocol"] + COLUMNS)
    for k in sorted(per_flow, key=sort_key):
        v6 = ":" in k[0]
        vals = columns(v6, per_flow[k])
        assert list(vals) == COLUMNS or sorted(vals) == sorted(COLUMNS)
        w.writerow(list(k) + [fmt(vals[c]) for c in COLUMNS])
    if args.output:
        out.close()
    for reason, count in sorted(st.skipped.items()):
        print(f"skipped {count} frames: {reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
