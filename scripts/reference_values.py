#!/usr/bin/env python3
"""Compute reference values for flow_id and IP anonymization.

Run with the interpreter of a virtualenv that has the Python package
joyfuljay 0.1.6.1 installed, from the repository root:

    /opt/refjj/bin/python scripts/reference_values.py

Every value written comes from the reference package itself: a packet record
is built with its Packet class, turned into a flow with Flow.from_first_packet,
and the flow_meta extractor of the package (FlowMetaExtractor.extract) produces
`flow_id` and the anonymized `src_ip`. Nothing here recomputes the hashes.

It also writes testdata/reference/ipv6_text.csv: how the reference turns the
16 address bytes of an IPv6 header into the text that it hashes. A small
temporary pcap (Ethernet / IPv6 / UDP) is written for that and read back with
the package's default capture backend (ScapyBackend.iter_packets_offline).

Writes testdata/reference/flow_id.csv, anonymize.csv and ipv6_text.csv.
"""

from __future__ import annotations

import csv
import socket
import struct
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from joyfuljay.capture.scapy_backend import ScapyBackend
from joyfuljay.core.flow import Flow
from joyfuljay.core.packet import Packet
from joyfuljay.extractors.flow_meta import FlowMetaExtractor

EXPECTED_VERSION = "0.1.6.1"
OUT_DIR = Path(__file__).resolve().parent.parent / "testdata" / "reference"

SALT = "research-project-2025"

# (salt, ip_src, port_src, ip_dst, port_dst, protocol).  Every conversation is
# listed in both directions so that the CSV shows the id ignores direction.
FLOW_CASES = [
    # IPv4 TCP, empty salt and non-empty salt
    ("", "192.168.1.100", 52341, "142.250.189.46", 443, 6),
    ("", "142.250.189.46", 443, "192.168.1.100", 52341, 6),
    (SALT, "192.168.1.100", 52341, "142.250.189.46", 443, 6),
    (SALT, "142.250.189.46", 443, "192.168.1.100", 52341, 6),
    # IP text order differs from numeric order: "10.0.0.2" < "9.9.9.9"
    ("", "9.9.9.9", 53, "10.0.0.2", 40000, 17),
    ("", "10.0.0.2", 40000, "9.9.9.9", 53, 17),
    # Same IP on both sides: ports decide, compared as numbers (9 < 10, 80 < 443)
    ("", "127.0.0.1", 10, "127.0.0.1", 9, 17),
    ("", "127.0.0.1", 9, "127.0.0.1", 10, 17),
    (SALT, "127.0.0.1", 443, "127.0.0.1", 80, 6),
    (SALT, "127.0.0.1", 80, "127.0.0.1", 443, 6),
    # ICMP: no ports, the flow uses 0 and 0
    ("", "10.1.1.1", 0, "10.1.1.2", 0, 1),
    ("", "10.1.1.2", 0, "10.1.1.1", 0, 1),
    (SALT, "10.1.1.1", 0, "10.1.1.2", 0, 1),
    # IPv6: compressed text; ':' sorts after the digits, so
    # "2001:db8:0:1::1" < "2001:db8::1" although it is the larger address
    ("", "2001:db8::1", 443, "2001:db8:0:1::1", 51000, 6),
    ("", "2001:db8:0:1::1", 51000, "2001:db8::1", 443, 6),
    (SALT, "fe80::1c2a:3bff:fe4d:5e6f", 546, "fe80::1", 547, 17),
    (SALT, "fe80::1", 547, "fe80::1c2a:3bff:fe4d:5e6f", 546, 17),
    # IPv6 same address, ports 9 / 10
    ("", "::1", 9, "::1", 10, 17),
    ("", "::1", 10, "::1", 9, 17),
]

ANON_CASES = [
    ("", "192.168.1.100"),
    ("", "10.0.0.2"),
    ("", "142.250.189.46"),
    ("", "2001:db8::1"),
    ("", "fe80::1"),
    ("", "::1"),
    ("", "::ffff:192.0.2.1"),
    (SALT, "192.168.1.100"),
    (SALT, "10.0.0.2"),
    (SALT, "142.250.189.46"),
    (SALT, "2001:db8::1"),
    (SALT, "2001:db8:0:1::1"),
    (SALT, "fe80::1c2a:3bff:fe4d:5e6f"),
    (SALT, "::ffff:192.0.2.1"),
    ("consistent-salt", "192.168.1.100"),
    ("consistent-salt", "2001:db8::1"),
]

