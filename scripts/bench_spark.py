#!/usr/bin/env python3
"""Time the Spark data source (local[2]) against `jj extract -j2` on the
same 8 capture files.

    python scripts/bench_spark.py [--flows 100000] [--files 8] [--repeat 3] [--features flow_meta,timing]

Writes `--files` synthetic captures of `--flows` distinct UDP flows each
(one request and one response per flow, Ethernet/IPv4), then prints the best
of `--repeat` runs of:

- `jj extract -j2 -q --features F -o out.parquet FILES` (the console
  script, same code as the binary);
- Spark `local[2]`: `spark.read.format("joyfuljay").option("features", F)
  .load(FILES)` written to Spark's `noop` sink (every row of every column
  reaches the JVM, nothing is written: the data source's own cost) and
  with `.write.parquet(DIR)` (end to end, Spark's Parquet writer); the
  session is started and two jobs run beforehand, so JVM start-up and
  warm-up are not counted (the start-up is printed apart);
- the same Spark read of `--files` one-flow captures (the fixed cost of a
  task: scheduling, the Python worker, the partition's set-up).

and the ratios Spark / jj, rows/s, and the overhead per file
((Spark noop - jj) / files). With `--out`, writes the results as markdown (the
bench/results/<date>-spark.md record). Needs the package with the spark
extra (pip install '.[spark]') and Java.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_python import best, synthetic_pcap  # noqa: E402  (same captures, same timing rule)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=100_000, help="flows per file")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--features", default="flow_meta,timing")
    ap.add_argument("--out", help="write the results as markdown to this file")
    args = ap.parse_args()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import joyfuljay as jj
    from joyfuljay.spark import JoyfulJayDataSource

    jj_cmd = shutil.which("jj", path=str(Path(sys.executable).parent)) or shutil.which("jj")
    tmp = Path(tempfile.mkdtemp(prefix="jj-bench-spark-"))
    try:
        big = [tmp / "big" / f"part-{i}.pcap" for i in range(args.files)]
        small = [tmp / "small" / f"part-{i}.pcap" for i in range(args.files)]
        for i, (b, s) in enumerate(zip(big, small)):
            b.parent.mkdir(exist_ok=True)
            s.parent.mkdir(exist_ok=True)
            synthetic_pcap(b, args.flows, i)
            synthetic_pcap(s, 1, i)
        size = sum(p.stat().st_size for p in big)
        rows = sum(len(jj.extract(str(p), features="flow_meta", output_format="arrow")) for p in big)

        def run_jj() -> None:
            subprocess.run(
                [jj_cmd, "extract", "-j2", "-q", "--features", args.features, "-o", str(tmp / "out.parquet")]
                + [str(p) for p in big],
                check=True,
            )

        start = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        spark.dataSource.register(JoyfulJayDataSource)
        startup = time.perf_counter() - start

        def run_spark(paths, sink: str) -> None:
            df = spark.read.format("joyfuljay").option("features", args.features).load([str(p) for p in paths])
            if sink == "noop":
                # Every row of every column into the JVM, nothing written.
                df.write.mode("overwrite").format("noop").save()
            else:
                df.write.mode("overwrite").parquet(str(tmp / "spark-out"))

        run_spark(small, "parquet")  # warm-up: JIT, Python workers
        run_spark(big, "noop")
        t_jj = best(run_jj, args.repeat)
        t_small = best(lambda: run_spark(small, "noop"), args.repeat)
        t_noop = best(lambda: run_spark(big, "noop"), args.repeat)
        t_spark = best(lambda: run_spark(big, "parquet"), args.repeat)
        n_spark = spark.read.parquet(str(tmp / "spark-out")).count()
        spark_version = spark.version
        spark.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        f"# Spark data source vs `jj extract -j2` ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"Command: `python scripts/bench_spark.py --flows {args.flows} --files {args.files} "
        f"--repeat {args.repeat} --features {args.features}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"joyfuljay {jj.__version__}, PySpark {spark_version}.",
        "",
        f"Input: {args.files} synthetic captures of {args.flows:,} UDP flows each "
        f"({rows:,} flows, {size / 1e6:.1f} MB); features `{args.features}`; both write Parquet. "
        f"Best of {args.repeat}.",
        "",
        "| run | wall time (s) | flows/s | vs jj |",
        "|---|---:|---:|---:|",
        f"| `jj extract -j2 -o out.parquet` | {t_jj:.2f} | {rows / t_jj:,.0f} | 1.00× |",
        f"| Spark `local[2]`, every row into the JVM (`noop` sink) | {t_noop:.2f} | {rows / t_noop:,.0f} "
        f"| {t_noop / t_jj:.2f}× |",
        f"| Spark `local[2]` → Parquet (Spark's writer) | {t_spark:.2f} | {rows / t_spark:,.0f} "
        f"| {t_spark / t_jj:.2f}× |",
        f"| Spark `local[2]`, {args.files} one-flow files (`noop`) | {t_small:.2f} | | |",
        "",
        f"- The data source (Spark reading every row, `noop`) / jj: **{t_noop / t_jj:.2f}×**; "
        f"end to end with Spark's Parquet writer: **{t_spark / t_jj:.2f}×** (target ≤ 1.3×).",
        f"- Overhead per file: {(t_noop - t_jj) / args.files * 1000:.0f} ms ((Spark `noop` − jj) / files); "
        f"a one-flow file costs Spark {t_small / args.files * 1000:.0f} ms of wall time (two tasks at a time).",
        f"- Spark session start-up (not counted above): {startup:.1f} s.",
        f"- Load average at the end (other work on the machine inflates every figure): "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        f"- Rows written by Spark: {n_spark:,} (jj.extract: {rows:,}).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
