#!/usr/bin/env python3
"""Independent per-flow truth for the http2 group, from Wireshark's HTTP/2 dissector.

    python3 scripts/tshark_http2.py CAPTURE [-o OUT.csv] [--print-command]
        [--prior-port PORT ...]

tshark runs with ``-T fields`` (every occurrence of each field; TCP
reassembly on, Wireshark's defaults). Wireshark finds h2c by itself: the
client preface ("magic") starts HTTP/2, and its HTTP dissector follows an
``Upgrade: h2c`` request answered by 101. But with prior knowledge a server
may send its SETTINGS frame before the client's magic arrives, and
Wireshark, not knowing the connection is HTTP/2 yet, does not dissect that
frame. So for each ``--prior-port P`` tshark runs a second time with
``-d tcp.port==P,http2`` (HTTP/2 from the first byte), and a flow with the
magic (first run) whose server port is P takes its frames from the second
run; every other flow (HTTP/1.1 to that port included) from the first.
Frames with IP
and TCP are grouped by 5-tuple (every 5-tuple one flow); the client is the
sender of the flow's first frame. Each HTTP/2 frame Wireshark dissects gives
one ``http2.type`` and one ``http2.streamid`` occurrence (in the packet
that completes the frame).

Per flow (columns named as the group columns they check; empty = null):

* http2_detected: the flow has an HTTP/2 frame; http2_preface_seen: a
  frame has ``http2.magic``; http_version: ``h2`` if detected, else null.
* http2_frame_count: ``http2.type`` occurrences; http2_<type>_frames:
  those of type DATA 0, HEADERS 1, PRIORITY 2, RST_STREAM 3, SETTINGS 4,
  PUSH_PROMISE 5, PING 6, GOAWAY 7, WINDOW_UPDATE 8, CONTINUATION 9.
* http2_streams_estimate: distinct non-zero ``http2.streamid`` values;
  http2_multiplexed: more than one; http2_server_push: a PUSH_PROMISE.
* http2_upgrade: detected and some frame of the flow has
  ``http.response.code`` 101 and ``http.upgrade`` h2c.
* http2_incomplete: detected and some frame of the flow has
  ``tcp.analysis.lost_segment`` or ``tcp.analysis.out_of_order``.
* http2_client_settings / http2_server_settings: the entries of the first
  HTTP/2 frame of the direction that sent the magic / of the other direction,
  when that frame is a SETTINGS frame: the first ``http2.length``/6
  ``http2.settings.id`` values of that packet, each with the next value of
  its own field (``http2.settings.header_table_size`` for 1, ... ,
  ``extended_connect`` for 8, ``unknown`` otherwise), as ``id:value``
  joined by ``;``; null when not detected or that direction has no such
  frame (client: no magic).
* http3_detected: false (TCP flows only).

Python 3.11 standard library only.  Never produce the expected files with our
own tool.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys

FIELDS = [
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
    "http2.magic", "http2.type", "http2.streamid", "http2.length", "http2.settings.id",
    "http2.settings.header_table_size", "http2.settings.enable_push",
    "http2.settings.max_concurrent_streams", "http2.settings.initial_window_size",
    "http2.settings.max_frame_size", "http2.settings.max_header_list_size",
    "http2.settings.extended_connect", "http2.settings.unknown", "http.response.code",
    "http.upgrade", "tcp.analysis.lost_segment", "tcp.analysis.out_of_order",
]

TYPES = {0: "data", 1: "headers", 2: "priority", 3: "rst_stream", 4: "settings",
         5: "push_promise", 6: "ping", 7: "goaway", 8: "window_update",
         9: "continuation"}

COLUMNS = [
    "http2_detected", "http3_detected", "http2_preface_seen", "http2_frame_count",
    "http2_data_frames", "http2_headers_frames", "http2_settings_frames",
    "http2_push_promise_frames", "http2_goaway_frames", "http2_window_update_frames",
    "http2_streams_estimate", "http2_server_push", "http2_multiplexed", "http_version",
    "http2_priority_frames", "http2_rst_stream_frames", "http2_ping_frames",
    "http2_continuation_frames", "http2_upgrade", "http2_incomplete",
    "http2_client_settings", "http2_server_settings",
]

SETTING_FIELDS = {1: "header_table_size", 2: "enable_push", 3: "max_concurrent_streams",
                  4: "initial_window_size", 5: "max_frame_size", 6: "max_header_list_size",
                  8: "extended_connect"}


def command(path, port=None):
    cmd = ["tshark", "-n", "-r", path, "-Y", "tcp", "-T", "fields",
           "-E", "separator=/t", "-E", "aggregator=|", "-E", "occurrence=a"]
    if port is not None:
        cmd += ["-d", f"tcp.port=={port},http2"]
    for f in FIELDS:
        cmd += ["-e", f]
    return cmd


def split(v):
    return v.split("|") if v else []


def b(x):
    return "true" if x else "false"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("-o", "--out")
    ap.add_argument("--prior-port", action="append", default=[], type=int)
    ap.add_argument("--print-command", action="store_true")
    a = ap.parse_args()
    cmds = [command(a.capture)] + [command(a.capture, p) for p in a.prior_port]
    if a.print_command:
        for cmd in cmds:
            print(" ".join(cmd))
        return
    order, flows = per_flow(cmds[0])
    for port, cmd in zip(a.prior_port, cmds[1:]):
        _, forced = per_flow(cmd)
        for key, fl in flows.items():
            if fl["magic"] and int(fl["server"][1]) == port:
                for k in ("types", "streams", "first"):
                    fl[k] = forced[key][k]
    write(a.out, order, flows)


def per_flow(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    flows = {}
    order = []
    for line in out.splitlines():
        f = dict(zip(FIELDS, line.split("\t")))
        src = f["ip.src"] or f["ipv6.src"]
        dst = f["ip.dst"] or f["ipv6.dst"]
        sp, dp = f["tcp.srcport"], f["tcp.dstport"]
        if not src or not sp:
            continue
        key = frozenset([(src, sp), (dst, dp)])
        if key not in flows:
            flows[key] = {"client": (src, sp), "server": (dst, dp), "types": [],
                          "streams": set(), "magic": False, "upgrade": False,
                          "hole": False, "first": {}, "magic_side": None}
            order.append(key)
        fl = flows[key]
        fl["magic"] |= bool(f["http2.magic"])
        side = (src, sp)
        if f["http2.magic"] and fl["magic_side"] is None:
            fl["magic_side"] = side
        types = [int(t) for t in split(f["http2.type"])]
        if types and side not in fl["first"]:
            fl["first"][side] = first_settings(f, types)
        streams = [int(s) for s in split(f["http2.streamid"])]
        assert len(types) == len(streams), line
        fl["types"] += types
        fl["streams"].update(s for s in streams if s != 0)
        codes = split(f["http.response.code"])
        ups = [u.lower() for u in split(f["http.upgrade"])]
        fl["upgrade"] |= "101" in codes and "h2c" in ups
        fl["hole"] |= bool(f["tcp.analysis.lost_segment"] or f["tcp.analysis.out_of_order"])
    return order, flows


def first_settings(f, types):
    """Entries of the packet's first frame if it is a SETTINGS frame."""
    if types[0] != 4:
        return None
    n = int(split(f["http2.length"])[0]) // 6
    values = {k: split(f[f"http2.settings.{v}"]) for k, v in SETTING_FIELDS.items()}
    unknown = split(f["http2.settings.unknown"])
    out = []
    for i in split(f["http2.settings.id"])[:n]:
        i = int(i)
        src = values.get(i, unknown)
        out.append(f"{i}:{src.pop(0)}")
    return ";".join(out)


