#!/usr/bin/env python3
"""Independent per-flow ground truth built on Wireshark's dissectors (tshark).

For one capture file, run tshark once (``-T fields``, every occurrence of each
field) and aggregate the frames per bidirectional 5-tuple, as
docs/semantics.md (#tcp-close) defines flows with TCP-close splitting off and an infinite idle
timeout (every 5-tuple is exactly one flow).

    python3 scripts/tshark_flows.py CAPTURE [-o OUT.csv] [--tshark /usr/bin/tshark]

Output (CSV, stdout or -o):
    ip_a,port_a,ip_b,port_b,protocol,packets,bytes,payload,first_time,last_time

* key: the OUTERMOST IP header (the first ``ip``/``ipv6`` layer in
  ``frame.protocols``); tunnels (IP-in-IP, 6in4, GRE, PIM register, ...) are
  keyed on that header with ports 0/0.  TCP (6), UDP (17) and SCTP (132) have
  ports; every other protocol uses 0/0.  (ip_a, port_a) is the smaller endpoint
  (IPv4 < IPv6, then the address as an integer, then the port).
* IPv6: the protocol is the upper-layer protocol after the extension headers
  hop-by-hop (0), routing (43), fragment (44), destination options (60) and
  AH (51).
* fragments: the first fragment (offset 0) carries the ports; a later fragment
  of the same datagram (src, dst, protocol, id) joins the flow of the first
  fragment if that was seen earlier in the file, else the 0/0 flow.
* bytes: IPv4 total length (captured IP length if the total length is 0, TSO);
  IPv6 payload length + 40.
* payload: TCP ``tcp.len``; UDP and ICMP/ICMPv6 IP payload - 8; SCTP IP
  payload - 12; other protocols and non-first fragments the whole IP payload
  (IP length - IP header - IPv6 extension headers).
* times: ``frame.time_epoch`` rounded (half up) to the microsecond.

Frames without an IP layer are skipped and counted on stderr.  Python 3.11
standard library only.  Never produce the expected files with our own tool.
"""

from __future__ import annotations

import argparse
import collections
import csv
import ipaddress
import subprocess
import sys

# Each frame is dissected on its own: no IP reassembly, no TCP reassembly or
# sequence analysis (which would not change the fields used here, but keeps
# every frame independent and the run cheap).
TSHARK_PREFS = [
    "ip.defragment:FALSE",
    "ipv6.defragment:FALSE",
    "tcp.desegment_tcp_streams:FALSE",
    "tcp.analyze_sequence_numbers:FALSE",
    "tcp.calculate_timestamps:FALSE",
    "udp.calculate_timestamps:FALSE",
    "ip.tso_support:TRUE",
]

FIELDS = [
    "frame.number",
    "frame.time_epoch",
    "frame.protocols",
    "frame.len",
    "frame.cap_len",
    # IPv4
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.len",
    "ip.hdr_len",
    "ip.id",
    "ip.flags.mf",
    "ip.frag_offset",
    # IPv6 and its extension headers
    "ipv6.src",
    "ipv6.dst",
    "ipv6.plen",
    "ipv6.nxt",
    "ipv6.hopopts.nxt",
    "ipv6.hopopts.len_oct",
    "ipv6.routing.nxt",
    "ipv6.routing.len_oct",
    "ipv6.dstopts.nxt",
    "ipv6.dstopts.len_oct",
    "ipv6.fraghdr.nxt",
    "ipv6.fraghdr.offset",
    "ipv6.fraghdr.more",
    "ipv6.fraghdr.ident",
    "ah.next_header",
    "ah.length",
    # transports
    "tcp.srcport",
    "tcp.dstport",
    "tcp.len",
    "tcp.hdr_len",
    "udp.srcport",
    "udp.dstport",
    "sctp.srcport",
    "sctp.dstport",
]
IDX = {name: i for i, name in enumerate(FIELDS)}

SEP = "\t"
AGG = ","  # none of the fields above can contain a comma

# IPv6 extension header number -> (frame.protocols token, nxt field, len field)
V6_EXT = {
    0: ("ipv6.hopopts", "ipv6.hopopts.nxt", "ipv6.hopopts.len_oct"),
    43: ("ipv6.routing", "ipv6.routing.nxt", "ipv6.routing.len_oct"),
    60: ("ipv6.dstopts", "ipv6.dstopts.nxt", "ipv6.dstopts.len_oct"),
    44: ("ipv6.fraghdr", "ipv6.fraghdr.nxt", None),  # always 8 bytes
    51: ("ah", "ah.next_header", "ah.length"),  # (len + 2) * 4 bytes
}
PORT_FIELDS = {6: ("tcp", "tcp.srcport", "tcp.dstport"),
               17: ("udp", "udp.srcport", "udp.dstport"),
               132: ("sctp", "sctp.srcport", "sctp.dstport")}


