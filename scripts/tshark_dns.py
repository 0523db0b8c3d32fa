#!/usr/bin/env python3
"""Independent per-flow truth for the dns group, from Wireshark's DNS dissector.

    python3 scripts/tshark_dns.py CAPTURE [-o OUT.csv] [--print-command]

tshark runs once (``-T fields``, every occurrence of each field, TCP
reassembly on: Wireshark's defaults; DNS on UDP/TCP 53 and mDNS on UDP 5353
are its default ports). Frames with IP and TCP or UDP are grouped by 5-tuple
(every 5-tuple one flow); the client is the sender of the flow's first frame.
A frame may hold several DNS messages (DNS over TCP); the per-message fields
are split by the messages' counts. Frames holding several responses with
records are refused (the TTL list could not be split; none in our captures).

Per flow (columns named as the group columns they check; empty = null):

* dns_query_count / dns_response_count: messages with ``dns.flags.response``
  0 / 1.
* Over the queries' questions (``dns.qry.name``, ``dns.qry.type``, split by
  ``dns.count.queries``): dns_query_names / dns_query_types (distinct, in
  order, JSON arrays), dns_type_{a,aaaa,mx,txt,cname,ptr}_count (types 1, 28,
  15, 16, 5, 12), dns_query_len_mean / _max (length of the name text),
  dns_subdomain_depth (mean of dots in the name: labels - 1; Wireshark's
  ``<Root>`` is the empty name), dns_query_entropy (mean Shannon entropy of the
  name's characters, bits per character, computed here); all empty without a
  query.
* Over responses: dns_rcode_success / nxdomain / refused (``dns.flags.rcode``
  0, 3, 5), dns_answer_count / dns_authority_count / dns_additional_count (sums
  of ``dns.count.answers`` / ``auth_rr`` / ``add_rr``), dns_min_ttl /
  dns_max_ttl (over the first ``dns.count.answers`` values of each response's
  ``dns.resp.ttl``: answers come first, and the EDNS OPT record has no TTL
  field), dns_response_time_mean (mean of ``dns.time`` in milliseconds over
  responses that have it: Wireshark matches a response to its query by ID),
  dns_response_code (first response's rcode).
* dns_detected: any DNS message; dns_query_name / dns_query_type: the first
  question of the flow's first message; dns_is_query / dns_is_response: any
  query / response; dns_truncated: any message with ``dns.flags.truncated``;
  dns_recursion_desired: any query with ``dns.flags.recdesired``;
  dns_recursion_available: any response with ``dns.flags.recavail``.

Python 3.11 standard library only.  Never produce the expected files with our
own tool.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import math
import subprocess
import sys

FIELDS = [
    "frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
    "dns.id", "dns.flags.response", "dns.flags.rcode", "dns.flags.truncated",
    "dns.flags.recdesired", "dns.flags.recavail", "dns.count.queries",
    "dns.count.answers", "dns.count.auth_rr", "dns.count.add_rr",
    "dns.qry.name", "dns.qry.type", "dns.resp.ttl", "dns.time",
]

COLUMNS = [
    "dns_query_count", "dns_response_count", "dns_query_names", "dns_query_types",
    "dns_type_a_count", "dns_type_aaaa_count", "dns_type_mx_count", "dns_type_txt_count",
    "dns_type_cname_count", "dns_type_ptr_count", "dns_rcode_success", "dns_rcode_nxdomain",
    "dns_rcode_refused", "dns_answer_count", "dns_response_time_mean", "dns_query_len_mean",
    "dns_query_len_max", "dns_subdomain_depth", "dns_query_entropy", "dns_detected",
    "dns_query_name", "dns_query_type", "dns_response_code", "dns_authority_count",
    "dns_additional_count", "dns_min_ttl", "dns_max_ttl", "dns_is_query", "dns_is_response",
    "dns_truncated", "dns_recursion_desired", "dns_recursion_available",
]

TYPES = {1: "dns_type_a_count", 28: "dns_type_aaaa_count", 15: "dns_type_mx_count",
         16: "dns_type_txt_count", 5: "dns_type_cname_count", 12: "dns_type_ptr_count"}


def command(path):
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=/t",
           "-E", "aggregator=|", "-E", "occurrence=a"]
    for f in FIELDS:
        cmd += ["-e", f]
    return cmd


def entropy(s):
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in collections.Counter(s).values())


def split(v):
    return v.split("|") if v else []


def messages(f):
    """The DNS messages of one frame's fields, each a dict."""
    ids = split(f["dns.id"])
    if not ids:
        return []
    n = len(ids)
    resp = [x in ("1", "True") for x in split(f["dns.flags.response"])]
    assert len(resp) == n
    nresp = sum(resp)
    # Fields present in responses only.
    rcodes = split(f["dns.flags.rcode"])
    ra = split(f["dns.flags.recavail"])
    assert len(rcodes) == nresp and len(ra) == nresp, f
    times = split(f["dns.time"])
    tc = split(f["dns.flags.truncated"])
    rd = split(f["dns.flags.recdesired"])
    qd = [int(x) for x in split(f["dns.count.queries"])]
    an = [int(x) for x in split(f["dns.count.answers"])]
    ns = [int(x) for x in split(f["dns.count.auth_rr"])]
    ar = [int(x) for x in split(f["dns.count.add_rr"])]
    names = split(f["dns.qry.name"])
    qtypes = [int(x) for x in split(f["dns.qry.type"])]
    ttls = [int(x) for x in split(f["dns.resp.ttl"])]
    assert len(tc) == len(rd) == len(qd) == len(an) == len(ns) == len(ar) == n, f
    assert len(names) == len(qtypes) == sum(qd), f
    if nresp > 1:
        assert not ttls, f"several responses with records in one frame: {f}"
    out, qi, ri = [], 0, 0
    for i in range(n):
        m = {"id": ids[i], "response": resp[i], "tc": tc[i] in ("1", "True"),
             "rd": rd[i] in ("1", "True"), "an": an[i], "ns": ns[i], "ar": ar[i],
             "questions": [("" if nm == "<Root>" else nm, t)
                           for nm, t in zip(names[qi:qi + qd[i]], qtypes[qi:qi + qd[i]])]}
        qi += qd[i]
        if resp[i]:
            m["rcode"] = int(rcodes[ri])
            m["ra"] = ra[ri] in ("1", "True")
            m["ttls"] = ttls[:an[i]]
            ri += 1
        out.append(m)
    # dns.time: one per response that Wireshark matched; with one response in
    # the frame it is that response's.
    if times:
        assert nresp == 1 and len(times) == 1, f
        for m in out:
            if m["response"]:
                m["time"] = float(times[0])
    return out


