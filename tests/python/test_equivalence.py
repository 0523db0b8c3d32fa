"""The DataFrame is `jj extract -f csv`, value for value, with int64 /
float64 / string dtypes; the Parquet file read back by pyarrow and pandas is
the CSV too."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import joyfuljay as jj
from conftest import capture, csv_frame, run_jj

CAPTURES = [
    "http.cap",
    "dns.cap",
    "imap.cap",
    "vlan.cap",
    "v6-http.cap",
    "sctp.cap",
    "mpls-basic.cap",
    "pim-reg.cap",
    "teardrop.cap",
    "sample.pcap",
    "Obsolete_Packets.cap",
    "RawPacketIPv6Tunnel-UK6x.cap",
    "tcp-ethereal-file1.trace",
    "tls-handshakes.pcap",
]

# (keyword options, the same as CLI flags)
CONFIGS = {
    "default": ({}, []),
    "flow_meta_private": (
        dict(features=["flow_meta"], anonymize_ips=True, anonymization_salt="s", include_flow_id=True),
        ["--features", "flow_meta", "--anonymize-ips", "--salt", "s", "--flow-id"],
    ),
    "everything": (
        dict(include_raw_sequences=True, include_splt=True, bidirectional_split=True, include_flow_id=True,
             flow_timeout=30, burst_threshold_ms=20, max_sequence_length=10, entropy_sample_bytes=32),
        ["--raw-sequences", "--splt", "--bidirectional-split", "--flow-id", "--timeout", "30",
         "--burst-threshold-ms", "20", "--max-sequence-length", "10", "--entropy-sample-bytes", "32"],
    ),
    "no_identifiers": (
        dict(features=["flow_meta", "size"], include_ip_addresses=False, include_ports=False,
             terminate_on_fin_rst=False, active_timeout=5),
        ["--features", "flow_meta,size", "--no-ips", "--no-ports", "--no-tcp-close", "--active-timeout", "5"],
    ),
}


def as_pairs(cell):
    return [(int(p["length"]), float(p["iat"])) for p in cell]


def assert_same(df: pd.DataFrame, csv: pd.DataFrame, types: dict) -> None:
    """Equal column names, dtypes and values (floats bit for bit)."""
    assert list(df.columns) == list(csv.columns)
    assert len(df) == len(csv)
    for name in df.columns:
        ty, got, want = types[name], df[name], csv[name]
        nullable, ty = ty.endswith("|None"), ty.removesuffix("|None")
        if ty == "int" and not nullable:
            assert got.dtype == np.int64, name
            assert np.array_equal(got.to_numpy(), want.to_numpy()), name
        elif ty == "int":
            assert str(got.dtype) == "Int64", (name, got.dtype)
            assert got.isna().tolist() == want.isna().tolist(), name
            assert got.fillna(0).astype("int64").tolist() == want.fillna(0).astype("int64").tolist(), name
        elif ty == "bool":
            assert str(got.dtype) == ("boolean" if nullable else "bool"), (name, got.dtype)
            assert got.astype(object).tolist() == want.astype(object).tolist(), name
        elif ty == "float":
            assert got.dtype == np.float64, name
            a, b = got.to_numpy(), want.to_numpy()
            assert np.array_equal(a, b, equal_nan=True), name
            # Bit for bit, not merely close.
            assert a.tobytes() == b.tobytes() or np.isnan(a).any(), name
        elif ty == "str":
            assert got.dtype == object or isinstance(got.dtype, pd.StringDtype), (name, got.dtype)
            assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in want], name
        elif ty == "list[(int, float)]":
            assert [as_pairs(c) for c in got] == [[tuple(p) for p in c] for c in want], name
        else:  # list[int], list[float], list[str]; None when null
            assert [None if c is None else list(c) for c in got] == want.tolist(), name


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("name", CAPTURES)
def test_dataframe_equals_cli_csv(tmp_path, schema_types, name, config):
    options, flags = CONFIGS[config]
    path = capture(name)
    out = tmp_path / "flows.csv"
    run_jj("extract", "-q", "-f", "csv", "-o", str(out), *flags, str(path))
    df = jj.extract(path, **options)
    csv = csv_frame(out, {c: schema_types[c] for c in pd.read_csv(out, nrows=0).columns})
    assert_same(df, csv, schema_types)
    # The same rows as dicts.
    rows = jj.extract(path, output_format="dict", **options)
    assert len(rows) == len(df)
    if rows:
        assert list(rows[0]) == list(df.columns)


def test_all_captures_at_once_equal_the_cli(tmp_path, schema_types):
    paths = [str(capture(n)) for n in CAPTURES]
    out = tmp_path / "flows.csv"
    run_jj("extract", "-q", "-o", str(out), *paths)
    df = jj.Pipeline(jj.Config()).process_pcap(paths)
    assert_same(df, csv_frame(out, {c: schema_types[c] for c in df.columns}), schema_types)


def test_many_flows_dataframe_equals_the_cli(tmp_path, schema_types, many_flows):
    out = tmp_path / "flows.csv"
    run_jj("extract", "-q", "-o", str(out), str(many_flows))
    df = jj.extract(many_flows)
    assert len(df) == 100_000
    assert df["src_ip"].nunique() == 100_000 and (df["total_packets"] == 2).all()
    assert_same(df, csv_frame(out, {c: schema_types[c] for c in df.columns}), schema_types)
    run_jj("extract", "-q", "-o", str(tmp_path / "flows.parquet"), str(many_flows))
    assert pq.read_table(tmp_path / "flows.parquet").equals(jj.extract(many_flows, output_format="arrow"))


@pytest.mark.parametrize("name", ["http.cap", "vlan.cap", "Obsolete_Packets.cap", "tls-handshakes.pcap"])
def test_parquet_equals_csv(tmp_path, schema_types, name):
    flags = ["--raw-sequences", "--splt", "--bidirectional-split", "--flow-id"]
    run_jj("extract", "-q", *flags, "-o", str(tmp_path / "flows.parquet"), str(capture(name)))
    run_jj("extract", "-q", *flags, "-f", "parquet", "-o", str(tmp_path / "flows.bin"), str(capture(name)))
    run_jj("extract", "-q", *flags, "-o", str(tmp_path / "flows.csv"), str(capture(name)))
    csv = csv_frame(tmp_path / "flows.csv", schema_types)
    table = pq.read_table(tmp_path / "flows.parquet")
    assert pq.read_table(tmp_path / "flows.bin").equals(table)
    meta = pq.ParquetFile(tmp_path / "flows.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    # pyarrow's view equals the Python API's Arrow table, schema included.
    api = jj.extract(capture(name), output_format="arrow", include_raw_sequences=True, include_splt=True,
                     bidirectional_split=True, include_flow_id=True)
    assert table.schema.remove_metadata().equals(api.schema.remove_metadata(), check_metadata=False)
    assert table.equals(api)
    types = {f.name: f.type for f in table.schema}
    for name_, ty in schema_types.items():
        if name_ in types:
            want = {"int": pa.int64(), "float": pa.float64(), "str": pa.string(),
                    "bool": pa.bool_()}.get(ty.removesuffix("|None"))
            if want is not None:
                assert types[name_] == want, name_
    # Converted as the package converts (nullable ints as Int64, booleans as bool).
    assert_same(jj._to_pandas(table), csv, schema_types)
    assert_same(jj._to_pandas(pq.read_table(tmp_path / "flows.parquet")), csv, schema_types)


def test_parquet_without_flows_has_the_schema(tmp_path):
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(capture("http.cap").read_bytes()[:24])
    run_jj("extract", "-q", "--features", "flow_meta", "-o", str(tmp_path / "f.parquet"), str(empty))
    t = pq.read_table(tmp_path / "f.parquet")
    assert t.num_rows == 0
    assert t.column_names == jj.Pipeline(jj.Config(features="flow_meta")).columns
    df = jj.extract(empty, features="flow_meta")
    assert len(df) == 0 and list(df.columns) == t.column_names
    assert df["total_packets"].dtype == np.int64 and df["duration"].dtype == np.float64


def test_timestamps_are_exact_microseconds():
    df = jj.extract(capture("http.cap"), features=["flow_meta"])
    for t in df["start_time"]:
        assert math.isclose(round(t * 1e6) / 1e6, t, rel_tol=0, abs_tol=1e-9)