class Frame:
    """The tshark row of one frame: every field as its list of occurrences."""

    def __init__(self, line: str):
        cols = line.rstrip("\n").split(SEP)
        if len(cols) != len(FIELDS):
            raise ValueError(f"expected {len(FIELDS)} columns, got {len(cols)}")
        self.cols = cols
        self.number = cols[IDX["frame.number"]]
        self.protocols = cols[IDX["frame.protocols"]].split(":")

    def all(self, field: str) -> list[str]:
        v = self.cols[IDX[field]]
        return v.split(AGG) if v else []

    def nth(self, field: str, n: int = 0) -> str | None:
        vals = self.all(field)
        return vals[n] if n < len(vals) else None

    def nth_int(self, field: str, n: int = 0) -> int | None:
        v = self.nth(field, n)
        if v is None or v == "":
            return None
        if v in ("True", "False"):  # booleans, in case a tshark prints them so
            return int(v == "True")
        return int(v, 0)  # ip.id is printed as hex (0x....)


def epoch_to_us(text: str) -> int:
    """'936850256.001097000' -> integer microseconds, rounded half up."""
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    whole, _, frac = text.partition(".")
    frac = (frac + "000000000")[:9]
    ns = int(whole) * 1_000_000_000 + int(frac)
    us = (ns + 500) // 1000
    return -us if neg else us


def fmt_us(us: int) -> str:
    sign = "-" if us < 0 else ""
    us = abs(us)
    return f"{sign}{us // 1_000_000}.{us % 1_000_000:06d}"


def ip_sort_key(ip: str) -> tuple[int, int]:
    a = ipaddress.ip_address(ip)
    return (a.version, int(a))


class Stats:
    def __init__(self):
        self.skipped = collections.Counter()  # reason -> frames
        self.notes = collections.Counter()  # remarkable things seen
        self.warnings: list[str] = []

    def warn(self, msg: str):
        if len(self.warnings) < 50:
            self.warnings.append(msg)
        self.notes["warnings"] += 1


class Flow:
    __slots__ = ("packets", "bytes", "payload", "first", "last")

    def __init__(self):
        self.packets = 0
        self.bytes = 0
        self.payload = 0
        self.first = None
        self.last = None

    def add(self, nbytes: int, payload: int, t_us: int):
        self.packets += 1
        self.bytes += nbytes
        self.payload += payload
        self.first = t_us if self.first is None else min(self.first, t_us)
        self.last = t_us if self.last is None else max(self.last, t_us)


def canonical(src, sport, dst, dport, proto):
    a = (ip_sort_key(src), sport)
    b = (ip_sort_key(dst), dport)
    if a <= b:
        return (src, sport, dst, dport, proto)
    return (dst, dport, src, sport, proto)


def transport_ports(fr: Frame, proto: int, pos: int, st: Stats):
    """Ports of the transport layer that frame.protocols shows at index pos
    (right after the outer IP header and its extension headers)."""
    if proto not in PORT_FIELDS:
        return 0, 0, None
    token, fsrc, fdst = PORT_FIELDS[proto]
    if pos >= len(fr.protocols) or fr.protocols[pos] != token:
        st.warn(f"frame {fr.number}: protocol {proto} but no {token} layer "
                f"after the outer IP ({':'.join(fr.protocols)}); ports 0/0")
        st.notes[f"{token} header not dissected (ports 0/0)"] += 1
        return 0, 0, None
    occ = fr.protocols[:pos].count(token)  # 0 unless something odd came first
    sp, dp = fr.nth_int(fsrc, occ), fr.nth_int(fdst, occ)
    if sp is None or dp is None:
        st.warn(f"frame {fr.number}: {token} ports missing; ports 0/0")
        return 0, 0, None
    return sp, dp, occ