def flows_of(path):
    out = subprocess.run(command(path), capture_output=True, text=True, check=True).stdout
    flows = {}
    order = []
    for line in out.splitlines():
        v = line.split("\t")
        f = dict(zip(FIELDS, v))
        src = f["ip.src"] or f["ipv6.src"]
        dst = f["ip.dst"] or f["ipv6.dst"]
        if "," in src or "|" in src or not src:
            continue
        if f["tcp.srcport"]:
            proto, sp, dp = 6, f["tcp.srcport"], f["tcp.dstport"]
        elif f["udp.srcport"]:
            proto, sp, dp = 17, f["udp.srcport"], f["udp.dstport"]
        else:
            continue
        key = (proto,) + tuple(sorted([(src, sp), (dst, dp)]))
        if key not in flows:
            flows[key] = {"client": (src, sp), "server": (dst, dp), "proto": proto, "msgs": []}
            order.append(key)
        flows[key]["msgs"].extend(messages(f))
    return [flows[k] for k in order]


def row(fl):
    msgs = fl["msgs"]
    qs = [m for m in msgs if not m["response"]]
    rs = [m for m in msgs if m["response"]]
    qq = [q for m in qs for q in m["questions"]]
    r = {c: "" for c in COLUMNS}
    r["dns_query_count"] = len(qs)
    r["dns_response_count"] = len(rs)
    names, types = [], []
    for n, t in qq:
        if n not in names:
            names.append(n)
        if t not in types:
            types.append(t)
    for t, c in TYPES.items():
        r[c] = sum(1 for _, x in qq if x == t)
    r["dns_rcode_success"] = sum(1 for m in rs if m["rcode"] == 0)
    r["dns_rcode_nxdomain"] = sum(1 for m in rs if m["rcode"] == 3)
    r["dns_rcode_refused"] = sum(1 for m in rs if m["rcode"] == 5)
    r["dns_answer_count"] = sum(m["an"] for m in rs)
    r["dns_authority_count"] = sum(m["ns"] for m in rs)
    r["dns_additional_count"] = sum(m["ar"] for m in rs)
    times = [m["time"] * 1000 for m in rs if "time" in m]
    if times:
        r["dns_response_time_mean"] = repr(sum(times) / len(times))
    if qs:
        r["dns_query_names"] = json.dumps(names, separators=(",", ":"))
        r["dns_query_types"] = json.dumps(types, separators=(",", ":"))
    if qq:
        r["dns_query_len_mean"] = repr(sum(len(n) for n, _ in qq) / len(qq))
        r["dns_query_len_max"] = max(len(n) for n, _ in qq)
        r["dns_subdomain_depth"] = repr(sum(n.count(".") for n, _ in qq) / len(qq))
        r["dns_query_entropy"] = repr(sum(entropy(n) for n, _ in qq) / len(qq))
    r["dns_detected"] = "true" if msgs else "false"
    if msgs and msgs[0]["questions"]:
        r["dns_query_name"], r["dns_query_type"] = msgs[0]["questions"][0]
    if rs:
        r["dns_response_code"] = rs[0]["rcode"]
    ttls = [t for m in rs for t in m["ttls"]]
    if ttls:
        r["dns_min_ttl"], r["dns_max_ttl"] = min(ttls), max(ttls)
    b = lambda x: "true" if x else "false"
    r["dns_is_query"] = b(qs)
    r["dns_is_response"] = b(rs)
    r["dns_truncated"] = b(any(m["tc"] for m in msgs))
    r["dns_recursion_desired"] = b(any(m["rd"] for m in qs))
    r["dns_recursion_available"] = b(any(m["ra"] for m in rs))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("-o", "--out")
    ap.add_argument("--print-command", action="store_true")
    a = ap.parse_args()
    if a.print_command:
        print(" ".join(command(a.capture)))
        return
    out = open(a.out, "w", newline="") if a.out else sys.stdout
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["client_ip", "client_port", "server_ip", "server_port", "protocol"] + COLUMNS)
    for fl in flows_of(a.capture):
        r = row(fl)
        w.writerow([fl["client"][0], fl["client"][1], fl["server"][0], fl["server"][1],
                    fl["proto"]] + [r[c] for c in COLUMNS])


if __name__ == "__main__":
    main()