def write(path, order, flows):
    w = csv.writer(open(path, "w", newline="") if path else sys.stdout, lineterminator="\n")
    w.writerow(["client_ip", "client_port", "server_ip", "server_port", "protocol"] + COLUMNS)
    for key in order:
        fl = flows[key]
        t = fl["types"]
        det = bool(t)
        n = {name: sum(1 for x in t if x == k) for k, name in TYPES.items()}
        streams = len(fl["streams"])
        row = {
            "http2_detected": b(det), "http3_detected": "false",
            "http2_preface_seen": b(fl["magic"]), "http2_frame_count": len(t),
            "http2_streams_estimate": streams, "http2_server_push": b(n["push_promise"] > 0),
            "http2_multiplexed": b(streams > 1), "http_version": "h2" if det else "",
            "http2_upgrade": b(det and fl["upgrade"]),
            "http2_incomplete": b(det and fl["hole"]),
        }
        client = fl["magic_side"]
        others = [s for s in (fl["client"], fl["server"]) if s != client]
        cs = fl["first"].get(client) if det and client else None
        ss = fl["first"].get(others[0]) if det and len(others) == 1 else None
        row["http2_client_settings"] = "" if cs is None else cs
        row["http2_server_settings"] = "" if ss is None else ss
        for name, c in n.items():
            row[f"http2_{name}_frames"] = c
        w.writerow([*fl["client"], *fl["server"], 6] + [row[c] for c in COLUMNS])


if __name__ == "__main__":
    main()
