"""The Spark data source (joyfuljay.spark) and the Dask reader
(joyfuljay.dask) on a real local Spark (local[2], one session for every
test) and a real dask.distributed LocalCluster (two worker processes): their
rows equal `jj.extract` of each file value for value, their schemas are
Spark's and pandas' own readings of the Arrow schema the Rust extraction
produces, bad and cut-short files behave as the CLI says, and the README's
"Many machines" recipes run as written.

The engines are optional dependencies: without pyspark/dask these tests are
skipped, unless JJ_ENGINE_TESTS=required (scripts/test sets it), when their
absence is a failure."""

from __future__ import annotations

import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import pyarrow as pa
import pytest

import joyfuljay as jj
from conftest import CAPTURES, ROOT, merge_pcaps, read_pcap, run_jj

REQUIRED = os.environ.get("JJ_ENGINE_TESTS") == "required"


def _need(module: str):
    if REQUIRED:
        return __import__(module, fromlist=["_"])
    return pytest.importorskip(module)


# A configuration that makes every column type of the registry, nullable
# and not (ints, floats, strings, bools; lists of ints, floats, pairs and
# strings: flow_meta, timing, size, tls and dns between them hold every
# kind) and sets options of every kind (bool, int, float, str). Spark reads
# these; Dask and the schema test every group ("all").
OPTIONS = {
    "features": "flow_meta,timing,size,tls,dns",
    "include_splt": "true",
    "include_raw_sequences": "true",
    "bidirectional_split": "true",
    "include_flow_id": "true",
    "flow_timeout": "30",
    "max_sequence_length": "20",
    "anonymization_salt": "engines",
}
KWARGS = {
    "features": "flow_meta,timing,size,tls,dns",
    "include_splt": True,
    "include_raw_sequences": True,
    "bidirectional_split": True,
    "include_flow_id": True,
    "flow_timeout": 30,
    "max_sequence_length": 20,
    "anonymization_salt": "engines",
}

ALL_KWARGS = {**KWARGS, "features": "all"}


def readable_captures(directory: Path):
    """The files `jj extract DIR` reads: those starting with a pcap/pcapng
    magic number, in name order."""
    magics = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a"}
    return sorted(p for p in directory.iterdir() if p.is_file() and p.read_bytes()[:4] in magics)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """A directory with `captures/`: every shared capture (testdata/captures,
    the README and unreadable ones included: a directory read skips them as
    the CLI does) and the user's document's merged capture."""
    d = tmp_path_factory.mktemp("engines")
    shutil.copytree(CAPTURES, d / "captures")
    merge_pcaps(d / "captures" / "capture1.pcap", CAPTURES / "http.cap", CAPTURES / "dns.cap")
    return d


@pytest.fixture(scope="session")
def spark(workdir):
    """One local Spark (local[2]) for every test, started in `workdir` (the
    driver's working directory, which relative paths are read from)."""
    _need("pyspark")
    from pyspark.sql import SparkSession

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if REQUIRED:
            pytest.fail("Spark needs Java (apt-get install openjdk-17-jre-headless)")
        pytest.skip("no Java runtime")
    # The Python workers must import joyfuljay: the interpreter running the tests.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    here = os.getcwd()
    os.chdir(workdir)
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("joyfuljay-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.memory", "1g")
            .getOrCreate()
        )
    finally:
        os.chdir(here)
    session.sparkContext.setLogLevel("FATAL")
    from joyfuljay.spark import JoyfulJayDataSource

    session.dataSource.register(JoyfulJayDataSource)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def cluster():
    """A dask.distributed LocalCluster with two worker processes."""
    _need("dask.dataframe")
    distributed = _need("distributed")
    c = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(c)
    yield client
    client.close()
    c.close()


def rows_by_file(table: pa.Table, column: str = "file") -> dict:
    """file -> its rows (dicts without the file column), sorted by their
    whole value (a stable key: every column)."""
    out: dict = {}
    for row in table.to_pylist():
        out.setdefault(row.pop(column), []).append(row)
    return {f: sorted(rows, key=repr) for f, rows in out.items()}


# ---------------------------------------------------------------- schema


