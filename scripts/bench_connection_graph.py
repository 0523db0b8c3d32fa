#!/usr/bin/env python3
"""Benchmark of the `connection` group's graph metrics (Tier 2): wall time
and peak RSS of `jj extract --features flow_meta,connection` with and
without `--connection-include-graph-metrics`, on generated captures of 10 k,
100 k and 1 M hosts; and the accuracy of the sampled betweenness against
the exact value (the `betweenness_error` example).

    python3 scripts/bench_connection_graph.py                # 10k, 100k, 1M
    python3 scripts/bench_connection_graph.py --hosts 10000 100000 --runs 1

Captures: host i (10.a.b.c) sends 3 one-packet UDP flows, 95 % to hosts of
its group of 50, and half of the hosts one more to one of n/100 servers —
communities and hubs, about 3.5 flows per host. Results are printed and
written to bench/results/<date>-<time>-connection-graph.md. Standard
library only; builds `jj` and the example in release mode first.
"""

import argparse
import datetime
import os
import platform
import random
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
WORK = os.path.join(TARGET, "bench")


def capture(path, hosts, seed=1):
    """The generated capture of `hosts` hosts (see the module text)."""
    if os.path.exists(path):
        return
    rng = random.Random(seed)
    servers = max(1, hosts // 100)
    frame_hdr = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    udp = struct.pack(">HHHH", 40000, 9, 16, 0) + b"\x00" * 8
    ip_len = 20 + len(udp)
    rec_len = len(frame_hdr) + ip_len
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t0 = 1_700_000_000
    n = 0

    def addr(i):
        return bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])

    with open(path + ".tmp", "wb") as f:
        for h in range(hosts):
            g = h // 50
            dsts = []
            for _ in range(3):
                if rng.random() < 0.95:
                    dsts.append(min(g * 50 + rng.randrange(50), hosts - 1))
                else:
                    dsts.append(rng.randrange(hosts))
            if rng.random() < 0.5:
                dsts.append(rng.randrange(servers) * 100 % hosts)
            for k, d in enumerate(dsts):
                us = n * 10
                n += 1
                ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, ip_len, n & 0xFFFF, 0, 64, 17, 0, addr(h), addr(d))
                # a distinct source port per flow of the host
                u = struct.pack(">HHHH", 40000 + k, 9, 16, 0) + b"\x00" * 8
                out += struct.pack("<IIII", t0 + us // 1_000_000, us % 1_000_000, rec_len, rec_len)
                out += frame_hdr + ip + u
            if len(out) > 1 << 24:
                f.write(out)
                out.clear()
        f.write(out)
    os.rename(path + ".tmp", path)


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.strip()[-400:]}")
    return wall, ru.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--accuracy", type=int, nargs="*", default=[10_000, 20_000],
                    help="host counts for the sampled-betweenness accuracy table")
    ap.add_argument("--jj", help="the jj binary to time (default: build target/release/jj)")
    ap.add_argument("--example", help="the betweenness_error binary (default: build it, release)")
    a = ap.parse_args()
    jj = a.jj
    if not jj:
        subprocess.run(["cargo", "build", "-j", "1", "--release", "-q", "-p", "jj"], cwd=ROOT, check=True)
        jj = os.path.join(TARGET, "release", "jj")
    os.makedirs(WORK, exist_ok=True)
    lines = ["| hosts | flows | run | wall s | peak RSS MiB |", "|---|---|---|---|---|"]
    for hosts in a.hosts:
        path = os.path.join(WORK, f"graph-{hosts}.pcap")
        capture(path, hosts)
        flows = (os.path.getsize(path) - 24) // (16 + 14 + 36)
        out = os.path.join(WORK, "graph-out.csv")
        for label, extra in [("flow_meta", ["--features", "flow_meta"]),
                             ("flow_meta,connection (Tier 1)", ["--features", "flow_meta,connection"]),
                             ("flow_meta,connection + graph (Tier 2)",
                              ["--features", "flow_meta,connection", "--connection-include-graph-metrics"])]:
            best = None
            for _ in range(a.runs):
                w, r = run([jj, "extract", path, "-o", out] + extra)
                best = (w, r) if best is None or w < best[0] else best
                os.remove(out)
            line = f"| {hosts} | {flows} | {label} | {best[0]:.2f} | {best[1] / 2**20:.0f} |"
            print(line, flush=True)
            lines.append(line)
    acc = ""
    if a.accuracy:
        ex = a.example
        if not ex:
            subprocess.run(["cargo", "build", "-j", "1", "--release", "-q", "-p", "joyfuljay",
                            "--example", "betweenness_error"], cwd=ROOT, check=True)
            ex = os.path.join(TARGET, "release", "examples", "betweenness_error")
        acc = subprocess.run([ex] + [str(n) for n in a.accuracy], check=True,
                             capture_output=True, text=True).stdout
        print(acc)
    now = datetime.datetime.now()
    res = os.path.join(ROOT, "bench", "results", now.strftime("%Y-%m-%d-%H%M") + "-connection-graph.md")
    with open(res, "w") as f:
        f.write(f"# connection graph metrics — {now:%Y-%m-%d %H:%M}\n\n")
        f.write(f"Host: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}.\n")
        f.write(f"Command: `python3 scripts/bench_connection_graph.py {' '.join(sys.argv[1:])}`\n\n")
        f.write("## Wall time and peak RSS (`jj extract`, CSV output)\n\n")
        f.write("\n".join(lines) + "\n\n")
        if acc:
            f.write("## Sampled betweenness against exact (`betweenness_error` example)\n\n")
            f.write(acc + "\n")
    print(f"written {res}")


if __name__ == "__main__":
    main()
