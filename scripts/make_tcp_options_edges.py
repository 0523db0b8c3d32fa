#!/usr/bin/env python3
"""Write testdata/captures/tcp-options-edges.pcap: hand-built TCP packets for
the tcp_window, tcp_options, tcp_fingerprint and tcp_mptcp groups.

Every case is its own 5-tuple (client 10.0.0.1 / 2001:db8::1, port 40000 + case
number, server port 80), so each case is one flow. What each case exercises is
in CASES below. Python 3 standard library only; the output is deterministic.

    python3 scripts/make_tcp_options_edges.py [-o testdata/captures/tcp-options-edges.pcap]

The values the groups must report for these packets come from Wireshark
(scripts/tshark_tcp_options.py), like every other capture.
"""

from __future__ import annotations

import argparse
import struct

SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08

C4, S4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
C6 = bytes.fromhex("20010db8000000000000000000000001")
S6 = bytes.fromhex("20010db8000000000000000000000002")


# ---- options -------------------------------------------------------------
def mss(v): return struct.pack("!BBH", 2, 4, v)
def ws(v): return struct.pack("!BBB", 3, 3, v)
def sok(): return b"\x04\x02"
def ts(val, ecr): return struct.pack("!BBII", 8, 10, val, ecr)
def sack(*blocks): return bytes([5, 2 + 8 * len(blocks)]) + b"".join(struct.pack("!II", l, r) for l, r in blocks)
NOP, EOL = b"\x01", b"\x00"
def mp_capable(flags=0x81, keys=b""): return bytes([30, 4 + len(keys), 0x01, flags]) + keys   # v1
def mp_join(syn=True): return bytes([30, 12, 0x10, 0x00]) + b"\x11\x22\x33\x44" + b"\x55\x66\x77\x88" if syn else bytes([30, 16, 0x10, 0]) + bytes(12)
def mp_dss(): return bytes([30, 8, 0x20, 0x01]) + b"\x00\x00\x00\x07"  # DATA_ACK (4 bytes)
def mp_add_addr(): return bytes([30, 8, 0x30, 0x01]) + bytes([192, 0, 2, 9])   # ADD_ADDR v1-style, IPv4, id 1


def pad4(opts: bytes) -> bytes:
    return opts + EOL * (-len(opts) % 4)


# ---- frames --------------------------------------------------------------
def tcp(sport, dport, seq, ack, flags, win, opts=b"", payload=b"", doff=None):
    if doff is None:
        opts = pad4(opts)
        doff = 5 + len(opts) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0) + opts + payload


def ipv4(src, dst, seg, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000, ttl, 6, 0, src, dst)
    return h + seg


def ipv6(src, dst, seg, hlim=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(seg), 6, hlim, src, dst) + seg


def eth(ip, v6=False):
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + (b"\x86\xdd" if v6 else b"\x08\x00") + ip


class Case:
    def __init__(self, n, v6=False):
        self.port = 40000 + n
        self.v6 = v6

    def pkt(self, fwd, flags, win, opts=b"", payload=b"", ttl=None, doff=None, seq=1000, ack=2000, raw_opts=False):
        sp, dp = (self.port, 80) if fwd else (80, self.port)
        if raw_opts:  # options exactly as given (no padding), doff computed by caller or from length
            seg = tcp(sp, dp, seq, ack, flags, win, b"", payload, doff=doff)
            seg = seg[:20] + opts + payload
        else:
            seg = tcp(sp, dp, seq, ack, flags, win, opts, payload, doff=doff)
        src, dst = ((C6, S6) if fwd else (S6, C6)) if self.v6 else ((C4, S4) if fwd else (S4, C4))
        if ttl is None:
            ttl = 64 if fwd else 120
        ip = ipv6(src, dst, seg, ttl) if self.v6 else ipv4(src, dst, seg, ttl)
        return eth(ip, self.v6)