def process(frames, st: Stats, on_frame=None):
    """Aggregate frames per flow. ``on_frame(fr, key, src, sport, pos)``, when
    given, is called for every frame counted, with its flow key, its source
    address and port (None for a later fragment) and the index in
    ``fr.protocols`` of the layer after the outer IP header and its
    extension headers (None for a later fragment)."""
    flows: dict[tuple, Flow] = {}
    frag_map: dict[tuple, tuple] = {}  # (ver, src, dst, proto, id) -> flow key

    for fr in frames:
        t_us = epoch_to_us(fr.nth("frame.time_epoch"))
        outer = next((i for i, p in enumerate(fr.protocols) if p in ("ip", "ipv6")), None)
        if outer is None:
            st.skipped["no IP layer"] += 1
            continue
        frame_len = int(fr.nth("frame.len"))
        cap_len = int(fr.nth("frame.cap_len"))
        if cap_len < frame_len:
            st.notes["frames cut by snaplen"] += 1

        if fr.protocols[outer] == "ip":
            src, dst = fr.nth("ip.src"), fr.nth("ip.dst")
            proto, ip_len, hdr_len = fr.nth_int("ip.proto"), fr.nth_int("ip.len"), fr.nth_int("ip.hdr_len")
            if None in (src, dst, proto, ip_len, hdr_len) or hdr_len < 20:
                st.skipped["IPv4 header not decodable"] += 1
                continue
            if ip_len == 0:
                # TSO: fall back to the captured length of the IP packet. With
                # ip.tso_support Wireshark derives tcp.len from the same length,
                # so IP length = hdr + tcp header + tcp.len.
                st.notes["IPv4 total length 0 (TSO)"] += 1
                tl, th = fr.nth_int("tcp.len"), fr.nth_int("tcp.hdr_len")
                if proto == 6 and tl is not None and th is not None:
                    ip_len = hdr_len + th + tl
                else:
                    st.warn(f"frame {fr.number}: IPv4 length 0 and not TCP; skipped")
                    st.skipped["IPv4 length 0, not TCP"] += 1
                    continue
            if ip_len < hdr_len:
                st.skipped["IPv4 total length < header length"] += 1
                continue
            if hdr_len > 20:
                st.notes["IPv4 with options"] += 1
            nbytes = ip_len
            ip_payload = ip_len - hdr_len
            mf = fr.nth_int("ip.flags.mf") or 0
            foff = fr.nth_int("ip.frag_offset") or 0
            frag_id = (4, src, dst, proto, fr.nth_int("ip.id"))
            is_frag, later_frag = (mf == 1 or foff > 0), foff > 0
            pos = outer + 1
        else:
            src, dst = fr.nth("ipv6.src"), fr.nth("ipv6.dst")
            plen, nxt = fr.nth_int("ipv6.plen"), fr.nth_int("ipv6.nxt")
            if None in (src, dst, plen, nxt):
                st.skipped["IPv6 header not decodable"] += 1
                continue
            if plen == 0:
                st.notes["IPv6 payload length 0 (jumbo/TSO)"] += 1
            nbytes = plen + 40
            ext_bytes = 0
            is_frag = later_frag = False
            frag_id = None
            pos = outer + 1
            used = collections.Counter()  # occurrences consumed per ext type
            bad = False
            while nxt in V6_EXT:
                token, fnxt, flen = V6_EXT[nxt]
                if pos >= len(fr.protocols) or fr.protocols[pos] != token:
                    st.warn(f"frame {fr.number}: next header {nxt} but layer "
                            f"{fr.protocols[pos] if pos < len(fr.protocols) else 'none'}")
                    bad = True
                    break
                occ = fr.protocols[:pos].count(token)
                used[token] += 1
                st.notes[f"IPv6 extension header {token}"] += 1
                this = nxt
                nxt = fr.nth_int(fnxt, occ)
                if this == 44:
                    ext_bytes += 8
                    off = fr.nth_int("ipv6.fraghdr.offset", occ) or 0
                    more = fr.nth_int("ipv6.fraghdr.more", occ) or 0
                    is_frag = True
                    frag_id = (6, src, dst, nxt, fr.nth_int("ipv6.fraghdr.ident", occ))
                    pos += 1
                    if off > 0:
                        later_frag = True
                        break
                    if not more:
                        st.notes["IPv6 atomic fragment"] += 1
                    continue
                ln = fr.nth_int(flen, occ)
                if nxt is None or ln is None:
                    bad = True
                    break
                ext_bytes += (ln + 2) * 4 if this == 51 else ln
                pos += 1
            if bad or nxt is None:
                st.skipped["IPv6 extension headers not decodable"] += 1
                continue
            proto = nxt
            ip_payload = plen - ext_bytes
            if ip_payload < 0:
                st.skipped["IPv6 extension headers longer than payload"] += 1
                continue

        # ports and payload
        if later_frag:
            st.notes["non-first fragments"] += 1
            key = frag_map.get(frag_id)
            if key is None:
                st.notes["non-first fragment before (or without) its first fragment"] += 1
                key = canonical(src, 0, dst, 0, proto)
            payload = ip_payload
        else:
            sport, dport, occ = transport_ports(fr, proto, pos, st)
            key = canonical(src, sport, dst, dport, proto)
            if is_frag:
                st.notes["first fragments"] += 1
                frag_map[frag_id] = key
            if proto == 6:
                tl = fr.nth_int("tcp.len", occ) if occ is not None else None
                if tl is None:
                    th = fr.nth_int("tcp.hdr_len", occ) if occ is not None else None
                    tl = max(ip_payload - (th if th is not None else 20), 0)
                    st.warn(f"frame {fr.number}: no tcp.len; payload {tl} from lengths")
                payload = tl
            elif proto in (17, 1, 58):
                payload = ip_payload - 8
            elif proto == 132:
                payload = ip_payload - 12
            else:
                payload = ip_payload
            if payload < 0:
                st.warn(f"frame {fr.number}: IP payload {ip_payload} shorter than the "
                        f"protocol {proto} header; payload counted as 0")
                payload = 0
        flows.setdefault(key, Flow()).add(nbytes, payload, t_us)
        if on_frame is not None:
            if later_frag:
                on_frame(fr, key, src, None, None)
            else:
                on_frame(fr, key, src, sport, pos)
    return flows