# IPv6 addresses (given here in any valid notation; only their 16 bytes are
# used) whose text form the reference produces from a capture.
IPV6_TEXT_CASES = [
    "2001:0db8:0000:0000:0000:0000:0000:0001",  # leading zeros, longest run
    "2001:DB8:0:1:1:1:1:1",                      # upper case; one zero field
    "2001:db8:0:0:1:0:0:1",                      # two equal runs: first wins
    "2001:db8:0:0:0:1:0:0",                      # longer run wins
    "fe80:0:0:0:1c2a:3bff:fe4d:5e6f",
    "::1",
    "::",
    "::ffff:192.0.2.1",                          # IPv4-mapped
    "::ffff:0:0",
    "::192.0.2.1",                               # IPv4-compatible (deprecated)
    "::0.2.0.3",
    "::0.0.1.0",
    "64:ff9b::192.0.2.33",                       # NAT64 prefix: plain hex
]


def ipv6_text_from_capture(addresses: list[str]) -> list[str]:
    """Text of each address as the reference reads it from a pcap file."""
    records = []
    for i, text in enumerate(addresses):
        addr = socket.inet_pton(socket.AF_INET6, text)
        udp = struct.pack("!HHHH", 1000 + i, 2000, 8, 0)
        ip6 = struct.pack("!IHBB", 6 << 28, len(udp), 17, 64) + addr + addr + udp
        frame = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x86\xdd" + ip6
        records.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ipv6_text.pcap"
        path.write_bytes(header + b"".join(records))
        packets = list(ScapyBackend().iter_packets_offline(str(path)))
    assert len(packets) == len(addresses)
    for pkt in packets:
        assert pkt.src_ip == pkt.dst_ip
    return [pkt.src_ip for pkt in packets]


def make_flow(ip_src: str, port_src: int, ip_dst: str, port_dst: int, protocol: int) -> Flow:
    """A one-packet flow built by the reference package."""
    packet = Packet(
        timestamp=0.0,
        src_ip=ip_src,
        dst_ip=ip_dst,
        src_port=port_src,
        dst_port=port_dst,
        protocol=protocol,
        payload_len=0,
        total_len=0,
    )
    return Flow.from_first_packet(packet)


def reference_flow_id(salt: str, *five_tuple) -> str:
    extractor = FlowMetaExtractor(include_flow_id=True, anonymization_salt=salt)
    flow_id = extractor.extract(make_flow(*five_tuple))["flow_id"]
    # flow_id must not depend on anonymize_ips (it hashes the raw addresses)
    anon = FlowMetaExtractor(
        include_flow_id=True, anonymize_ips=True, anonymization_salt=salt
    )
    assert anon.extract(make_flow(*five_tuple))["flow_id"] == flow_id
    return flow_id


def reference_anonymized(salt: str, ip: str) -> str:
    extractor = FlowMetaExtractor(anonymize_ips=True, anonymization_salt=salt)
    return extractor.extract(make_flow(ip, 1, ip, 2, 17))["src_ip"]


def main() -> int:
    version = metadata.version("joyfuljay")
    if version != EXPECTED_VERSION:
        print(f"warning: joyfuljay {version} installed, expected {EXPECTED_VERSION}",
              file=sys.stderr)
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    with open(OUT_DIR / "flow_id.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["salt", "ip_src", "port_src", "ip_dst", "port_dst", "protocol", "flow_id"])
        for salt, *tup in FLOW_CASES:
            w.writerow([salt, *tup, reference_flow_id(salt, *tup)])

    with open(OUT_DIR / "anonymize.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["salt", "ip", "anonymized"])
        for salt, ip in ANON_CASES:
            w.writerow([salt, ip, reference_anonymized(salt, ip)])

    texts = ipv6_text_from_capture(IPV6_TEXT_CASES)
    with open(OUT_DIR / "ipv6_text.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["address_hex", "ip_text"])
        for addr, text in zip(IPV6_TEXT_CASES, texts):
            w.writerow([socket.inet_pton(socket.AF_INET6, addr).hex(), text])

    print(f"joyfuljay {version}: wrote {len(FLOW_CASES)} flow_id rows, "
          f"{len(ANON_CASES)} anonymize rows and {len(IPV6_TEXT_CASES)} ipv6_text "
          f"rows to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