def test_the_registry_schema_is_the_rust_arrow_schema():
    from joyfuljay import _engines

    for kwargs in [ALL_KWARGS, KWARGS, {"features": "flow_meta"}, {"features": "tls,dns", "include_ip_addresses": False}]:
        config = jj.Config(**kwargs)
        built = _engines.arrow_schema(config)
        got = jj.extract(str(CAPTURES / "tls-handshakes.pcap"), output_format="arrow", **kwargs).schema
        assert built.names == got.names
        for a, b in zip(built, got):
            assert a.equals(b, check_metadata=True), (a, b)
    # A config with no rows on a file still has the schema.
    empty = _engines.arrow_schema(jj.Config(features="flow_meta"), "file")
    assert empty.names[-1] == "file" and not empty.field("file").nullable


# ---------------------------------------------------------------- Spark


def test_spark_schema_is_the_registry(spark, workdir):
    from pyspark.sql.pandas.types import from_arrow_schema

    reader = spark.read.format("joyfuljay")
    for k, v in OPTIONS.items():
        reader = reader.option(k, v)
    df = reader.option("source_column", "file").load(str(workdir / "captures" / "http.cap"))
    rust = jj.extract(str(CAPTURES / "http.cap"), output_format="arrow", **KWARGS).schema
    want = from_arrow_schema(rust).add("file", "string", nullable=False)
    # Spark's own reading of the Rust Arrow schema: names, types, nullability.
    assert [(f.name, f.dataType, f.nullable) for f in df.schema] == [
        (f.name, f.dataType, f.nullable) for f in want
    ]
    # ... and the registry's types, by name.
    reg = {c["name"]: c for c in jj.features()}
    spark_types = {"int": "bigint", "float": "double", "str": "string", "bool": "boolean"}
    for f in df.schema:
        if f.name == "file":
            continue
        c = reg[f.name]
        if c["type"] in spark_types:
            assert f.dataType.simpleString() == spark_types[c["type"]], f.name
        assert f.nullable == (c["nullable"] or c["type"] == "float"), f.name
        assert f.metadata["description"] == c["description"]


def test_spark_rows_equal_extract_of_each_file(spark, workdir):
    """Every readable shared capture, one job, every kind of column of the
    registry and options given as strings: per file, the rows equal
    jj.extract's."""
    reg = {c["name"]: c for c in jj.features()}
    kinds = {(c["type"], c["nullable"]) for c in reg.values()}
    assert {(reg[n]["type"], reg[n]["nullable"]) for n in jj.Pipeline(**KWARGS).columns} == kinds
    reader = spark.read.format("joyfuljay")
    for k, v in OPTIONS.items():
        reader = reader.option(k, v)
    df = reader.option("source_column", "file").load(str(workdir / "captures"))
    files = readable_captures(workdir / "captures")
    assert len(files) >= 29
    assert df.rdd.getNumPartitions() == len(files)
    got = rows_by_file(df.toArrow())
    want = {str(f): sorted(jj.extract(str(f), output_format="arrow", **KWARGS).to_pylist(), key=repr) for f in files}
    assert {f for f, rows in want.items() if rows} == set(got)
    for f, rows in want.items():
        assert got.get(f, []) == rows, f
    assert sum(len(rows) for rows in got.values()) == sum(len(rows) for rows in want.values()) > 800


def test_spark_bad_file_fails_the_job_with_its_name_and_message(spark, workdir, tmp_path):
    bad = tmp_path / "notes.pcap"
    bad.write_text("not a capture\n")
    cli = run_jj("extract", str(bad), "-o", str(tmp_path / "out.csv"), check=False)
    assert cli.returncode != 0
    message = cli.stderr.strip().splitlines()[-1].removeprefix("jj: error: ")
    assert str(bad) in message
    df = spark.read.format("joyfuljay").option("features", "flow_meta").load(
        [str(workdir / "captures" / "http.cap"), str(bad)]
    )
    with pytest.raises(Exception) as e:
        df.count()
    assert f"CaptureError: {message}" in str(e.value)


def cut_short(src: Path, dst: Path) -> Path:
    """`src` cut in the middle of its last packet."""
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) - 20])
    return dst