def cases():
    out = []  # (case number, description, [frames])

    def add(n, desc, frames):
        out.append((n, desc, frames))

    c = Case(1)
    add(1, "handshake, both SYNs carry window scale (7 and 8): later windows scaled, SYN windows not; a zero window; window ups and downs", [
        c.pkt(True, SYN, 64240, mss(1460) + sok() + ts(100, 0) + NOP + ws(7)),
        c.pkt(False, SYN | ACK, 65160, mss(1400) + sok() + ts(5000, 100) + NOP + ws(8)),
        c.pkt(True, ACK, 502, NOP + NOP + ts(101, 5000)),
        c.pkt(True, ACK | PSH, 502, NOP + NOP + ts(102, 5000), b"GET / HTTP/1.1\r\n\r\n"),
        c.pkt(False, ACK, 255, NOP + NOP + ts(5001, 102)),
        c.pkt(False, ACK | PSH, 0, NOP + NOP + ts(5002, 102), b"x" * 100),
        c.pkt(True, ACK, 510, NOP + NOP + ts(103, 5002) + NOP + NOP + sack((1, 2), (3, 4))),
        c.pkt(True, ACK, 400, NOP + NOP + ts(104, 5002) + NOP + NOP + sack((5, 6))),
        c.pkt(False, ACK, 300, NOP + NOP + ts(5003, 104)),
    ])
    c = Case(2)
    add(2, "only the SYN carries window scale: no scaling", [
        c.pkt(True, SYN, 29200, mss(1460) + sok() + ts(1, 0) + NOP + ws(7)),
        c.pkt(False, SYN | ACK, 28960, mss(1460) + sok() + ts(2, 1)),
        c.pkt(True, ACK, 229, ts(3, 2)),
        c.pkt(False, ACK, 227, ts(4, 3)),
    ])
    c = Case(3)
    add(3, "only the SYN-ACK carries window scale: no scaling", [
        c.pkt(True, SYN, 8192, mss(1460) + NOP + NOP + sok()),
        c.pkt(False, SYN | ACK, 5840, mss(1380) + NOP + ws(2)),
        c.pkt(True, ACK, 8192),
        c.pkt(False, ACK, 5840),
    ])
    c = Case(4)
    add(4, "no handshake (capture starts mid-connection): windows unknown-scaled, raw", [
        c.pkt(True, ACK | PSH, 1000, NOP + NOP + ts(7, 8), b"abc"),
        c.pkt(False, ACK, 2000, NOP + NOP + ts(8, 7)),
        c.pkt(True, ACK, 0),
    ])
    c = Case(5)
    add(5, "capture starts at the SYN-ACK (its sender is the initiator); it carries window scale", [
        c.pkt(True, SYN | ACK, 65535, mss(1460) + NOP + ws(6) + sok() + ts(9, 10)),
        c.pkt(False, ACK, 1024, ts(11, 9)),
        c.pkt(True, ACK, 1024, ts(12, 11)),
    ])
    c = Case(6)
    add(6, "window scale shifts above 14 (15 and 20)", [
        c.pkt(True, SYN, 65535, mss(1460) + NOP + ws(15)),
        c.pkt(False, SYN | ACK, 65535, mss(1460) + NOP + ws(20)),
        c.pkt(True, ACK, 3),
        c.pkt(False, ACK, 4),
    ])
    c = Case(7)
    add(7, "malformed options: MSS of length 5 in the SYN, then a zero option length in the SYN-ACK", [
        c.pkt(True, SYN, 1000, b"\x02\x05\x05\xb4\x00" + NOP + ws(3) + NOP + NOP),
        c.pkt(False, SYN | ACK, 1000, mss(536) + b"\x04\x00" + ws(4) + NOP),
        c.pkt(True, ACK, 100),
    ])
    c = Case(8)
    add(8, "an option running past the options area; timestamps of length 8; SACK of length 11", [
        c.pkt(True, SYN, 1000, mss(1200) + b"\x03\x09\x01\x01"),
        c.pkt(False, SYN | ACK, 1000, b"\x08\x08" + bytes(6) + mss(1300)),
        c.pkt(True, ACK, 100, b"\x05\x0b" + bytes(9) + NOP),
    ])
    c = Case(9)
    add(9, "timestamps wrap around 2^32; only padding options (NOP, EOL) in one packet", [
        c.pkt(True, ACK, 100, NOP + NOP + ts(0xFFFFFFF0, 0)),
        c.pkt(True, ACK, 100, NOP + NOP + ts(0x00000010, 0)),
        c.pkt(False, ACK, 100, NOP + NOP + NOP + EOL),
        c.pkt(False, ACK, 100, NOP + NOP + ts(0, 0x10)),
    ])
    c = Case(10, v6=True)
    add(10, "IPv6 handshake with window scale on both sides, hop limits 64/57", [
        c.pkt(True, SYN, 64800, mss(1440) + sok() + ts(77, 0) + NOP + ws(7), ttl=64),
        c.pkt(False, SYN | ACK, 64260, mss(1440) + sok() + ts(88, 77) + NOP + ws(9), ttl=57),
        c.pkt(True, ACK, 507, NOP + NOP + ts(78, 88), ttl=64),
        c.pkt(False, ACK, 126, NOP + NOP + ts(89, 78), ttl=57),
    ])
    c = Case(11)
    add(11, "a SYN without reply, sent three times", [
        c.pkt(True, SYN, 65535, mss(1460) + NOP + ws(5) + NOP + NOP + ts(1, 0) + sok() + EOL, ttl=128),
        c.pkt(True, SYN, 65535, mss(1460) + NOP + ws(5) + NOP + NOP + ts(1001, 0) + sok() + EOL, ttl=128),
        c.pkt(True, SYN, 65535, mss(1460) + NOP + ws(5) + NOP + NOP + ts(3001, 0) + sok() + EOL, ttl=128),
    ])
    c = Case(12)
    add(12, "MPTCP: MP_CAPABLE handshake both ways, third ACK with MP_CAPABLE, DSS, ADD_ADDR", [
        c.pkt(True, SYN, 64240, mss(1460) + sok() + ts(1, 0) + NOP + ws(7) + mp_capable()),
        c.pkt(False, SYN | ACK, 65160, mss(1460) + sok() + ts(2, 1) + NOP + ws(7) + mp_capable(0x81, bytes(8))),
        c.pkt(True, ACK, 502, NOP + NOP + ts(3, 2) + mp_capable(0x81, bytes(16))),
        c.pkt(True, ACK | PSH, 502, NOP + NOP + ts(4, 2) + mp_dss(), b"hi"),
        c.pkt(False, ACK, 509, NOP + NOP + ts(5, 4) + mp_dss()),
        c.pkt(False, ACK, 509, NOP + NOP + ts(6, 4) + mp_add_addr()),
    ])
    c = Case(13)
    add(13, "MPTCP: MP_JOIN subflow handshake", [
        c.pkt(True, SYN, 64240, mss(1460) + sok() + NOP + ws(7) + mp_join(True)),
        c.pkt(False, SYN | ACK, 65160, mss(1460) + sok() + NOP + ws(7) + bytes([30, 16, 0x10, 0x00]) + bytes(12)),
        c.pkt(True, ACK, 502, bytes([30, 24, 0x10, 0x00]) + bytes(20)),
    ])
    c = Case(14)
    add(14, "MPTCP offered by the client only (server answers plain TCP)", [
        c.pkt(True, SYN, 64240, mss(1460) + NOP + ws(7) + mp_capable()),
        c.pkt(False, SYN | ACK, 65160, mss(1460) + NOP + ws(7)),
        c.pkt(True, ACK, 502),
    ])
    c = Case(15)
    add(15, "SYN-ACK before the SYN in capture order? no: a RST-only flow with window 0", [
        c.pkt(True, SYN, 1024, mss(536), ttl=255),
        c.pkt(False, RST | ACK, 0, ttl=250),
    ])
    c = Case(16)
    add(16, "header length 20 with no options; a data offset above the captured options (no room)", [
        c.pkt(True, SYN, 5840, b""),
        c.pkt(False, SYN | ACK, 5792, mss(1460)),
        c.pkt(True, ACK, 46),
    ])
    c = Case(17)
    add(17, "window scale on a non-SYN packet (ignored by the handshake rule); MSS twice; SACK permitted of length 3; options after an EOL", [
        c.pkt(True, ACK, 100, NOP + ws(4) + mss(1000) + mss(1100)),
        c.pkt(False, ACK, 200, b"\x04\x03\x00" + NOP + ts(50, 60)),
        c.pkt(True, ACK, 300, NOP + EOL + mss(1200) + NOP + NOP + NOP),
        c.pkt(False, ACK, 400, sack((10, 20), (30, 40), (50, 60), (70, 80))),
    ])
    return out


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000_000_000
        for fr in frames:
            t += 1000
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(fr), len(fr)))
            f.write(fr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default="testdata/captures/tcp-options-edges.pcap")
    args = ap.parse_args()
    frames = []
    for _n, _desc, fs in cases():
        frames += fs
    write_pcap(args.output, frames)


if __name__ == "__main__":
    main()
