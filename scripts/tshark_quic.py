#!/usr/bin/env python3
"""Independent per-flow truth for the quic group, from Wireshark's QUIC
dissector (which decrypts client and server Initial packets itself).

    python3 scripts/tshark_quic.py CAPTURE [-o OUT.csv] [--tshark /usr/bin/tshark]

tshark runs once (``-T fields``, every occurrence of each field, default
preferences). Frames count when their outermost IP header carries UDP
directly: ICMP errors quoting a QUIC packet are not packets of the UDP flow.
Frames are grouped by bidirectional 5-tuple (every 5-tuple one flow, as with
an infinite idle timeout); the flow's initiator is the source of its first
frame. Per flow (columns named as the group's columns; empty = null):

* is_quic: tshark dissected QUIC (``quic.header_form``) in some frame.
* version, connection IDs: ``quic.version``, ``quic.dcil``/``quic.scil``,
  ``quic.dcid``/``quic.scid`` of the first frame with QUIC, whose first
  packet must be a long header (its first occurrences); the version text as
  the group documents it (v1, v2, draft-N, else 0x%08x).
* counts: one ``quic.header_form`` occurrence per QUIC packet (coalesced
  packets each count): 1 long, 0 short; packet types from
  ``quic.long.packet_type`` (v1 bits: 0 Initial, 1 0-RTT, 2 Handshake,
  3 Retry) and ``quic.long.packet_type_v2`` (v2 bits: 1 Initial, 2 0-RTT,
  3 Handshake, 0 Retry).
* ClientHello: the first initiator frame with ``tls.handshake.type`` 1:
  ``tls.handshake.extensions_alpn_str`` (list), ``..._server_name``, and a
  JA4 computed here from ``tls.handshake.ciphersuite``,
  ``tls.handshake.extension.type``, ``tls.handshake.sig_hash_alg`` and
  ``tls.handshake.extensions.supported_version`` by FoxIO's published
  definition (GREASE dropped; q prefix).
* quic_pn_length: ``quic.packet_number_length`` + 1 of the initiator's first
  Initial packet (Wireshark's field is the 2-bit value, length - 1).
* quic_spin_bit: ``quic.spin_bit`` (short headers only) takes both values.

Python 3.11 standard library only. Never produce the expected files with our
own tool.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import ipaddress
import json
import subprocess
import sys

FIELDS = [
    "frame.number",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "udp.srcport",
    "udp.dstport",
    "quic.header_form",
    "quic.version",
    "quic.long.packet_type",
    "quic.long.packet_type_v2",
    "quic.dcil",
    "quic.scil",
    "quic.dcid",
    "quic.scid",
    "quic.packet_number_length",
    "quic.spin_bit",
    "tls.handshake.type",
    "tls.handshake.extensions_server_name",
    "tls.handshake.extensions_alpn_str",
    "tls.handshake.ciphersuite",
    "tls.handshake.extension.type",
    "tls.handshake.sig_hash_alg",
    "tls.handshake.extensions.supported_version",
]
IDX = {n: i for i, n in enumerate(FIELDS)}
AGG = "\x1f"

OUT_COLUMNS = [
    "ip_a", "port_a", "ip_b", "port_b", "init_ip", "init_port",
    "is_quic", "quic_version", "quic_version_str", "quic_dcid_len", "quic_scid_len",
    "quic_dcid", "quic_scid", "quic_initial_packets", "quic_handshake_packets",
    "quic_retry_count", "quic_0rtt_packets", "quic_alpn", "quic_is_http3",
    "quic_packet_count", "quic_long_header_count", "quic_short_header_count",
    "quic_pn_length", "quic_0rtt_detected", "quic_retry_detected", "quic_spin_bit",
    "quic_sni", "quic_ja4",
]

V1_TYPES = {0: "initial", 1: "0rtt", 2: "handshake", 3: "retry"}
V2_TYPES = {1: "initial", 2: "0rtt", 3: "handshake", 0: "retry"}
TLS_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
                0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}


def grease(v: int) -> bool:
    return v & 0x0F0F == 0x0A0A and v >> 8 == v & 0xFF


def version_str(v: int) -> str:
    if v == 1:
        return "v1"
    if v == 0x6B3343CF:
        return "v2"
    if v & 0xFFFFFF00 == 0xFF000000 and v & 0xFF:
        return f"draft-{v & 0xFF}"
    return f"0x{v:08x}"


def ja4(ciphers, exts, sigs, versions, sni, alpn) -> str:
    ciphers = [c for c in ciphers if not grease(c)]
    exts = [e for e in exts if not grease(e)]
    vs = [v for v in versions if not grease(v)]
    ver = TLS_VERSIONS.get(max(vs), "00") if vs else "00"
    first = alpn[0] if alpn else ""
    a = (first[0] + first[-1]) if first else "00"
    head = f"q{ver}{'d' if sni else 'i'}{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{a}"
    h = lambda s: hashlib.sha256(s.encode()).hexdigest()[:12]
    b = h(",".join(f"{c:04x}" for c in sorted(ciphers))) if ciphers else "000000000000"
    rest = [e for e in sorted(exts) if e not in (0x0000, 0x0010)]
    c_text = ",".join(f"{e:04x}" for e in rest)
    if sigs:
        c_text += "_" + ",".join(f"{s:04x}" for s in sigs)
    c = h(c_text) if rest or sigs else "000000000000"
    return f"{head}_{b}_{c}"


def ip_key(ip: str):
    a = ipaddress.ip_address(ip)
    return (a.version, int(a))


class Flow:
    def __init__(self, init):
        self.init = init
        self.quic = False
        self.first = None  # (version, dcil, scil, dcid, scid)
        self.n = {"long": 0, "short": 0, "initial": 0, "handshake": 0, "retry": 0, "0rtt": 0}
        self.hello = None
        self.pn_len = None
        self.spin = set()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("--tshark", default="tshark")
    a = ap.parse_args(argv)
    cmd = [a.tshark, "-n", "-r", a.capture, "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", f"aggregator={AGG}", "-E", "quote=n", "-E", "header=n"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    flows: dict = {}
    order = []
    for line in out.splitlines():
        cols = line.split("\t")
        get = lambda f: [x for x in cols[IDX[f]].split(AGG) if x != ""]
        protos = cols[IDX["frame.protocols"]].split(":")
        # Outermost IP layer must carry UDP directly; no ICMP errors.
        ipl = next((i for i, p in enumerate(protos) if p in ("ip", "ipv6")), None)
        if ipl is None or ipl + 1 >= len(protos) or protos[ipl + 1] != "udp" or "icmp" in protos:
            continue
        v6 = protos[ipl] == "ipv6"
        src = get("ipv6.src" if v6 else "ip.src")[0]
        dst = get("ipv6.dst" if v6 else "ip.dst")[0]
        sp, dp = int(get("udp.srcport")[0]), int(get("udp.dstport")[0])
        e1, e2 = (src, sp), (dst, dp)
        key = tuple(sorted([e1, e2], key=lambda e: (ip_key(e[0]), e[1])))
        if key not in flows:
            flows[key] = Flow(e1)
            order.append(key)
        fl = flows[key]
        fwd = e1 == fl.init
        forms = [int(x) for x in get("quic.header_form")]
        if not forms:
            continue
        if not fl.quic:
            fl.quic = True
            assert forms[0] == 1, f"frame {cols[0]}: first QUIC packet of the flow is short"
            fl.first = (int(get("quic.version")[0], 16), int(get("quic.dcil")[0]),
                        int(get("quic.scil")[0]), get("quic.dcid")[0], get("quic.scid")[0])
        fl.n["long"] += forms.count(1)
        fl.n["short"] += forms.count(0)
        for t in get("quic.long.packet_type"):
            fl.n[V1_TYPES[int(t)]] += 1
        for t in get("quic.long.packet_type_v2"):
            fl.n[V2_TYPES[int(t)]] += 1
        types = get("quic.long.packet_type") + get("quic.long.packet_type_v2")
        if fwd and fl.pn_len is None and forms[0] == 1:
            t1, t2 = get("quic.long.packet_type"), get("quic.long.packet_type_v2")
            is_initial = (t1 and int(t1[0]) == 0) or (t2 and int(t2[0]) == 1)
            pnl = get("quic.packet_number_length")
            if is_initial and pnl:
                fl.pn_len = int(pnl[0]) + 1
        del types
        for s in get("quic.spin_bit"):
            fl.spin.add(s)
        if fwd and fl.hello is None and "1" in get("tls.handshake.type"):
            fl.hello = {
                "sni": (get("tls.handshake.extensions_server_name") or [None])[0],
                "alpn": get("tls.handshake.extensions_alpn_str"),
                "ciphers": [int(x, 16) for x in get("tls.handshake.ciphersuite")],
                "exts": [int(x) for x in get("tls.handshake.extension.type")],
                "sigs": [int(x, 16) for x in get("tls.handshake.sig_hash_alg")],
                "versions": [int(x, 16) for x in get("tls.handshake.extensions.supported_version")],
            }
    b = lambda x: "true" if x else "false"
    rows = []
    for key in sorted(order, key=lambda k: (ip_key(k[0][0]), k[0][1], ip_key(k[1][0]), k[1][1])):
        fl = flows[key]
        r = {"ip_a": key[0][0], "port_a": key[0][1], "ip_b": key[1][0], "port_b": key[1][1],
             "init_ip": fl.init[0], "init_port": fl.init[1], "is_quic": b(fl.quic)}
        if fl.first:
            v, dl, sl, d, s = fl.first
            r.update(quic_version=v, quic_version_str=version_str(v), quic_dcid_len=dl,
                     quic_scid_len=sl, quic_dcid=d.replace(":", ""), quic_scid=s.replace(":", ""))
        n = fl.n
        h = fl.hello
        alpn = h["alpn"] if h and h["alpn"] else None
        r.update(
            quic_initial_packets=n["initial"], quic_handshake_packets=n["handshake"],
            quic_retry_count=n["retry"], quic_0rtt_packets=n["0rtt"],
            quic_alpn=json.dumps(alpn, separators=(",", ":")) if alpn else "",
            quic_is_http3=b(alpn and any(p.startswith("h3") for p in alpn)),
            quic_packet_count=n["long"] + n["short"], quic_long_header_count=n["long"],
            quic_short_header_count=n["short"],
            quic_pn_length="" if fl.pn_len is None else fl.pn_len,
            quic_0rtt_detected=b(n["0rtt"]), quic_retry_detected=b(n["retry"]),
            quic_spin_bit=b(len(fl.spin) == 2),
            quic_sni=(h["sni"] or "") if h else "",
            quic_ja4=ja4(h["ciphers"], h["exts"], h["sigs"], h["versions"], h["sni"], h["alpn"]) if h else "",
        )
        rows.append(r)
    f = sys.stdout if a.output == "-" else open(a.output, "w", newline="")
    w = csv.DictWriter(f, fieldnames=OUT_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