def test_spark_ignore_corrupt_files_and_cut_short_captures(spark, workdir, tmp_path):
    bad = tmp_path / "notes.pcap"
    bad.write_text("not a capture\n")
    cut = cut_short(CAPTURES / "imap.cap", tmp_path / "imap-cut.pcap")
    with pytest.warns(jj.CaptureWarning):
        want = jj.extract(str(cut), features="flow_meta", output_format="arrow")
    # The CLI keeps the complete packets with a warning, and so do we.
    cli = run_jj("extract", str(cut), "--features", "flow_meta", "-o", str(tmp_path / "cut.csv"))
    assert "warning" in cli.stderr
    assert len(want) == len((tmp_path / "cut.csv").read_text().splitlines()) - 1 > 0
    paths = [str(cut), str(bad)]
    # The data source's option ...
    df = spark.read.format("joyfuljay").option("features", "flow_meta").option("ignoreCorruptFiles", "true").load(paths)
    assert sorted(df.toArrow().to_pylist(), key=repr) == sorted(want.to_pylist(), key=repr)
    # ... and Spark's own setting.
    spark.conf.set("spark.sql.files.ignoreCorruptFiles", "true")
    try:
        df = spark.read.format("joyfuljay").option("features", "flow_meta").load(paths)
        assert df.count() == len(want)
    finally:
        spark.conf.unset("spark.sql.files.ignoreCorruptFiles")


def test_spark_options_are_checked(spark, workdir):
    path = str(workdir / "captures" / "http.cap")
    with pytest.raises(Exception, match="unknown option"):
        spark.read.format("joyfuljay").option("flow_timeuot", "5").load(path).schema
    with pytest.raises(ValueError) as want:
        jj.Config(flow_timeout=-1)
    with pytest.raises(Exception) as got:
        spark.read.format("joyfuljay").option("flow_timeout", "-1").load(path).schema
    assert str(want.value) in str(got.value)
    with pytest.raises(ValueError) as want:
        jj.Config(features="nonsense")
    with pytest.raises(Exception) as got:
        spark.read.format("joyfuljay").option("features", "nonsense").load(path).schema
    assert str(want.value) in str(got.value)


@pytest.mark.skipif(
    "continue_across_files" not in jj.Config().to_dict(),
    reason="the continue_across_files configuration key is not built on this branch",
)
def test_spark_and_dask_read_a_group_of_files_as_one_stream(spark, cluster, workdir, tmp_path):
    """A capture split in parts: with continue_across_files, the directory
    of parts is one partition, read as one stream: the rows of the whole."""
    whole = CAPTURES / "imap.cap"
    header, records = read_pcap(whole)
    parts = tmp_path / "parts"
    parts.mkdir()
    # As `editcap -c 10`: ten packets a file, names in time order.
    for i in range(0, len(records), 10):
        (parts / f"imap_{i // 10:05}.pcap").write_bytes(header + b"".join(r for _, r in records[i : i + 10]))
    assert len(list(parts.iterdir())) > 2
    want = sorted(jj.extract(str(whole), features="flow_meta", output_format="arrow").to_pylist(), key=repr)
    df = (
        spark.read.format("joyfuljay")
        .option("features", "flow_meta")
        .option("continue_across_files", "true")
        .load(str(parts))
    )
    assert df.rdd.getNumPartitions() == 1
    assert sorted(df.toArrow().to_pylist(), key=repr) == want
    import joyfuljay.dask

    ddf = joyfuljay.dask.read_captures(str(parts), features="flow_meta", continue_across_files=True)
    assert ddf.npartitions == 1
    got = pa.Table.from_pandas(ddf.compute(), preserve_index=False).to_pylist()
    assert sorted(got, key=repr) == want


# ---------------------------------------------------------------- Dask


def test_spark_reads_our_partitioned_dataset(spark, workdir, tmp_path):
    """A `date,hour` Parquet dataset written by jj.extract(output=DIR) and
    read by Spark's own Parquet reader (Hive partition discovery): the
    rows of jj.extract of the same files, value for value, with `date` and
    `hour` inferred from the directory names equal to each row's UTC start."""
    import datetime as dt

    files = [str(f) for f in readable_captures(workdir / "captures")]
    kwargs = {k: v for k, v in KWARGS.items() if k != "features"}
    features = KWARGS["features"].split(",")
    out = tmp_path / "dataset"
    parts = jj.extract(files, features=features, output=out, partition_by=["date", "hour"], **kwargs)
    assert len(parts) >= 3, parts
    got = spark.read.parquet(str(out))
    types = dict(got.dtypes)
    assert (types["date"], types["hour"]) == ("date", "int"), types
    table = got.toArrow()
    want = jj.extract(files, features=features, output_format="arrow", **kwargs)
    assert table.num_rows == want.num_rows > 800
    rows = table.to_pylist()
    for r in rows:
        when = dt.datetime.fromtimestamp(r["start_time"], dt.timezone.utc)
        assert (r.pop("date"), r.pop("hour")) == (when.date(), when.hour), r
    assert sorted(rows, key=repr) == sorted(want.to_pylist(), key=repr)


