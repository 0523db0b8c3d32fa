#!/usr/bin/env python3
"""Offline side-by-side of `jj extract` and NFStream on the same capture
(issue 17's target: jj ≥ 150× NFStream on the flow-dense mix).

    python3 scripts/bench_nfstream.py --nfstream-python /path/to/venv/bin/python
    python3 scripts/bench_nfstream.py --nfstream-python PY --capture FILE --runs 3

Default capture: `jj-gen --packets 300000 --flows 20000 --mix dense` into
target/bench/ (the flow-dense mix: mostly 2–4-packet UDP exchanges between
many hosts). Timed, median of --runs, page cache warm, peak RSS from wait4:

- `jj extract -q --features flow_meta FILE -o /dev/null` at -j1 and -j2;
- NFStream: `NFStreamer(source=FILE, statistical_analysis=False,
  n_dissections=0, idle_timeout=60, active_timeout=10**9)` iterated to the
  end (counting flows and their bidirectional_packets), with n_meters=1 and
  n_meters=0 (NFStream's automatic choice, which it caps at CPUs − 1):
  `--nf-meters 1,0`.

The runs are interleaved (one of each tool per round).

The timeouts are jj's defaults (idle 60 s, no active timeout; NFStream's own
defaults are 120 s and 1800 s). Flow counts are compared: jj's from an
untimed run writing CSV (rows, sum of total_packets), also with
`--no-tcp-close`, since jj ends TCP flows at FIN/RST and NFStream does not.
Results are printed and written to
bench/results/<date>-<time>-nfstream-offline.md. Only the standard library.
"""

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_live import count_rows  # noqa: E402  (the same row count as the live benchmark)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
WORK = os.path.join(ROOT, "target", "bench")

NFSTREAM = r"""
import sys
from nfstream import NFStreamer
s = NFStreamer(source=sys.argv[1], statistical_analysis=False, n_dissections=0,
               idle_timeout=60, active_timeout=10**9, n_meters=int(sys.argv[2]))
n = packets = 0
for f in s:
    n += 1
    packets += f.bidirectional_packets
print("flows %d packets %d meters %d" % (n, packets, s.n_meters))
"""


