"""Partitioned Parquet datasets (`jj extract -o DIR --partition-by …`,
`Pipeline.write_dataset`, `extract(output=DIR)`) read back by
pyarrow.dataset, DuckDB and polars equal the CSV output of the same run;
and rotated captures (`continue_across_files`) split here equal the whole.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import List

import duckdb
import polars
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import joyfuljay as jj

from conftest import capture, run_jj

INPUTS = ["http.cap", "dns.cap", "tcp-ethereal-file1.trace", "quic.pcap", "tls-handshakes.pcap"]
FEATURES = "flow_meta,timing,tcp"


def _paths() -> List[str]:
    return [str(capture(n)) for n in INPUTS]


def _csv_truth(tmp: Path) -> pa.Table:
    """The CSV output of the same run, typed by the registry's schema (the
    Arrow output of the Python API, whose equality to the CSV is
    test_equivalence's), checked here cell for cell against the CSV text."""
    out = tmp / "flows.csv"
    run_jj("extract", "-q", "--features", FEATURES, "-o", str(out), *_paths())
    arrow = jj.extract(_paths(), features=FEATURES.split(","), output_format="arrow")
    csv = pacsv.read_csv(
        out,
        convert_options=pacsv.ConvertOptions(column_types=arrow.schema, strings_can_be_null=True),
    )
    assert csv.num_rows == arrow.num_rows > 0
    assert csv.column_names == arrow.column_names
    return csv


def _rows(t: pa.Table, columns: List[str]) -> List[tuple]:
    t = t.select(columns)
    rows = [tuple(r[c] for c in columns) for r in t.to_pylist()]
    return sorted(rows, key=repr)


def _same(got: pa.Table, truth: pa.Table, what: str) -> None:
    cols = truth.column_names
    assert got.num_rows == truth.num_rows, what
    for c in cols:
        assert got.schema.field(c).type == truth.schema.field(c).type, f"{what}: {c}"
    assert _rows(got, cols) == _rows(truth, cols), what


def test_date_hour_dataset_reads_back_as_the_csv(tmp_path: Path) -> None:
    truth = _csv_truth(tmp_path)
    out = tmp_path / "flows"
    run_jj("extract", "-q", "--features", FEATURES, "-f", "parquet", "-o", str(out),
           "--partition-by", "date,hour", *_paths())
    parts = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(parts) >= 3 and all(p.endswith("/part-00000.parquet") for p in parts), parts

    # pyarrow.dataset with Hive partitioning: the CSV's columns, plus
    # date and hour from the directory names.
    t = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    assert set(t.column_names) == set(truth.column_names) | {"date", "hour"}
    _same(t, truth, "pyarrow.dataset")
    # Each row's directory is its UTC start date and hour.
    import datetime as dt

    for r in t.select(["start_time", "date", "hour"]).to_pylist():
        when = dt.datetime.fromtimestamp(r["start_time"], dt.timezone.utc)
        assert (str(r["date"]), int(r["hour"])) == (when.strftime("%Y-%m-%d"), when.hour), r

    # DuckDB over the glob with hive_partitioning.
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM read_parquet('{out.as_posix()}/**/*.parquet', hive_partitioning = true)")
    d = pa.table(rel)  # the Arrow C stream interface, in every duckdb version
    assert set(d.column_names) == set(truth.column_names) | {"date", "hour"}
    _same(d.select(truth.column_names), truth, "duckdb")

    # polars scan with hive partitioning.
    p = polars.scan_parquet(f"{out.as_posix()}/**/*.parquet", hive_partitioning=True).collect()
    assert set(p.columns) == set(truth.column_names) | {"date", "hour"}
    p = p.select(truth.column_names)
    want = polars.from_arrow(truth)
    assert p.schema == want.schema  # polars' own types (large strings) for ours
    _same(p.to_arrow(), want.to_arrow(), "polars")


def test_write_dataset_by_file_equals_each_files_rows(tmp_path: Path) -> None:
    out = tmp_path / "by-file"
    pipe = jj.Pipeline(features=["flow_meta", "timing"], partition_by="file", num_workers=2)
    parts = pipe.write_dataset(_paths(), out)
    assert sorted(Path(p).relative_to(out).as_posix() for p in parts) == sorted(
        f"file={n}/part-00000.parquet" for n in INPUTS
    )
    assert pipe.stats["files"] == len(INPUTS)
    t = ds.dataset(out, format="parquet", partitioning="hive").to_table()
    for n in INPUTS:
        own = jj.extract(str(capture(n)), features=["flow_meta", "timing"], output_format="arrow")
        part = t.filter(ds.field("file") == n).drop(["file"])
        _same(part, own, n)
    # extract(output=...) is the same call.
    out2 = tmp_path / "by-file-2"
    parts2 = jj.extract(_paths(), features=["flow_meta", "timing"], output=out2, partition_by=["file"])
    assert len(parts2) == len(INPUTS)
    for a, b in zip(sorted(parts), sorted(parts2)):
        assert pq.read_table(a).equals(pq.read_table(b))


def test_dataset_errors(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    pipe = jj.Pipeline(features=["flow_meta"], partition_by="date")
    with pytest.raises(OSError, match="must be new or empty"):
        pipe.write_dataset(str(capture("http.cap")), tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["keep.txt"]
    with pytest.raises(ValueError, match="partition_by"):
        pipe.process_pcap(str(capture("http.cap")))
    with pytest.raises(ValueError, match="unknown key 'week'"):
        jj.Config(partition_by="week")
    with pytest.raises(ValueError, match="partition_by"):
        jj.Pipeline(features=["flow_meta"]).write_dataset(str(capture("http.cap")), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def _split_pcap(whole: bytes, per: int) -> List[bytes]:
    """Classic little-endian pcap records dealt out `per` to a part, the
    global header copied to each (what `editcap -c` does)."""
    assert whole[:4] == b"\xd4\xc3\xb2\xa1"
    header, off, records = whole[:24], 24, []
    while off + 16 <= len(whole):
        (caplen,) = struct.unpack_from("<I", whole, off + 8)
        records.append(whole[off : off + 16 + caplen])
        off += 16 + caplen
    return [header + b"".join(records[i : i + per]) for i in range(0, len(records), per)]


@pytest.mark.parametrize("name", ["tcp-ethereal-file1.trace", "tls-handshakes.pcap", "http.cap"])
def test_continue_across_files_equals_the_whole(tmp_path: Path, name: str) -> None:
    whole = capture(name).read_bytes()
    parts = _split_pcap(whole, 25)
    assert len(parts) >= 2
    paths = []
    for i, b in enumerate(parts):
        p = tmp_path / f"part_{i:05}.pcap"
        p.write_bytes(b)
        paths.append(str(p))
    truth = jj.extract(str(capture(name)), output_format="arrow")
    for workers in (1, 2):
        got = jj.Pipeline(continue_across_files=True, num_workers=workers).process_pcaps_batch(
            paths, output_format="arrow"
        )
        assert got.equals(truth), f"{name} -j{workers}"
        assert jj.extract(paths, output_format="arrow", continue_across_files=True).equals(truth)
    apart = jj.extract(paths, output_format="arrow")
    assert apart.num_rows > truth.num_rows  # splitting cuts flows without the option
