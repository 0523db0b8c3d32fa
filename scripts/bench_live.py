#!/usr/bin/env python3
"""Live-capture benchmark: the packet rate `jj live` sustains without kernel
drops, on a veth pair between two network namespaces, fed by
`tcpreplay --topspeed` (and at fixed rates) of a generated capture.

    sudo python3 scripts/bench_live.py                 # default: 300,000 packets
    sudo python3 scripts/bench_live.py --packets 1000000 --rates 50000,100000

Needs root, `ip` and `tcpreplay` (Debian packages iproute2, tcpreplay). Builds
`jj` (release, cargo feature `live`) and `jj-gen`; the capture is generated
into target/bench/. For each replay rate: `jj live` runs in namespace A on
its end of the pair (all feature groups, rows as CSV, counted), tcpreplay
sends the capture from namespace B, then jj is stopped with SIGINT and its
summary read: packets captured, the kernel's received and dropped counts
(pcap_stats). With NFStream installed (`--nfstream-python PY`, a python with
`pip install nfstream`), its live mode runs on the same replays; how it is
driven (a ticker keeps its clock going, the replay starts once it yields a
flow) is explained at NFSTREAM below. Validate at a low rate first, where
both must count every packet:

    sudo python3 scripts/bench_live.py --packets 20000 --flows 1000 --rates 5000 \
        --nfstream-python /path/to/venv/bin/python

Results are printed and written to bench/results/<date>-<time>-<topic>.md
(--topic, default live). Only the standard library is used.
"""

import argparse
import csv
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


def count_rows(path):
    """(flows, the sum of their total_packets) of a jj CSV file."""
    flows = packets = 0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            flows += 1
            packets += int(row["total_packets"])
    return flows, packets


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
    rows = os.path.join(WORK, "live-jj-rows.csv")
    cmd = ["ip", "netns", "exec", NS_A, JJ, "live", IF_A, "-o", rows, "-f", "csv"]
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
    # The rows are checked too: flows and the sum of their packets.
    flows, packets = count_rows(rows)
    os.remove(rows)
    return {"pps": pps, "sent": sent, "captured": int(m.group(1)), "received": int(m.group(2)),
            "dropped": int(m.group(3)) + int(m.group(4)), "flows": flows, "row_packets": packets}


# NFStream in live mode. Two properties of NFStream 6.x decide how it must be
# driven (read from its meter.py / engine_cc.c):
# - a meter's clock advances only with packet timestamps: when no packet
#   arrives, pcap's timeout returns nothing and no idle flow expires;
# - on SIGINT the streamer terminates its meters WITHOUT flushing their flow
#   caches (only the end of a file does that).
# So after the replay, flows still open in the meter are never yielded unless
# more packets arrive. The harness therefore runs a "ticker" in the sending
# namespace: small UDP datagrams to 10.77.0.1:9, 20/s, tick n from source
# port 30000 + n (a new flow each), that keep the meter's clock moving, so
# every replayed flow ends by the idle timeout and is yielded. A socket in
# namespace A receives them: an ICMP port-unreachable answer would make one
# long ICMP flow, and NFStream's idle scan walks its flows in order of
# creation and stops at the first one not idle (an update does not move a
# flow to the end of its OrderedDict), so that flow would hold back the
# expiry of every later one. Flows with an address in 10.77.0.0/24 are
# counted apart (ARP is not IP). The first yielded tick flow proves the meter is
# capturing: only then does the replay start. The run is complete when a tick
# sent after the replay's end has been yielded (+ 1 s): ticks expire in the
# order they were sent, so the meter has then gone through the whole replay,
# however large its backlog in the socket buffer, and ended every replayed
# flow (idle timeout).
NFSTREAM = r"""
import sys, json, threading, time
from nfstream import NFStreamer
iface, idle, meters, bufsize, stats, dissect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1", int(sys.argv[6])
s = NFStreamer(source=iface, statistical_analysis=stats, n_dissections=dissect, idle_timeout=idle,
               active_timeout=18000, n_meters=meters, socket_buffer_size=bufsize, performance_report=1)
c = {"flows": 0, "packets": 0, "ticks": 0, "last_tick": -1}
def report():
    while True:
        print("state %d %d %d %d" % (c["flows"], c["packets"], c["ticks"], c["last_tick"]), file=sys.stderr, flush=True)
        time.sleep(0.25)
threading.Thread(target=report, daemon=True).start()
try:
    for f in s:
        if f.src_ip.startswith("10.77.0.") or f.dst_ip.startswith("10.77.0."):
            c["ticks"] += 1
            if f.dst_port == 9:
                c["last_tick"] = max(c["last_tick"], f.src_port - 30000)
        else:
            c["flows"] += 1
            c["packets"] += f.bidirectional_packets
except KeyboardInterrupt:
    pass
"""

SINK = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.1", 9))
print("bound", flush=True)
while True:
    s.recv(64)
"""

TICKER = r"""
import socket, sys, time
for n in range(30000):
    t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t.bind(("10.77.0.2", 30000 + n))
    t.sendto(b"tick", ("10.77.0.1", 9))
    t.close()
    print(n, flush=True)
    time.sleep(0.05)