def once(cmd):
    """(wall s, CPU s, peak RSS bytes, stdout) of one run, waited with wait4
    for its own rusage (CPU: user + system, with the children it waited for,
    i.e. NFStream's meter processes)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = p.stdout.read()
    stderr = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {stderr.decode(errors='replace')[-400:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, stdout.decode()


def jj_counts(jj, capture, extra):
    rows = os.path.join(WORK, "nfstream-jj-rows.csv")
    subprocess.run([jj, "extract", "-q", "--features", "flow_meta", capture, "-o", rows, *extra], check=True)
    flows_packets = count_rows(rows)
    os.remove(rows)
    return flows_packets


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nfstream-python", required=True, help="a python with nfstream installed")
    ap.add_argument("--jj", default=os.path.join(TARGET, "release", "jj"))
    ap.add_argument("--jj-gen", default=os.path.join(TARGET, "release", "jj-gen"))
    ap.add_argument("--capture", default="", help="default: a generated flow-dense capture")
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--flows", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--nf-meters", default="1,0", help="NFStream n_meters values (0: its automatic choice)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    py = args.nfstream_python
    if subprocess.run([py, "-c", "import nfstream"], capture_output=True).returncode != 0:
        sys.exit(f"bench_nfstream: {py} cannot import nfstream (pip install nfstream)")
    capture = args.capture
    if not capture:
        os.makedirs(WORK, exist_ok=True)
        capture = os.path.join(WORK, f"dense-{args.packets}-{args.flows}.pcap")
        if not os.path.exists(capture):
            subprocess.run([args.jj_gen, "-o", capture, "--packets", str(args.packets), "--flows",
                            str(args.flows), "--mix", "dense"], check=True, stderr=subprocess.DEVNULL)
    with open(capture, "rb") as f:
        while f.read(1 << 24):
            pass
    info = subprocess.run(["capinfos", "-c", "-M", capture], capture_output=True, text=True).stdout
    packets = next((int(l.split(":")[1]) for l in info.splitlines() if "Number of packets" in l), 0)
    nf_version = subprocess.run([py, "-c", "import nfstream;print(nfstream.__version__)"],
                                capture_output=True, text=True).stdout.strip()
    jj_version = subprocess.run([args.jj, "--version"], capture_output=True, text=True).stdout.strip()
    load0 = os.getloadavg()

    tools = [
        ("jj extract flow_meta -j1", [args.jj, "extract", "-q", "--features", "flow_meta", capture, "-o", "/dev/null", "-j1"]),
        ("jj extract flow_meta -j2", [args.jj, "extract", "-q", "--features", "flow_meta", capture, "-o", "/dev/null", "-j2"]),
    ]
    for m in args.nf_meters.split(","):
        tools.append((f"NFStream n_meters={m}" + (" (auto)" if m == "0" else ""), [py, "-c", NFSTREAM, capture, m]))
    # Runs interleaved (one of each tool per round), so that the load of a
    # shared machine falls on all of them alike.
    res = {label: ([], [], 0, "") for label, _ in tools}
    for i in range(args.runs):
        for label, cmd in tools:
            wall, cpu_s, rss, out = once(cmd)
            walls, cpus, peak, _ = res[label]
            walls.append(wall)
            cpus.append(cpu_s)
            res[label] = (walls, cpus, max(peak, rss), out.strip())
            print(f"round {i + 1} {label}: {wall:.3f} s, CPU {cpu_s:.3f} s, {rss / 2**20:.0f} MiB {out.strip()}",
                  flush=True)
    cpu = {label: statistics.median(res[label][1]) for label, _ in tools}
    rows = [(label, statistics.median(res[label][0]), res[label][0], res[label][2], res[label][3]) for label, _ in tools]
    load1 = os.getloadavg()

    jj_flows, jj_packets = jj_counts(args.jj, capture, [])
    jj_flows_nc, jj_packets_nc = jj_counts(args.jj, capture, ["--no-tcp-close"])
    nf = {}
    for label, *_, out in rows:
        if out.startswith("flows"):
            w = out.split()
            nf[label] = (int(w[1]), int(w[3]), int(w[5]))

    now = datetime.datetime.now()
    t = {label: med for label, med, *_ in rows}
    lines = [
        f"# jj extract vs NFStream, offline ({now:%Y-%m-%d %H:%M})",
        "",
        f"`python3 scripts/bench_nfstream.py {' '.join(sys.argv[1:])}` on {platform.node()} "
        f"({os.cpu_count()} cores, {platform.platform()}); {jj_version}; NFStream {nf_version}. "
        f"Capture: {os.path.basename(capture)} ({packets:,} packets, {os.path.getsize(capture) / 1e6:.1f} MB), "
        f"page cache warm; median of {args.runs} runs (interleaved), output discarded. "
        f"Load average before: {', '.join('%.2f' % x for x in load0)}; after: {', '.join('%.2f' % x for x in load1)}.",
        "",
        "| tool | median wall s | runs s | packets/s | median CPU s | peak RSS MiB | flows | packets in flows |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, med, walls, rss, out in rows:
        if label in nf:
            fl, pk = nf[label][0], nf[label][1]
        else:
            fl, pk = jj_flows, jj_packets
        lines.append(f"| {label} | {med:.3f} | {' / '.join('%.3f' % w for w in walls)} | {packets / med:,.0f} | "
                     f"{cpu[label]:.3f} | {rss / 2**20:,.0f} | {fl:,} | {pk:,} |")
    lines += [
        "",
        f"jj flows with `--no-tcp-close` (only timeouts split flows, as in NFStream): "
        f"{jj_flows_nc:,} flows, {jj_packets_nc:,} packets.",
        "",
    ]
    for nfl in (label for label, *_ in rows if label.startswith("NFStream")):
        for j in ("jj extract flow_meta -j1", "jj extract flow_meta -j2"):
            r = t[nfl] / t[j]
            lines.append(f"- {j} / {nfl}: **{r:,.1f}×** in wall time (target 150×: "
                         f"{'met' if r >= 150 else f'{150 / r:.2f}× short'}); "
                         f"{cpu[nfl] / cpu[j]:,.1f}× in CPU time")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        out = os.path.join(ROOT, "bench", "results", f"{now:%Y-%m-%d-%H%M}-nfstream-offline.md")
        with open(out, "w") as f:
            f.write(text)
        print(f"written to {out}")


if __name__ == "__main__":
    main()