def test_dask_meta_is_what_extract_returns():
    import joyfuljay.dask

    _need("dask.dataframe")
    for kwargs in [ALL_KWARGS, KWARGS, {"features": "flow_meta"}, {"features": ["tls", "dns"], "include_ports": False}]:
        kwargs = dict(kwargs)
        features = kwargs.pop("features")
        ddf = joyfuljay.dask.read_captures(str(CAPTURES / "tls-handshakes.pcap"), features=features, **kwargs)
        want = jj.extract(str(CAPTURES / "tls-handshakes.pcap"), features=features, **kwargs)
        assert list(ddf._meta.columns) == list(want.columns)
        assert ddf._meta.dtypes.to_dict() == want.dtypes.to_dict()
        assert len(ddf._meta) == 0


def test_dask_rows_equal_extract_of_each_file(cluster, workdir):
    """On two worker processes: one partition per file, each equal to
    jj.extract of the file (same rows, same order, same dtypes)."""
    import pandas as pd

    import joyfuljay.dask

    kwargs = dict(ALL_KWARGS)
    features = kwargs.pop("features")
    ddf = joyfuljay.dask.read_captures(str(workdir / "captures"), features=features, source_column="file", **kwargs)
    files = readable_captures(workdir / "captures")
    assert ddf.npartitions == len(files)
    futures = cluster.compute(ddf.to_delayed())
    parts = cluster.gather(futures)
    # The partitions were computed by both worker processes.
    holders = {w for ws in cluster.who_has(futures).values() for w in ws}
    assert len(cluster.scheduler_info()["workers"]) == 2 and len(holders) == 2
    total = 0
    for f, part in zip(files, parts):
        want = jj.extract(str(f), features=features, **kwargs)
        assert (part["file"] == str(f)).all()
        pd.testing.assert_frame_equal(part.drop(columns="file").reset_index(drop=True), want, check_exact=True)
        total += len(want)
        assert part.dtypes.to_dict() == ddf._meta.dtypes.to_dict()
    assert total > 800


def test_dask_bad_file_and_remote_paths(tmp_path):
    """A file that is not a capture raises CaptureError naming it (or is
    skipped); a remote URL (fsspec's in-memory filesystem, one process) is
    copied to a local temporary file and read."""
    import fsspec

    import joyfuljay.dask

    bad = tmp_path / "notes.pcap"
    bad.write_text("not a capture\n")
    ddf = joyfuljay.dask.read_captures([str(CAPTURES / "http.cap"), str(bad)], features="flow_meta")
    with pytest.raises(jj.CaptureError, match=re.escape(str(bad))):
        ddf.compute(scheduler="sync")
    with pytest.warns(jj.CaptureWarning, match="notes.pcap"):
        df = joyfuljay.dask.read_captures(
            [str(CAPTURES / "http.cap"), str(bad)], features="flow_meta", ignore_corrupt_files=True
        ).compute(scheduler="sync")
    assert len(df) == len(jj.extract(str(CAPTURES / "http.cap"), features="flow_meta"))
    with pytest.raises(FileNotFoundError):
        joyfuljay.dask.read_captures(str(tmp_path / "missing.pcap"))

    # A list inside the list: one partition, its files read by one task
    # (each its own flow space without continue_across_files).
    group = [str(CAPTURES / "http.cap"), str(CAPTURES / "dns.cap")]
    ddf = joyfuljay.dask.read_captures([group, str(CAPTURES / "imap.cap")], features="flow_meta")
    assert ddf.npartitions == 2
    import pandas as pd

    got = ddf.compute(scheduler="sync").reset_index(drop=True)
    want = jj.extract(group + [str(CAPTURES / "imap.cap")], features="flow_meta")
    pd.testing.assert_frame_equal(got, want, check_exact=True)

    mem = fsspec.filesystem("memory")
    for name in ["dns.cap", "http.cap"]:
        mem.pipe(f"/jjtest/{name}", (CAPTURES / name).read_bytes())
    mem.pipe("/jjtest/README.md", b"not a capture")
    ddf = joyfuljay.dask.read_captures("memory://jjtest", features="flow_meta", source_column="file")
    assert ddf.npartitions == 2
    got = ddf.compute(scheduler="sync")
    for name in ["dns.cap", "http.cap"]:
        want = jj.extract(str(CAPTURES / name), features="flow_meta")
        part = got[got["file"] == f"memory:///jjtest/{name}"].drop(columns="file").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, want, check_exact=True)


