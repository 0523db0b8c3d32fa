#!/usr/bin/env python3
"""A TLS-heavy benchmark capture: the connections of
testdata/captures/tls-handshakes.pcap (real OpenSSL/curl handshakes) repeated
COPIES times, each copy from other client addresses and ports and 0.1 s
later, IPv4 only (the IPv6 connection is left out).

    python3 scripts/make_tls_bench.py OUT.pcap [--copies 2000]

Checksums are not recomputed (jj does not check them). Standard library only.
"""

import argparse
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENT = bytes([10, 80, 0, 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--copies", type=int, default=2000)
    a = ap.parse_args()
    data = open(os.path.join(ROOT, "testdata/captures/tls-handshakes.pcap"), "rb").read()
    header, off, frames = data[:24], 24, []
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        frame = data[off + 16: off + 16 + incl]
        off += 16 + incl
        if frame[12:14] == b"\x08\x00":  # IPv4
            frames.append((sec * 1_000_000 + usec, orig, frame))
    t0 = frames[0][0]
    with open(a.out, "wb") as f:
        f.write(header)
        for c in range(a.copies):
            client = bytes([10, 81 + c // 65536 % 100, c // 256 % 256, c % 256])
            for t, orig, fr in frames:
                fr = bytearray(fr)
                ihl = (fr[14] & 15) * 4
                if fr[23] == 6:
                    for ip_at, port_at in ((26, 14 + ihl), (30, 14 + ihl + 2)):
                        if fr[ip_at:ip_at + 4] == CLIENT:
                            fr[ip_at:ip_at + 4] = client
                            port = struct.unpack_from(">H", fr, port_at)[0]
                            struct.pack_into(">H", fr, port_at, (port + c * 7) % 64512 + 1024)
                ts = t + c * 100_000
                f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(fr), orig))
                f.write(fr)


if __name__ == "__main__":
    main()