def tshark_base(tshark: str, capture: str, prefs=TSHARK_PREFS) -> list[str]:
    """tshark reading `capture` without name resolution, with `prefs`."""
    cmd = [tshark, "-n", "-r", capture]
    for p in prefs:
        cmd += ["-o", p]
    return cmd


def fields_command(tshark: str, capture: str, fields, prefs=TSHARK_PREFS) -> list[str]:
    """tshark printing `fields` of every frame: tab-separated, every
    occurrence of a field joined by AGG, no quotes, no header."""
    cmd = tshark_base(tshark, capture, prefs)
    cmd += ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
            "-E", f"aggregator={AGG}", "-E", "quote=n", "-E", "header=n"]
    for f in fields:
        cmd += ["-e", f]
    return cmd


def run_tshark(tshark: str, capture: str):
    return fields_command(tshark, capture, FIELDS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("-o", "--output", help="CSV file (default stdout)")
    ap.add_argument("--tshark", default="/usr/bin/tshark")
    ap.add_argument("--print-command", action="store_true",
                    help="print the tshark command line on stderr")
    args = ap.parse_args(argv)

    cmd = run_tshark(args.tshark, args.capture)
    if args.print_command:
        print(" ".join(cmd), file=sys.stderr)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace")
    st = Stats()
    flows = process((Frame(line) for line in proc.stdout), st)
    err = proc.stderr.read()
    rc = proc.wait()
    err_lines = [l for l in err.splitlines() if "Running as user" not in l and l.strip()]
    if rc != 0:
        print(f"tshark failed ({rc}) on {args.capture}:\n" + "\n".join(err_lines), file=sys.stderr)
        return 2
    for l in err_lines:
        print(f"tshark: {l}", file=sys.stderr)

    def sort_key(k):
        return (ip_sort_key(k[0]), k[1], ip_sort_key(k[2]), k[3], k[4])

    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["ip_a", "port_a", "ip_b", "port_b", "protocol",
                    "packets", "bytes", "payload", "first_time", "last_time"])
        for k in sorted(flows, key=sort_key):
            f = flows[k]
            w.writerow([k[0], k[1], k[2], k[3], k[4], f.packets, f.bytes, f.payload,
                        fmt_us(f.first), fmt_us(f.last)])
    finally:
        if args.output:
            out.close()

    total_pk = sum(f.packets for f in flows.values())
    print(f"{args.capture}: {len(flows)} flows, {total_pk} IP packets", file=sys.stderr)
    skipped = sum(st.skipped.values())
    print(f"skipped (no IP layer or undecodable): {skipped}", file=sys.stderr)
    for reason, n in sorted(st.skipped.items()):
        print(f"  skipped {reason}: {n}", file=sys.stderr)
    for note, n in sorted(st.notes.items()):
        print(f"  note: {note}: {n}", file=sys.stderr)
    for w_ in st.warnings:
        print(f"  warning: {w_}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
