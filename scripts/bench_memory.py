#!/usr/bin/env python3
"""Memory budget measurement: a flood of one-packet UDP flows (every 5-tuple
distinct, all within the idle timeout, so without a budget every flow is
held to the end of input) through `jj extract`, with and without
`--max-memory`; reports the peak RSS (wait4's ru_maxrss), the wall time and
the flows ended early for the budget (from jj's summary line).

    python3 scripts/bench_memory.py                    # 20 M flows
    python3 scripts/bench_memory.py --packets 2000000 --budgets 64M,256M

The capture comes from `jj-gen --mix flood` (deterministic) into
target/bench/ (or $CARGO_TARGET_DIR/../bench) and is fed to jj through a
pipe, so that no mapped capture page counts in the RSS. Rows go to
/dev/null. Results are printed and written to
bench/results/<date>-<time>-memory-budget.md. Only the standard library.
"""

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release")
WORK = os.path.join(TARGET, "bench")


def run_piped(cmd, capture):
    """Run cmd with `capture` on its standard input; return (wall s, peak
    RSS bytes, stderr)."""
    t0 = time.perf_counter()
    with open(capture, "rb") as f:
        # `cat` feeds the pipe: jj reads a stream, not a mapped file.
        cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
        p = subprocess.Popen(cmd, stdin=cat.stdout, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        cat.stdout.close()
        err = p.stderr.read().decode(errors="replace")
        _, status, ru = os.wait4(p.pid, 0)
        cat.wait()
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}): {err.strip()[-400:]}")
    return wall, ru.ru_maxrss * 1024, err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=20_000_000)
    ap.add_argument("--budgets", default="none,default,1G,256M,64M",
                    help="comma-separated: none (8x the flood's need), default, or a size")
    ap.add_argument("--features", default="flow_meta")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()

    os.makedirs(WORK, exist_ok=True)
    cap = os.path.join(WORK, f"flood-{a.packets}.pcap")
    if not os.path.exists(cap):
        subprocess.run([os.path.join(BIN, "jj-gen"), "-o", cap, "--mix", "flood",
                        "--packets", str(a.packets), "--gap-us", "1"], check=True)
    size = os.path.getsize(cap)
    lines = [
        f"# Memory budget: {a.packets:,} one-packet flows",
        "",
        f"- host: {platform.node()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f} GiB",
        f"- capture: `jj-gen --mix flood --packets {a.packets} --gap-us 1` "
        f"({size / 2**20:.0f} MiB; every 5-tuple distinct, {a.packets / 1e6:.0f} s span, "
        "all within the 60 s idle timeout), fed through a pipe",
        f"- `jj extract - --features {a.features} -j {a.threads} -o /dev/null --max-memory B`; "
        "peak RSS from wait4 (ru_maxrss) of the jj process",
        "",
        "| budget | peak RSS MiB | wall s | flows written | ended early for memory |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for b in a.budgets.split(","):
        cmd = [os.path.join(BIN, "jj"), "extract", "-", "--features", a.features,
               "-j", a.threads, "--no-progress", "-o", "/dev/null"]
        if b == "none":
            cmd += ["--max-memory", "1T"]
        elif b != "default":
            cmd += ["--max-memory", b]
        wall, rss, err = run_piped(cmd, cap)
        m = re.search(r"; (\d+) flows(?: \((\d+) ended early for the memory budget\))?", err)
        flows, early = (m.group(1), m.group(2) or "0") if m else ("?", "?")
        label = {"none": "none (1T)", "default": "default (half of MemAvailable)"}.get(b, b)
        line = f"| {label} | {rss / 2**20:.0f} | {wall:.1f} | {flows} | {early} |"
        lines.append(line)
        print(line, flush=True)
    if not a.no_write:
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M")
        out = os.path.join(ROOT, "bench", "results", f"{stamp}-memory-budget.md")
        with open(out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
