#!/usr/bin/env python3
"""Write testdata/captures/tcp-analysis-synth.pcap: hand-built TCP
connections exercising Wireshark's TCP analysis (one scenario per client
port), for the tcp / tcp_sequence / tcp_rtt tests.

    python3 scripts/make_tcp_synth.py [OUT.pcap]

Ethernet / IPv4 / TCP, microsecond pcap, 10.0.0.1 (client) <-> 10.0.0.2:80.
Scenarios (client port):
  1001 handshake with window scale 7 both ways, data, three duplicate ACKs,
       fast retransmission, spurious retransmission, retransmission, FIN both
  1002 SYN retransmitted after 1 s, data, RST from the server
  1003 keep-alives (0 and 1 byte) and their ACKs
  1004 zero window, zero-window probes and their ACKs, window update
  1005 sequence numbers wrapping past 2^32, then a retransmission
  1006 a lone RST (no handshake)
  1007 a gap then the missing segment 1 ms later (out-of-order), and a
       retransmission long after
  1008 timestamps option on every segment (RTT samples from TSval/TSecr)
  1009 mid-stream: no SYN seen, data both ways
  1010 duplicate ACKs in a row without a retransmission, SYN-ACK lost
  1011 a connection closed with FIN, then a new one on the same 5-tuple
       with a lower initial sequence number (Wireshark: port numbers reused,
       a new conversation)
  1012 the same without a close
  and one UDP flow (10.0.0.1:5000 -> 10.0.0.2:53, two datagrams).
Python 3.11 standard library only; deterministic.
"""

import struct
import sys

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128
C, S = (10, 0, 0, 1), (10, 0, 0, 2)
T0 = 1_700_000_000_000_000  # µs


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b)//2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip(src, dst, proto, l4: bytes) -> bytes:
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0,
                    bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4


def tcp(src, dst, sport, dport, seq, ack, flags, win=1000, data=b"", ws=None, ts=None):
    opts = b""
    if ws is not None:
        opts += bytes([1, 3, 3, ws])
    if ts is not None:
        opts += bytes([1, 1, 8, 10]) + struct.pack("!II", *ts)
    while len(opts) % 4:
        opts += b"\1"
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq % 2**32, ack % 2**32, off << 4, flags,
                    win, 0, 0) + opts
    pseudo = struct.pack("!4s4sBBH", bytes(src), bytes(dst), 0, 6, len(h) + len(data))
    c = csum(pseudo + h + data)
    h = h[:16] + struct.pack("!H", c) + h[18:]
    return ip(src, dst, 6, h + data)


def udp(src, dst, sport, dport, data):
    h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    return ip(src, dst, 17, h + data)


def eth(payload: bytes) -> bytes:
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + payload


frames: list[tuple[int, bytes]] = []


class Conn:
    """A scenario: c(...) from the client, s(...) from the server, at time t (ms)."""

    def __init__(self, port: int, start_ms: int):
        self.port, self.base = port, T0 + start_ms * 1000

    def c(self, t_ms, seq, ack, flags, **kw):
        frames.append((self.base + int(t_ms * 1000),
                       eth(tcp(C, S, self.port, 80, seq, ack, flags, **kw))))

    def s(self, t_ms, seq, ack, flags, **kw):
        frames.append((self.base + int(t_ms * 1000),
                       eth(tcp(S, C, 80, self.port, seq, ack, flags, **kw))))


D100 = bytes(range(100))

# 1001
k = Conn(1001, 0)
k.c(0, 999, 0, SYN, win=64240, ws=7)
k.s(10, 4999, 1000, SYN | ACK, win=65160, ws=7)
k.c(20, 1000, 5000, ACK, win=502)
for i in range(3):
    k.c(30 + i, 1000 + 100 * i, 5000, PSH | ACK, win=502, data=D100)
k.s(40, 5000, 1100, ACK, win=509)
for i in range(3):
    k.s(41 + i, 5000, 1100, ACK, win=509)
k.c(45, 1100, 5000, PSH | ACK, win=502, data=D100)      # fast retransmission
k.s(55, 5000, 1300, ACK, win=509)
k.c(500, 1000, 5000, PSH | ACK, win=502, data=D100)     # spurious
k.c(510, 1300, 5000, PSH | ACK, win=502, data=D100)
k.c(900, 1300, 5000, PSH | ACK, win=502, data=D100)     # retransmission
k.s(910, 5000, 1400, ACK, win=509)
k.c(920, 1400, 5000, FIN | ACK, win=502)
k.s(930, 5000, 1401, FIN | ACK, win=509)
k.c(940, 1401, 5001, ACK, win=502)

# 1002
k = Conn(1002, 2000)
k.c(0, 7000, 0, SYN, win=29200)
k.c(1000, 7000, 0, SYN, win=29200)
k.s(1010, 9000, 7001, SYN | ACK, win=28960)
k.c(1020, 7001, 9001, ACK)
k.c(1030, 7001, 9001, PSH | ACK, data=D100)
k.s(1040, 9001, 7101, RST | ACK, win=0)

# 1003
k = Conn(1003, 4000)
k.c(0, 100, 0, SYN)
k.s(5, 200, 101, SYN | ACK)
k.c(10, 101, 201, ACK)
k.c(20, 101, 201, PSH | ACK, data=D100)
k.s(30, 201, 201, ACK)
k.c(10000, 200, 201, ACK)                 # keep-alive, 0 bytes
k.s(10001, 201, 201, ACK)                 # keep-alive ACK
k.c(20000, 200, 201, ACK, data=b"\0")     # keep-alive, 1 byte
k.s(20001, 201, 201, ACK)

