#!/usr/bin/env python3
"""Independent per-flow truth for the ssh group, from Wireshark's SSH dissector.

    python3 scripts/tshark_ssh.py CAPTURE [-o OUT.csv] [--decode-as PORT ...] [--print-command]

tshark runs once (``-T fields``, every occurrence of each field, TCP
reassembly on: Wireshark's defaults), ``--decode-as PORT`` adding
``-d tcp.port==PORT,ssh`` for SSH on a port other than 22. Frames are grouped by
TCP 5-tuple (every 5-tuple one flow); the client is the sender of the first SYN
without ACK (else of the first frame).

Per flow (columns named as the group columns they check; empty = null):

* client_ip, client_port, server_ip, server_port: the orientation.
* is_ssh: some frame has ``ssh.protocol``; ssh_client_banner /
  ssh_server_banner: the first ``ssh.protocol`` of each side; the version
  columns: the text between ``SSH-`` and the next ``-`` of that banner;
  software: the text after it up to the first space. ssh_version: the
  client's, else the server's.
* hassh, hassh_str: the first ``ssh.kex.hassh`` / ``ssh.kex.hassh_algorithms``
  of the client's frames; hassh_server, hassh_server_str: the first
  ``ssh.kex.hasshserver`` / ``ssh.kex.hasshserver_algorithms`` of the server's.
* ssh_kex_algorithms, ssh_encryption_algorithms, ssh_mac_algorithms,
  ssh_compression_algorithms: the client's first ``ssh.kex_algorithms``,
  ``ssh.encryption_algorithms_client_to_server``,
  ``ssh.mac_algorithms_client_to_server``,
  ``ssh.compression_algorithms_client_to_server``, split at commas, as a
  JSON array.
* ssh_kex_packets: per side, the ``ssh.message_code`` values 20-49 of its
  frames in capture order up to and including its first code 21 (NEWKEYS; the
  codes Wireshark prints after it are of encrypted packets, meaningless), both
  sides summed; empty when not SSH.
* ssh_encrypted_packets: per side, the frames with ``tcp.len`` > 0 after the
  frame holding its NEWKEYS, plus that frame itself when its ``tcp.len`` is
  larger than the SSH packets it holds up to NEWKEYS (sum of
  ``ssh.packet_length`` + 4); both sides summed; empty when not SSH.
* ssh_auth_attempts, ssh_channels_opened: codes 50 and 90 among the client's
  cleartext codes (those before its NEWKEYS); empty when the client has no
  banner or has encrypted frames.

Python 3.11 standard library only.  Never produce the expected files with our
own tool.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys

FIELDS = [
    "frame.number",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.len",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "ssh.protocol",
    "ssh.message_code",
    "ssh.packet_length",
    "ssh.kex.hassh",
    "ssh.kex.hassh_algorithms",
    "ssh.kex.hasshserver",
    "ssh.kex.hasshserver_algorithms",
    "ssh.kex_algorithms",
    "ssh.encryption_algorithms_client_to_server",
    "ssh.mac_algorithms_client_to_server",
    "ssh.compression_algorithms_client_to_server",
]

COLUMNS = [
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "is_ssh",
    "ssh_version",
    "ssh_client_banner",
    "ssh_server_banner",
    "hassh",
    "hassh_str",
    "hassh_server",
    "hassh_server_str",
    "ssh_kex_algorithms",
    "ssh_encryption_algorithms",
    "ssh_mac_algorithms",
    "ssh_compression_algorithms",
    "ssh_auth_attempts",
    "ssh_channels_opened",
    "ssh_client_software",
    "ssh_server_software",
    "ssh_client_version",
    "ssh_server_version",
    "ssh_kex_packets",
    "ssh_encrypted_packets",
]


def command(path: str, ports: list[str]) -> list[str]:
    cmd = ["tshark", "-n", "-r", path]
    for p in ports:
        cmd += ["-d", f"tcp.port=={p},ssh"]
    cmd += ["-Y", "tcp", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
            "-E", "aggregator=|", "-E", "quote=n", "-E", "header=n"]
    for f in FIELDS:
        cmd += ["-e", f]
    return cmd


def split_banner(b: str) -> tuple[str, str]:
    m = re.match(r"SSH-([^-]+)-([^ ]*)", b)
    return (m.group(1), m.group(2)) if m else ("", "")


class Side:
    def __init__(self) -> None:
        self.banner = ""
        self.hassh = ""
        self.hassh_str = ""
        self.lists: list[str] | None = None
        self.kex = 0
        self.auth = 0
        self.chan = 0
        self.newkeys = False
        self.encrypted = 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("-o", "--output")
    ap.add_argument("--decode-as", action="append", default=[])
    ap.add_argument("--print-command", action="store_true")
    a = ap.parse_args()
    cmd = command(a.capture, a.decode_as)
    if a.print_command:
        print(" ".join(cmd))
        return
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    flows: dict[tuple, dict] = {}
    order: list[tuple] = []
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        src = v["ip.src"] or v["ipv6.src"]
        dst = v["ip.dst"] or v["ipv6.dst"]
        sp, dp = v["tcp.srcport"], v["tcp.dstport"]
        key = tuple(sorted([(src, sp), (dst, dp)]))
        f = flows.get(key)
        if f is None:
            f = flows[key] = {"client": None, "first": (src, sp), "sides": {}}
            order.append(key)
        syn_only = v["tcp.flags.syn"] in ("1", "True") and v["tcp.flags.ack"] in ("0", "False")
        if syn_only and f["client"] is None:
            f["client"] = (src, sp)
        f.setdefault("frames", []).append(((src, sp), v))
    rows = []
    for key in order:
        f = flows[key]
        client = f["client"] or f["first"]
        server = key[0] if key[1] == client else key[1]
        sides = {client: Side(), server: Side()}
        for who, v in f["frames"]:
            s = sides[who]
            is_client = who == client
            tcp_len = int(v["tcp.len"] or 0)
            if s.newkeys:
                s.encrypted += tcp_len > 0
                continue
            if v["ssh.protocol"] and not s.banner:
                s.banner = v["ssh.protocol"].split("|")[0]
            if is_client and v["ssh.kex.hassh"] and not s.hassh:
                s.hassh = v["ssh.kex.hassh"].split("|")[0]
                s.hassh_str = v["ssh.kex.hassh_algorithms"].split("|")[0]
            if not is_client and v["ssh.kex.hasshserver"] and not s.hassh:
                s.hassh = v["ssh.kex.hasshserver"].split("|")[0]
                s.hassh_str = v["ssh.kex.hasshserver_algorithms"].split("|")[0]
            if is_client and v["ssh.kex_algorithms"] and s.lists is None:
                s.lists = [v[n].split("|")[0] for n in FIELDS[-4:]]
            codes = [int(c) for c in v["ssh.message_code"].split("|") if c]
            lens = [int(c) for c in v["ssh.packet_length"].split("|") if c]
            held = 0
            for i, c in enumerate(codes):
                held += (lens[i] + 4) if i < len(lens) else 0
                if 20 <= c <= 49:
                    s.kex += 1
                s.auth += c == 50
                s.chan += c == 90
                if c == 21:
                    s.newkeys = True
                    s.encrypted += tcp_len > held
                    break
        c, sv = sides[client], sides[server]
        is_ssh = bool(c.banner or sv.banner)
        cver, csw = split_banner(c.banner)
        sver, ssw = split_banner(sv.banner)
        knowable = bool(c.banner) and c.encrypted == 0

        def lst(i: int) -> str:
            if c.lists is None:
                return ""
            s = c.lists[i]
            return json.dumps(s.split(",") if s else [], separators=(",", ":"))

        rows.append({
            "client_ip": client[0], "client_port": client[1],
            "server_ip": server[0], "server_port": server[1],
            "is_ssh": "true" if is_ssh else "false",
            "ssh_version": (cver or sver) if is_ssh else "",
            "ssh_client_banner": c.banner, "ssh_server_banner": sv.banner,
            "hassh": c.hassh, "hassh_str": c.hassh_str,
            "hassh_server": sv.hassh, "hassh_server_str": sv.hassh_str,
            "ssh_kex_algorithms": lst(0), "ssh_encryption_algorithms": lst(1),
            "ssh_mac_algorithms": lst(2), "ssh_compression_algorithms": lst(3),
            "ssh_auth_attempts": c.auth if knowable else "",
            "ssh_channels_opened": c.chan if knowable else "",
            "ssh_client_software": csw, "ssh_server_software": ssw,
            "ssh_client_version": cver, "ssh_server_version": sver,
            "ssh_kex_packets": c.kex + sv.kex if is_ssh else "",
            "ssh_encrypted_packets": c.encrypted + sv.encrypted if is_ssh else "",
        })
    fh = open(a.output, "w", newline="") if a.output else sys.stdout
    w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


if __name__ == "__main__":
    main()
