#!/usr/bin/env python3
"""What extra feature groups cost: flow_meta alone against other group sets.

Runs `jj extract -j1 -o /dev/null` on a flow-dense capture (made with
`jj-gen --mix dense`: mostly 2–4-packet UDP exchanges between many hosts, a
TCP share, a few long flows), several times each, and prints the medians of
wall time, CPU time (user + sys) and peak RSS, with the ratio of each set to flow_meta alone measured in the same run
(default sets: flow_meta,timing,size; JJ-CORE without tls; every header
group; `--sets` chooses others, `;`-separated). `--baseline JJ` adds
another jj binary (e.g. a build of an earlier commit) side by side. `--capture FILE` benches
on another capture (e.g. `scripts/make_tls_bench.py`'s TLS-heavy one).

    python3 scripts/bench_groups.py                       # writes bench/results/
    python3 scripts/bench_groups.py --baseline /tmp/jj-old --runs 5
"""

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER_GROUPS = ("tcp,tcp_sequence,tcp_window,tcp_options,tcp_rtt,tcp_fingerprint,"
                 "tcp_mptcp,ip_extended,ipv6_options,mac,icmp")
DEFAULT_SETS = ["flow_meta", "flow_meta,timing,size", "flow_meta,timing,size,tcp",
                "flow_meta," + HEADER_GROUPS]


def build():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "jj"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target/release/jj"), os.path.join(ROOT, "target/release/jj-gen")


def run_once(jj, capture, groups):
    """(wall s, cpu s, flows) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(
        [jj, "extract", capture, "--features", groups, "-j", "1", "-f", "csv",
         "-o", "/dev/null", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    flows = int(p.stderr.split(" flows written")[0].rsplit(" ", 1)[-1])
    return wall, cpu, flows


def peak_mib(jj, capture, groups):
    """Peak RSS of one run (children's ru_maxrss is a maximum over all of them)."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", jj, "extract", capture, "--features", groups,
         "-j", "1", "-f", "csv", "-o", "/dev/null", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=2_500_000)
    ap.add_argument("--flows", type=int, default=20_000, help="connections interleaved at once")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline", help="another jj binary to run side by side")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results")
    ap.add_argument("--sets", help="group sets to compare, ';'-separated (first: the base)")
    ap.add_argument("--capture", help="bench on this capture instead of the generated dense one "
                    "(e.g. scripts/make_tls_bench.py's TLS-heavy capture)")
    a = ap.parse_args()
    sets = a.sets.split(";") if a.sets else DEFAULT_SETS

    jj, gen = build()
    capture = a.capture or os.path.join(ROOT, "target", f"dense-{a.packets}-{a.flows}.pcap")
    if a.capture:
        a.packets = int(subprocess.run([jj, "info", capture], capture_output=True, text=True,
                                       check=True).stdout.split("packets")[0].split()[-1]
                        .replace(",", ""))
    elif not os.path.exists(capture):
        subprocess.run([gen, "-o", capture, "--mix", "dense", "--packets", str(a.packets),
                        "--flows", str(a.flows)], check=True)
    bins = [("jj", jj)] + ([("baseline", a.baseline)] if a.baseline else [])
    rows = {}
    for _ in range(a.runs):  # interleaved, so drift hits every variant alike
        for name, b in bins:
            for g in sets:
                rows.setdefault((name, g), []).append(run_once(b, capture, g))
    lines = [f"# Feature-group cost, {datetime.datetime.now():%Y-%m-%d %H:%M}", "",
             f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
             (f"- capture: `{os.path.relpath(a.capture, ROOT)}`, {a.packets:,} packets" if a.capture else
              f"- capture: `jj-gen --mix dense --packets {a.packets} --flows {a.flows}`")
             f" ({os.path.getsize(capture) / 1e6:.0f} MB, in page cache)",
             f"- `jj extract -j1 -f csv -o /dev/null`; medians of {a.runs} interleaved runs", "",
             "| binary | groups | flows | wall s | cpu s | packets/s | peak MiB |",
             "|---|---|---|---|---|---|---|"]
    med = {}
    for (name, g), rs in rows.items():
        wall = statistics.median(r[0] for r in rs)
        cpu = statistics.median(r[1] for r in rs)
        peak = peak_mib(dict(bins)[name], capture, g)
        med[(name, g)] = (wall, cpu, peak)
        lines.append(f"| {name} | {g} | {rs[0][2]:,} | {wall:.2f} | {cpu:.2f} | "
                     f"{a.packets / wall / 1e6:.2f} M | {peak:.0f} |")
    lines.append("")
    for name, _ in bins:
        one = med[(name, sets[0])]
        for g in sets[1:]:
            m = med[(name, g)]
            lines.append(f"- {name}: {g} / {sets[0]} = {m[0] / one[0]:.2f}× wall, "
                         f"{m[1] / one[1]:.2f}× cpu, {m[2] / one[2]:.2f}× peak RSS")
    if a.baseline:
        for g in sets:
            lines.append(f"- {g}: jj / baseline = {med[('jj', g)][1] / med[('baseline', g)][1]:.2f}× cpu, "
                         f"{med[('jj', g)][2] / med[('baseline', g)][2]:.2f}× peak RSS")
    text = "\n".join(lines) + "\n"
    print(text)
    if not a.no_write:
        out = os.path.join(ROOT, "bench", "results",
                           f"{datetime.datetime.now():%Y-%m-%d-%H%M}-groups.md")
        with open(out, "w") as f:
            f.write(text)
        print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