"""


class Lines:
    """Reads a pipe on a thread, keeping the last `state` line and the last
    NFStream performance report (JSON on stdout)."""

    def __init__(self, stream, key):
        import threading

        self.last, self.key, self.all = None, key, []
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def _run(self, stream):
        for line in stream:
            self.all.append(line)
            if line.startswith(self.key):
                self.last = line


NF_OPTS = {"idle": 3, "meters": 1, "bufsize": 0, "stats": True, "dissect": 20}


def run_nfstream(capture, rate, python):
    import json

    o = NF_OPTS
    cmd = ["ip", "netns", "exec", NS_A, python, "-c", NFSTREAM, IF_A, str(o["idle"]), str(o["meters"]),
           str(o["bufsize"]), "1" if o["stats"] else "0", str(o["dissect"])]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err, out = Lines(p.stderr, "state"), Lines(p.stdout, "{")
    sink = subprocess.Popen(["ip", "netns", "exec", NS_A, sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    sink.stdout.readline()
    ticker = subprocess.Popen(["ip", "netns", "exec", NS_B, sys.executable, "-c", TICKER],
                              stdout=subprocess.PIPE, text=True)
    sent_ticks = Lines(ticker.stdout, "")

    def state():
        if err.last is None:
            return 0, 0, 0, -1
        return tuple(int(x) for x in err.last.split()[1:5])

    try:
        t0 = time.monotonic()
        while state()[2] == 0:  # no tick flow yielded yet: the meter is not capturing
            if p.poll() is not None or time.monotonic() - t0 > 90:
                raise RuntimeError("NFStream did not start: " + "".join(err.all[-5:]))
            time.sleep(0.2)
        started = time.monotonic() - t0
        pps, sent, _ = replay(capture, rate)
        time.sleep(0.1)
        end_tick = int(sent_ticks.last)
        # Wait until a tick sent after the replay has been yielded.
        t1 = time.monotonic()
        while state()[3] <= end_tick:
            if p.poll() is not None or time.monotonic() - t1 > 600:
                raise RuntimeError("NFStream did not get through the replay: " + "".join(err.all[-5:]))
            time.sleep(0.25)
        drain = time.monotonic() - t1
        time.sleep(2.5)  # the last flows of that scan; one more performance report (kernel drops)
    finally:
        for q in (ticker, sink):
            q.kill()
            q.wait()
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    flows, packets, ticks, _ = state()
    perf = json.loads(out.last) if out.last else {}
    return {"pps": pps, "sent": sent, "captured": packets, "flows": flows,
            "received": -1, "dropped": perf.get("packets_dropped_filtered_by_kernel", -1),
            "ready_s": round(started, 1), "drain_s": round(drain, 1)}


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
    ap.add_argument("--nf-idle", type=int, default=3, help="NFStream idle_timeout, s (default 3)")
    ap.add_argument("--nf-meters", type=int, default=1, help="NFStream n_meters (default 1; 0: its auto)")
    ap.add_argument("--nf-buffer", type=int, default=0,
                    help="NFStream socket_buffer_size, bytes (default 0: libpcap's 2 MiB; jj uses 32 MiB)")
    ap.add_argument("--nf-stats", type=int, default=1, help="NFStream statistical_analysis (1/0, default 1)")
    ap.add_argument("--nf-dissect", type=int, default=20, help="NFStream n_dissections (default 20, its default)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--jj", default="", help="the jj to run (default: target/release/jj, built; "
                    "the Python package's jj console script is the same program)")
    ap.add_argument("--capture", default="", help="replay this capture instead of a generated one")
    ap.add_argument("--loop", type=int, default=1, help="tcpreplay --loop")
    ap.add_argument("--topic", default="live", help="result file: bench/results/<date>-<time>-<topic>.md")
    args = ap.parse_args()
    NF_OPTS.update(idle=args.nf_idle, meters=args.nf_meters, bufsize=args.nf_buffer,
                   stats=bool(args.nf_stats), dissect=args.nf_dissect)
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
    load0 = os.getloadavg()
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
        f"into a veth pair; `jj live` on the other end, features: {args.features or 'all'}, rows as CSV "
        f"(counted: flows, sum of total_packets). NFStream (if run): {NF_OPTS}, counted: flows yielded "
        "and the sum of their bidirectional_packets, ticker flows (10.77.0.0/24) left out. "
        f"Load average before the runs: {load0}, after: {os.getloadavg()}.",
        "",
        "| extractor | replay rate | achieved pps (tcpreplay) | sent | packets in rows | flows | "
        "captured (pcap) | kernel received | kernel dropped |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rate, r in rows:
        in_rows = r.get("row_packets", r["captured"])
        cap = r["captured"] if name == "jj live" else "-"
        rec = r["received"] if r["received"] >= 0 else "-"
        lines.append(f"| {name} | {'topspeed' if rate == 'top' else rate} | {r['pps']:.0f} | {r['sent']} | "
                     f"{in_rows} | {r['flows']} | {cap} | {rec} | {r['dropped']} |")
    if not args.nfstream_python:
        lines += ["", "NFStream: not run (give --nfstream-python)."]
    text = "\n".join(lines) + "\n"
    print(text)
    out = os.path.join(ROOT, "bench", "results", f"{now:%Y-%m-%d-%H%M}-{args.topic}.md")
    with open(out, "w") as f:
        f.write(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
