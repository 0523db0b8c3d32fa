#!/usr/bin/env python3
"""Live-capture benchmark: the packet rate `jj live` sustains without kernel
drops, on a veth pair between two network namespaces, fed by
`tcpreplay --topspeed` (and at fixed rates) of a generated capture.

    sudo python3 scripts/bench_live.py                 # default: 300,000 packets
    sudo python3 scripts/bench_live.py --packets 1000000 --rates 50000,100000

Needs root, `ip` and `tcpreplay` (Debian packages iproute2, tcpreplay). Builds
`jj` (release, cargo feature `live`) and `jj-gen`; the capture is generated
into target/bench/. For each replay rate: `jj live` runs in namespace A on
its end of the pair (all feature groups, rows to /dev/null), tcpreplay sends
the capture from namespace B, then jj is stopped with SIGINT and its summary
read: packets captured, the kernel's received and dropped counts
(pcap_stats). With NFStream installed (`pip install nfstream`), its live
mode runs on the same replays. Results are printed and written to
bench/results/<date>-<time>-live.md. Only the standard library is used.
"""

import argparse
import datetime
import os
import platform
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
REL = os.path.join(TARGET, "release")
WORK = os.path.join(ROOT, "target", "bench")
NS_A, NS_B, IF_A, IF_B = "jjlbenA", "jjlbenB", "jjlbena", "jjlbenb"
JJ = ""


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def netns_up():
    netns_down()
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", IF_A, "type", "veth", "peer", "name", IF_B)
    sh("ip", "link", "set", IF_A, "netns", NS_A)
    sh("ip", "link", "set", IF_B, "netns", NS_B)
    for ns, ifc, addr in [(NS_A, IF_A, "10.77.0.1/24"), (NS_B, IF_B, "10.77.0.2/24")]:
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", check=False)
        sh("ip", "-n", ns, "addr", "add", addr, "dev", ifc)
        sh("ip", "-n", ns, "link", "set", ifc, "up")


def netns_down():
    sh("ip", "netns", "del", NS_A, check=False)
    sh("ip", "netns", "del", NS_B, check=False)


