#!/usr/bin/env python3
"""Independent per-flow truth for the tls group, from Wireshark's TLS
dissector (and OpenSSL for the certificate fields).

    python3 scripts/tshark_tls.py CAPTURE [-o OUT.csv] [--tshark /usr/bin/tshark]

tshark runs once over the capture with TCP and TLS reassembly on (its
defaults), TLS decoded on the extra ports our test captures use (4443, 6443,
8443, 9443), every occurrence of each field. Frames are grouped by TCP
5-tuple (every 5-tuple one flow); the flow's initiator is the source of its
first frame. Only frames whose outermost IP header carries TCP count (as in
scripts/tshark_tcp_options.py: not ICMP errors quoting TCP, not tunnelled
TCP). Per flow (columns named as the tls columns they check; lists as
JSON arrays, booleans true/false, empty = null):

* The FIRST ClientHello and the FIRST ServerHello of the flow (a frame whose
  ``tls.handshake.type`` list holds 1 or 2 and that Wireshark does not call
  malformed): ``tls.handshake.version``,
  ``ciphersuite``, ``extension.type``, ``extensions_length``,
  ``session_id_length``, ``extensions_server_name``, ``extensions_alpn_str``,
  ``extensions.supported_version``, ``extensions_supported_group``,
  ``extensions_ec_point_format``, ``sig_hash_alg``, ``ja3(_full)``,
  ``ja3s(_full)``; the ServerHello's ``extensions_key_share_group`` and
  ``extensions_key_share_key_exchange_length``.
* tls_version: the ServerHello's selected supported_version, else its
  version, else the ClientHello's version.
* The first ServerKeyExchange: ``server_named_curve``, ``server_point_len``
  (bytes), ``p_len`` (bytes); key exchange length in bits.
* The first Certificate message: ``tls.handshake.certificate`` (DER of each
  certificate) and ``certificate_length``; the first certificate's issuer
  and subject CN, validity days and issuer == subject from
  ``openssl x509 -inform DER`` (not from Wireshark, not from our code).
* tls_handshake_type: the first ``tls.handshake.type`` of the initiator's
  frames, else of the responder's.
* tls_handshake_packets: TCP frames whose ``tcp.payload`` starts with 16 03.
* tls_session_resumed: a TLS 1.3 ServerHello listing extension 41, or a TLS
  1.2-and-earlier server whose next record after the ServerHello's is a
  ChangeCipherSpec (``tls.record.content_type`` 20 before any Certificate).
* ja4, ja4_r, ja4s, ja4s_r: FoxIO's JA4/JA4S definitions, computed here from
  the tshark fields above (tshark 4.0 has no JA4).

Python 3.11 standard library plus the openssl binary. Never produce the
expected files with our own tool.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_flows as flows_script  # noqa: E402
from tshark_tcp_options import tcp_frame  # noqa: E402

AGG = ";"
FIELDS = [
    "frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
    "tcp.payload", "tls.record.content_type", "tls.handshake.type", "tls.handshake.version",
    "tls.handshake.ciphersuite", "tls.handshake.extension.type",
    "tls.handshake.extensions_length", "tls.handshake.session_id_length",
    "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
    "tls.handshake.extensions.supported_version", "tls.handshake.extensions_supported_group",
    "tls.handshake.extensions_ec_point_format", "tls.handshake.sig_hash_alg",
    "tls.handshake.ja3_full", "tls.handshake.ja3", "tls.handshake.ja3s_full", "tls.handshake.ja3s",
    "tls.handshake.extensions_key_share_group",
    "tls.handshake.extensions_key_share_key_exchange_length",
    "tls.handshake.server_named_curve", "tls.handshake.server_point_len", "tls.handshake.p_len",
    "tls.handshake.certificate", "tls.handshake.certificate_length", "_ws.expert.message",
]
IDX = {n: i for i, n in enumerate(FIELDS)}
PREFS = ["tcp.desegment_tcp_streams:TRUE", "tls.desegment_ssl_records:TRUE",
         "tls.desegment_ssl_application_data:TRUE"]
DECODE = ["tcp.port==4443,tls", "tcp.port==6443,tls", "tcp.port==8443,tls", "tcp.port==9443,tls"]

COLUMNS = [
    "src_ip", "src_port", "dst_ip", "dst_port",
    "tls_version", "tls_handshake_type", "tls_cipher_suite", "sni", "sni_len",
    "ja3_hash", "ja3_str", "ja3s_hash", "ja3s_str", "tls_extensions_count", "tls_extensions_len",
    "tls_supported_versions", "tls_supported_groups", "tls_ec_point_formats", "tls_alpn",
    "tls_cipher_suites_count", "tls_cipher_suites", "tls_cert_issuer", "tls_cert_subject",
    "tls_cert_validity_days", "tls_cert_is_self_signed", "tls_detected", "tls_handshake_packets",
    "tls_cert_count", "tls_cert_total_length", "tls_cert_first_length", "tls_session_id_len",
    "tls_session_ticket_ext", "tls_session_resumed", "tls_psk_ext", "tls_early_data_ext",
    "tls_key_exchange_group", "tls_key_exchange_length", "ja4", "ja4_r", "ja4s", "ja4s_r",
    "tls_server_alpn",
]


def grease(v: int) -> bool:
    return v & 0x0F0F == 0x0A0A and v >> 8 == v & 0xFF


class Frame:
    def __init__(self, line: str):
        self.cols = line.rstrip("\n").split("\t")

    def all(self, f):
        v = self.cols[IDX[f]]
        return v.split(AGG) if v else []

    def ints(self, f):
        return [int(x, 0) for x in self.all(f)]

    def first(self, f):
        a = self.all(f)
        return a[0] if a else None


class Flow:
    def __init__(self, init):
        self.init = init
        self.ch = None
        self.sh = None
        self.ske = None
        self.certs = None
        self.first_type = [None, None]
        self.hs_packets = 0
        self.server_records = []  # content types of the server's records, in order
        self.server_types = []  # handshake types of the server's messages, in order


def hello_fields(fr: Frame) -> dict:
    return {
        "version": int(fr.first("tls.handshake.version"), 0),
        "ciphers": fr.ints("tls.handshake.ciphersuite"),
        "exts": fr.ints("tls.handshake.extension.type"),
        "ext_len": int(fr.first("tls.handshake.extensions_length") or 0),
        "sid_len": int(fr.first("tls.handshake.session_id_length") or 0),
        "sni": fr.first("tls.handshake.extensions_server_name"),
        "alpn": fr.all("tls.handshake.extensions_alpn_str"),
        "versions": fr.ints("tls.handshake.extensions.supported_version"),
        "groups": fr.ints("tls.handshake.extensions_supported_group"),
        "formats": fr.ints("tls.handshake.extensions_ec_point_format"),
        "sigs": fr.ints("tls.handshake.sig_hash_alg"),
        "ja3_full": fr.first("tls.handshake.ja3_full"),
        "ja3": fr.first("tls.handshake.ja3"),
        "ja3s_full": fr.first("tls.handshake.ja3s_full"),
        "ja3s": fr.first("tls.handshake.ja3s"),
        "ks_group": fr.first("tls.handshake.extensions_key_share_group"),
        "ks_len": fr.first("tls.handshake.extensions_key_share_key_exchange_length"),
    }


def process(lines):
    flows = {}
    for line in lines:
        fr = Frame(line)
        if not tcp_frame(fr):
            continue
        src = fr.first("ip.src") or fr.first("ipv6.src")
        dst = fr.first("ip.dst") or fr.first("ipv6.dst")
        sport, dport = fr.first("tcp.srcport"), fr.first("tcp.dstport")
        if not (src and sport):
            continue
        a, b = (src, int(sport)), (dst, int(dport))
        key = tuple(sorted([a, b], key=lambda e: (flows_script.ip_sort_key(e[0]), e[1])))
        fl = flows.setdefault(key, Flow(a))
        d = 0 if a == fl.init else 1
        payload = (fr.first("tcp.payload") or "").replace(":", "")
        if payload.startswith("1603"):
            fl.hs_packets += 1
        types = fr.ints("tls.handshake.type")
        if types and fl.first_type[d] is None:
            fl.first_type[d] = types[0]
        # a hello Wireshark calls malformed (cut short, bad lengths) is
        # not read: our group reports nothing rather than a partial hello
        malformed = any("Malformed" in m for m in fr.all("_ws.expert.message"))
        if 1 in types and fl.ch is None and not malformed:
            fl.ch = hello_fields(fr)
        if 2 in types and fl.sh is None and not malformed:
            fl.sh = hello_fields(fr)
            fl.sh_dir = d
        if 12 in types and fl.ske is None:
            fl.ske = (fr.first("tls.handshake.server_named_curve"),
                      fr.first("tls.handshake.server_point_len"), fr.first("tls.handshake.p_len"))
        if 11 in types and fl.certs is None:
            fl.certs = (fr.all("tls.handshake.certificate"),
                        [int(x) for x in fr.all("tls.handshake.certificate_length")])
        if fl.sh is not None and d == fl.sh_dir:
            fl.server_records += fr.ints("tls.record.content_type")
            fl.server_types += types
    return flows


def openssl_cert(der_hex: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".der") as f:
        f.write(bytes.fromhex(der_hex.replace(":", "")))
        f.flush()

        def run(*args):
            return subprocess.run(["openssl", "x509", "-inform", "DER", "-in", f.name, "-noout",
                                   *args], check=True, capture_output=True, text=True).stdout

        def cn(which):
            out = run(f"-{which}", "-nameopt", "sep_multiline,utf8,sname")
            for line in out.splitlines()[1:]:
                k, _, v = line.strip().partition("=")
                if k == "CN":
                    return v
            return None

        dates = dict(line.split("=", 1) for line in run("-startdate", "-enddate").splitlines())
        fmt = "%b %d %H:%M:%S %Y %Z"
        nb = dt.datetime.strptime(" ".join(dates["notBefore"].split()), fmt)
        na = dt.datetime.strptime(" ".join(dates["notAfter"].split()), fmt)
        subj = run("-subject", "-nameopt", "RFC2253")
        iss = run("-issuer", "-nameopt", "RFC2253")
        return {
            "issuer": cn("issuer"), "subject": cn("subject"),
            "days": int((na - nb).total_seconds() // 86400),
            "self": subj.partition("=")[2] == iss.partition("=")[2],
        }


def jl(v):
    return json.dumps(v, separators=(",", ":"))


def tf(b):
    return "true" if b else "false"


def opt(v):
    return "" if v is None else v


def ja4_version(v):
    return {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
            0x0200: "s2"}.get(v, "00")


def alpn2(a):
    if not a:
        return "00"
    b = a.encode()
    if chr(b[0]).isalnum() and chr(b[-1]).isalnum() and b[0] < 128 and b[-1] < 128:
        return chr(b[0]) + chr(b[-1])
    h = b.hex()
    return h[0] + h[-1]


def h12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12]


def ja4(ch, raw):
    vers = [v for v in ch["versions"] if not grease(v)]
    version = max(vers) if vers else ch["version"]
    ciphers = sorted(c for c in ch["ciphers"] if not grease(c))
    exts = [e for e in ch["exts"] if not grease(e)]
    a = ("t" + ja4_version(version) + ("d" if 0 in ch["exts"] else "i")
         + f"{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}"
         + alpn2(ch["alpn"][0] if ch["alpn"] else None))
    c_list = ",".join(f"{c:04x}" for c in ciphers)
    e_sorted = sorted(e for e in exts if e not in (0, 16))
    e_list = ",".join(f"{e:04x}" for e in e_sorted)
    sig = ",".join(f"{s:04x}" for s in ch["sigs"])
    c_part = e_list + ("_" + sig if sig else "")
    if raw:
        return f"{a}_{c_list}_{c_part}"
    return f"{a}_{h12(c_list) if ciphers else '0' * 12}_{h12(c_part) if e_sorted else '0' * 12}"


def ja4s(sh, raw):
    version = sh["versions"][0] if sh["versions"] else sh["version"]
    a = ("t" + ja4_version(version) + f"{min(len(sh['exts']), 99):02d}"
         + alpn2(sh["alpn"][0] if sh["alpn"] else None))
    e = ",".join(f"{x:04x}" for x in sh["exts"])
    c = e if raw else (h12(e) if sh["exts"] else "0" * 12)
    return f"{a}_{sh['ciphers'][0]:04x}_{c}"


def row(fl: Flow, key):
    a = fl.init
    b = key[1] if key[0] == a else key[0]
    ch, sh = fl.ch, fl.sh
    version = None
    if sh:
        version = sh["versions"][0] if sh["versions"] else sh["version"]
    elif ch:
        version = ch["version"]
    first = fl.first_type[0] if fl.first_type[0] is not None else fl.first_type[1]
    cert = openssl_cert(fl.certs[0][0]) if fl.certs and fl.certs[0] else None
    lens = fl.certs[1] if fl.certs else None
    group = length = None
    if sh and sh["ks_group"] is not None and sh["ks_len"] is not None:
        group, length = int(sh["ks_group"], 0), int(sh["ks_len"]) * 8
    elif fl.ske:
        curve, point, p = fl.ske
        if curve is not None:
            group, length = int(curve, 0), int(point) * 8
        elif p is not None:
            length = int(p) * 8
    resumed = False
    if sh:
        if version >= 0x0304:
            resumed = 41 in sh["exts"]
        else:
            # the server went from its ServerHello to ChangeCipherSpec with
            # no Certificate, ServerKeyExchange or ServerHelloDone between
            resumed = 20 in fl.server_records and not {11, 12, 14} & set(fl.server_types)
    out = {
        "src_ip": a[0], "src_port": a[1], "dst_ip": b[0], "dst_port": b[1],
        "tls_version": opt(version),
        "tls_handshake_type": opt(first),
        "tls_cipher_suite": opt(sh["ciphers"][0] if sh else None),
        "sni": opt(ch and ch["sni"]),
        "sni_len": len(ch["sni"]) if ch and ch["sni"] else 0,
        "ja3_hash": opt(ch and ch["ja3"]), "ja3_str": opt(ch and ch["ja3_full"]),
        "ja3s_hash": opt(sh and sh["ja3s"]), "ja3s_str": opt(sh and sh["ja3s_full"]),
        "tls_extensions_count": len(ch["exts"]) if ch else 0,
        "tls_extensions_len": ch["ext_len"] if ch else 0,
        "tls_supported_versions": jl(ch["versions"]) if ch and 43 in ch["exts"] else "",
        "tls_supported_groups": jl(ch["groups"]) if ch and 10 in ch["exts"] else "",
        "tls_ec_point_formats": jl(ch["formats"]) if ch and 11 in ch["exts"] else "",
        "tls_alpn": jl(ch["alpn"]) if ch and 16 in ch["exts"] else "",
        "tls_cipher_suites_count": len(ch["ciphers"]) if ch else 0,
        "tls_cipher_suites": jl(ch["ciphers"]) if ch else "",
        "tls_cert_issuer": opt(cert and cert["issuer"]),
        "tls_cert_subject": opt(cert and cert["subject"]),
        "tls_cert_validity_days": opt(cert and cert["days"]),
        "tls_cert_is_self_signed": tf(bool(cert and cert["self"])),
        "tls_detected": tf(ch is not None or sh is not None),
        "tls_handshake_packets": fl.hs_packets,
        "tls_cert_count": opt(len(lens) if lens is not None else None),
        "tls_cert_total_length": opt(sum(lens) if lens is not None else None),
        "tls_cert_first_length": opt(lens[0] if lens else None),
        "tls_session_id_len": opt(ch and ch["sid_len"]) if ch else "",
        "tls_session_ticket_ext": tf(bool(ch and 35 in ch["exts"])),
        "tls_session_resumed": tf(resumed),
        "tls_psk_ext": tf(bool(ch and 41 in ch["exts"])),
        "tls_early_data_ext": tf(bool(ch and 42 in ch["exts"])),
        "tls_key_exchange_group": opt(group),
        "tls_key_exchange_length": opt(length),
        "ja4": ja4(ch, False) if ch else "", "ja4_r": ja4(ch, True) if ch else "",
        "ja4s": ja4s(sh, False) if sh else "", "ja4s_r": ja4s(sh, True) if sh else "",
        "tls_server_alpn": opt(sh["alpn"][0] if sh and sh["alpn"] else None),
    }
    return [out[c] for c in COLUMNS]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("-o", "--output")
    ap.add_argument("--tshark", default="tshark")
    args = ap.parse_args(argv)
    cmd = flows_script.tshark_base(args.tshark, args.capture, PREFS)
    for d in DECODE:
        cmd += ["-d", d]
    cmd += ["-Y", "tcp", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
            "-E", f"aggregator={AGG}", "-E", "quote=n", "-E", "header=n"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    flows = process(out.splitlines())
    keys = sorted(flows, key=lambda k: (flows_script.ip_sort_key(k[0][0]), k[0][1],
                                        flows_script.ip_sort_key(k[1][0]), k[1][1]))
    f = open(args.output, "w", newline="") if args.output else sys.stdout
    w = csv.writer(f, lineterminator="\n")
    w.writerow(COLUMNS)
    for k in keys:
        w.writerow(row(flows[k], k))
    if args.output:
        f.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