# 1004
k = Conn(1004, 30000)
k.c(0, 100, 0, SYN)
k.s(5, 200, 101, SYN | ACK)
k.c(10, 101, 201, ACK)
k.c(20, 101, 201, PSH | ACK, data=D100)
k.s(30, 201, 201, ACK, win=0)             # zero window
k.c(500, 201, 201, ACK, data=b"x")        # zero-window probe
k.s(501, 201, 201, ACK, win=0)            # its ACK
k.c(1500, 201, 201, ACK, data=b"x")       # probe again
k.s(1501, 201, 201, ACK, win=0)
k.s(2000, 201, 201, ACK, win=1000)        # window update
k.c(2010, 201, 201, PSH | ACK, data=D100)
k.s(2020, 201, 301, ACK)

# 1005
isn = 2**32 - 50
k = Conn(1005, 40000)
k.c(0, isn, 0, SYN)
k.s(5, 300, isn + 1, SYN | ACK)
k.c(10, isn + 1, 301, ACK)
k.c(20, isn + 1, 301, PSH | ACK, data=D100)     # crosses 2^32
k.c(21, isn + 101, 301, PSH | ACK, data=D100)
k.s(30, 301, isn + 201, ACK)
k.c(40, isn + 201, 301, PSH | ACK, data=D100)
k.c(1000, isn + 201, 301, PSH | ACK, data=D100)  # retransmission
k.s(1010, 301, isn + 301, ACK)

# 1006
k = Conn(1006, 45000)
k.c(0, 5555, 0, RST)

# 1007
k = Conn(1007, 46000)
k.c(0, 100, 0, SYN)
k.s(20, 200, 101, SYN | ACK)
k.c(40, 101, 201, ACK)
k.c(50, 101, 201, PSH | ACK, data=D100)
k.c(51, 301, 201, PSH | ACK, data=D100)        # 201..301 missing
k.c(52, 201, 201, PSH | ACK, data=D100)        # arrives: out of order
k.s(60, 201, 401, ACK)
k.c(70, 401, 201, PSH | ACK, data=D100)
k.c(2000, 401, 201, PSH | ACK, data=D100)      # retransmission
k.s(2010, 201, 501, ACK)

# 1008
k = Conn(1008, 50000)
k.c(0, 100, 0, SYN, ts=(1000, 0))
k.s(7, 200, 101, SYN | ACK, ts=(5000, 1000))
k.c(14, 101, 201, ACK, ts=(1014, 5000))
k.c(20, 101, 201, PSH | ACK, data=D100, ts=(1020, 5000))
k.s(29, 201, 201, PSH | ACK, data=D100, ts=(5029, 1020))
k.c(38, 201, 301, ACK, ts=(1038, 5029))
k.c(40, 201, 301, PSH | ACK, data=D100, ts=(1040, 5029))
k.s(52, 301, 301, ACK, ts=(5052, 1040))
k.s(53, 301, 301, ACK, ts=(5053, 1040))

# 1009
k = Conn(1009, 52000)
k.c(0, 123456, 654321, PSH | ACK, data=D100)
k.s(10, 654321, 123556, PSH | ACK, data=D100)
k.c(20, 123556, 654421, ACK)

# 1010
k = Conn(1010, 53000)
k.c(0, 100, 0, SYN | ECE | CWR)
k.c(30, 101, 201, ACK)                          # SYN-ACK not captured
k.c(40, 101, 201, PSH | ACK | URG, data=D100)
k.s(50, 201, 101, ACK | ECE)
k.s(51, 201, 101, ACK | ECE)
k.s(52, 201, 101, ACK | ECE)
k.s(400, 201, 201, ACK)
k.c(410, 201, 201, FIN | PSH | URG | ACK)

# 1011
k = Conn(1011, 54000)
k.c(0, 1000, 0, SYN)
k.s(10, 5000, 1001, SYN | ACK)
k.c(20, 1001, 5001, ACK)
k.c(30, 1001, 5001, PSH | ACK, data=D100)
k.s(40, 5001, 1101, ACK)
k.c(50, 1101, 5001, FIN | ACK)
k.s(60, 5001, 1102, FIN | ACK)
k.c(70, 1102, 5002, ACK)
k.c(1000, 500, 0, SYN)
k.s(1010, 9000, 501, SYN | ACK)
k.c(1030, 501, 9001, ACK)
k.c(1040, 501, 9001, PSH | ACK, data=D100)
k.s(1050, 9001, 601, ACK)

# 1012
k = Conn(1012, 56000)
k.c(0, 1000, 0, SYN)
k.s(10, 5000, 1001, SYN | ACK)
k.c(20, 1001, 5001, ACK)
k.c(30, 1001, 5001, PSH | ACK, data=D100)
k.c(1000, 700, 0, SYN)
k.s(1010, 7000, 701, SYN | ACK)
k.c(1050, 701, 7001, ACK)
k.c(1060, 701, 7001, PSH | ACK, data=D100)
k.s(1070, 7001, 801, ACK)

# UDP
frames.append((T0 + 60_000_000, eth(udp(C, S, 5000, 53, b"q" * 20))))
frames.append((T0 + 60_001_000, eth(udp(S, C, 53, 5000, b"r" * 40))))

frames.sort(key=lambda f: f[0])
out = sys.argv[1] if len(sys.argv) > 1 else "testdata/captures/tcp-analysis-synth.pcap"
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for ts, b in frames:
        f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(b), len(b)) + b)