def start_capture(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    if "listening" not in line and "ready" not in line:
        raise RuntimeError(f"{cmd[0]}: {line}{p.stderr.read()}")
    return p


LOOPS = 1


def replay(capture, rate):
    args = ["ip", "netns", "exec", NS_B, "tcpreplay", "-q", "-i", IF_B, f"--loop={LOOPS}"]
    args += ["--topspeed"] if rate == "top" else ["--pps", str(rate)]
    t0 = time.perf_counter()
    out = sh(*args, capture).stdout
    wall = time.perf_counter() - t0
    m = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", out)
    sent = re.search(r"Actual: (\d+) packets", out)
    return (float(m.group(1)) if m else float("nan")), (int(sent.group(1)) if sent else 0), wall


def run_jj(capture, rate, features):
    cmd = ["ip", "netns", "exec", NS_A, JJ, "live", IF_A, "-o", "/dev/null"]
    if features:
        cmd += ["--features", features]
    p = start_capture(cmd)
    pps, sent, _ = replay(capture, rate)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    err = p.stderr.read()
    p.wait()
    m = re.search(r"(\d+) packets captured.*kernel: (\d+) received, (\d+) dropped, (\d+) dropped by the interface", err)
    if not m:
        raise RuntimeError(err)
    return {"pps": pps, "sent": sent, "captured": int(m.group(1)), "received": int(m.group(2)),
            "dropped": int(m.group(3)) + int(m.group(4))}


NFSTREAM = r"""
import sys, signal
from nfstream import NFStreamer
# A 1-second idle timeout: flows are yielded while the run goes on (at
# SIGINT NFStream does not hand over the flows still open).
s = NFStreamer(source=sys.argv[1], statistical_analysis=True, idle_timeout=1, active_timeout=18000)
print("ready", file=sys.stderr, flush=True)
n = 0
packets = 0
try:
    for f in s:
        n += 1
        packets += f.bidirectional_packets
except KeyboardInterrupt:
    pass
print(f"flows {n} packets {packets}", file=sys.stderr, flush=True)
"""


def run_nfstream(capture, rate, python):
    cmd = ["ip", "netns", "exec", NS_A, python, "-c", NFSTREAM, IF_A]
    p = start_capture(cmd)
    time.sleep(8.0)  # NFStream starts its meters seconds after the print
    pps, sent, _ = replay(capture, rate)
    time.sleep(6.0)
    p.send_signal(signal.SIGINT)
    err = p.stderr.read()
    p.wait()
    m = re.search(r"flows (\d+) packets (\d+)", err)
    return {"pps": pps, "sent": sent, "captured": int(m.group(2)) if m else -1, "received": -1,
            "dropped": (sent - int(m.group(2))) if m else -1}


def gen_py(path, packets, flows):
    """A capture of UDP exchanges (Ethernet, IPv4): `flows` 5-tuples between
    10.1.0.0/16 hosts, packets round-robin over them, 64-1400-byte frames.
    For machines without a release `jj-gen`."""
    import random
    import struct

    rnd = random.Random(7)
    tuples = [(0x0A010000 + rnd.randrange(65536), 0x0A010000 + rnd.randrange(65536),
               rnd.randrange(1024, 65535), rnd.choice([53, 443, 123, 5353])) for _ in range(flows)]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(packets):
            src, dst, sport, dport = tuples[i % flows]
            if (i // flows) % 2:
                src, dst, sport, dport = dst, src, dport, sport
            n = 64 + rnd.randrange(1300)
            udp = struct.pack(">HHHH", sport, dport, 8 + n, 0) + bytes(n)
            ip = struct.pack(">BBHHHBBHII", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src, dst)
            eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
            frame = eth + ip + udp
            t = i * 10
            f.write(struct.pack("<IIII", 1_700_000_000 + t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            f.write(frame)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--flows", type=int, default=20_000)
    ap.add_argument("--rates", default="top,400000,200000,100000",
                    help="replay rates, packets/s, comma-separated (top: --topspeed)")
    ap.add_argument("--features", default="", help="jj feature groups (default: all)")
    ap.add_argument("--nfstream-python", default="", help="a python with nfstream installed")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--jj", default="", help="the jj to run (default: target/release/jj, built; "
                    "the Python package's jj console script is the same program)")
    ap.add_argument("--capture", default="", help="replay this capture instead of a generated one")
    ap.add_argument("--loop", type=int, default=1, help="tcpreplay --loop")
    args = ap.parse_args()
    global JJ, LOOPS
    JJ = args.jj or os.path.join(REL, "jj")
    LOOPS = args.loop
    if os.geteuid() != 0:
        sys.exit("bench_live: needs root (network namespaces, capture)")
    if not args.no_build and not args.jj:
        # The Python wheel's feature set: a wheel build's artifacts are reused.
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "jj", "--features", "parquet,live",
                        "--bins"], cwd=ROOT, check=True)
    os.makedirs(WORK, exist_ok=True)
    capture = args.capture or os.path.join(WORK, f"live-{args.packets}-{args.flows}.pcap")
    if not os.path.exists(capture):
        if os.path.exists(os.path.join(REL, "jj-gen")):
            subprocess.run([os.path.join(REL, "jj-gen"), "-o", capture, "--packets", str(args.packets),
                            "--flows", str(args.flows)], check=True, stderr=subprocess.DEVNULL)
        else:
            gen_py(capture, args.packets, args.flows)
    rates = [r if r == "top" else int(r) for r in args.rates.split(",")]
    rows = []
    netns_up()
    try:
        for rate in rates:
            r = run_jj(capture, rate, args.features)
            rows.append(("jj live", rate, r))
            print(f"jj live   rate {rate}: {r}", flush=True)
            if args.nfstream_python:
                r = run_nfstream(capture, rate, args.nfstream_python)
                rows.append(("NFStream", rate, r))
                print(f"NFStream  rate {rate}: {r}", flush=True)
    finally:
        netns_down()
    now = datetime.datetime.now()
    lines = [
        f"# Live capture benchmark ({now:%Y-%m-%d %H:%M})",
        "",
        f"`sudo python3 scripts/bench_live.py {' '.join(sys.argv[1:])}` on {platform.node()} "
        f"({os.cpu_count()} cores, {platform.platform()}): tcpreplay of a generated capture "
        f"({os.path.basename(capture)}, {args.loop} loop(s)) from one namespace "
        f"into a veth pair; `jj live` on the other end, features: {args.features or 'all'}, rows to /dev/null.",
        "",
        "| extractor | replay rate | achieved pps (tcpreplay) | sent | captured | kernel received | dropped |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rate, r in rows:
        lines.append(f"| {name} | {'topspeed' if rate == 'top' else rate} | {r['pps']:.0f} | {r['sent']} | "
                     f"{r['captured']} | {r['received']} | {r['dropped']} |")
    if not args.nfstream_python:
        lines += ["", "NFStream: not run (give --nfstream-python)."]
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(ROOT, "bench", "results", f"{now:%Y-%m-%d-%H%M}-live.md")
    with open(out, "w") as f:
        f.write(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