# ---------------------------------------------------------------- README


def readme_blocks(section: str) -> list:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", body, re.M | re.S)


def test_readme_many_machines_recipes_run_as_written(spark, cluster, workdir, monkeypatch, capsys):
    import dask

    blocks = readme_blocks("Many machines")
    assert len(blocks) == 2
    spark_block, dask_block = blocks
    assert "spark.read.format(\"joyfuljay\")" in spark_block and "read_captures" in dask_block
    monkeypatch.chdir(workdir)
    # The Spark recipe: getOrCreate() finds the test session (started in workdir).
    ns: dict = {"__name__": "__main__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        exec(compile(spark_block, "README.md", "exec"), ns)
    flows = ns["flows"]
    assert flows.columns[-1] == "file" and "iat_mean" in flows.columns
    files = readable_captures(workdir / "captures")
    per_file = {r["file"]: r["count"] for r in ns["per_file"].collect()}
    assert per_file == {
        str(f): n for f in files if (n := len(jj.extract(str(f), features=["flow_meta", "timing"])))
    }
    # The Dask recipe: Client() connects to the scheduler named in Dask's
    # configuration (DASK_SCHEDULER_ADDRESS), here the test cluster.
    ns = {"__name__": "__main__"}
    with dask.config.set({"scheduler-address": cluster.scheduler.address}):
        exec(compile(dask_block, "README.md", "exec"), ns)
    ns["client"].close()
    by_port = ns["bytes_by_port"]
    import pandas as pd

    every = pd.concat([jj.extract(str(f), features=["flow_meta", "timing"]) for f in files])
    want = every.groupby("dst_port")["total_bytes"].sum()
    pd.testing.assert_series_equal(by_port.sort_index(), want.sort_index(), check_names=False)


def test_paths_expand_as_documented(tmp_path):
    """Directories (capture magic only, name order, `.`/`_` names left out,
    subdirectories only when recursive), globs and file:// URLs."""
    from joyfuljay import _engines

    d = tmp_path / "caps"
    (d / "sub").mkdir(parents=True)
    for name in ["b.pcap", "a.cap", ".hidden.pcap", "_SUCCESS.pcap", "sub/c.pcap"]:
        shutil.copy(CAPTURES / "dns.cap", d / name)
    (d / "notes.txt").write_text("not a capture")
    shutil.copy(CAPTURES / "http.cap.gz", d / "z.cap.gz")
    assert _engines.expand(str(d)) == [str(d / "a.cap"), str(d / "b.pcap")]
    assert _engines.expand(str(d), recursive=True) == [str(d / "a.cap"), str(d / "b.pcap"), str(d / "sub" / "c.pcap")]
    assert _engines.expand(str(d / "*.pcap")) == [str(d / "b.pcap")]
    assert _engines.expand(str(d / "*")) == [str(d / "a.cap"), str(d / "b.pcap"), str(d / "notes.txt"), str(d / "z.cap.gz")]
    assert _engines.expand(d.as_uri() + "/b.pcap") == [str(d / "b.pcap")]
    # Each file its own partition; with continue_across_files each path given one.
    assert _engines.plan([str(d), str(d / "sub")]) == [
        (str(d / "a.cap"), [str(d / "a.cap")]),
        (str(d / "b.pcap"), [str(d / "b.pcap")]),
        (str(d / "sub" / "c.pcap"), [str(d / "sub" / "c.pcap")]),
    ]
    assert _engines.plan([str(d), str(d / "sub")], continue_across_files=True) == [
        (str(d), [str(d / "a.cap"), str(d / "b.pcap")]),
        (str(d / "sub"), [str(d / "sub" / "c.pcap")]),
    ]
    with pytest.raises(FileNotFoundError, match="no pcap or pcapng"):
        _engines.expand(str(_empty(tmp_path)))
    with pytest.raises(FileNotFoundError):
        _engines.expand(str(tmp_path / "missing.pcap"))


def _empty(tmp_path: Path) -> Path:
    e = tmp_path / "empty"
    e.mkdir()
    (e / "notes.txt").write_text("x")
    return e
