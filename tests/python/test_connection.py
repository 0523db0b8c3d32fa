"""The connection page (seed/related/connection.md): its examples run as
written, and every Tier 1 / Tier 3 column equals a pandas groupby over the
flow rows of the same run."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest

import joyfuljay as jj
from conftest import capture, merge_pcaps, synthetic_pcap

TIER1 = ["conn_src_unique_dsts", "conn_dst_unique_srcs", "conn_src_dst_flows",
         "conn_src_port_flows", "conn_src_total_flows", "conn_dst_total_flows",
         "conn_src_total_packets", "conn_src_total_bytes", "conn_dst_total_packets",
         "conn_dst_total_bytes", "conn_src_unique_ports"]
TIER3 = ["conn_src_flow_rate", "conn_temporal_spread", "conn_burst_connections"]


def truth(df: pd.DataFrame) -> pd.DataFrame:
    """Every connection column recomputed with groupby from the flow columns."""
    t = pd.DataFrame(index=df.index)
    by_src, by_dst = df.groupby("src_ip"), df.groupby("dst_ip")
    t["conn_src_unique_dsts"] = by_src["dst_ip"].transform("nunique")
    t["conn_dst_unique_srcs"] = by_dst["src_ip"].transform("nunique")
    t["conn_src_dst_flows"] = df.groupby(["src_ip", "dst_ip"])["dst_ip"].transform("size")
    t["conn_src_port_flows"] = df.groupby(["src_ip", "dst_ip", "dst_port"])["dst_ip"].transform("size")
    t["conn_src_total_flows"] = by_src["src_ip"].transform("size")
    t["conn_dst_total_flows"] = by_dst["dst_ip"].transform("size")
    t["conn_src_total_packets"] = by_src["total_packets"].transform("sum")
    t["conn_src_total_bytes"] = by_src["total_bytes"].transform("sum")
    t["conn_dst_total_packets"] = by_dst["total_packets"].transform("sum")
    t["conn_dst_total_bytes"] = by_dst["total_bytes"].transform("sum")
    t["conn_src_unique_ports"] = by_src["dst_port"].transform("nunique")
    start = (df["start_time"] * 1e6).round().astype("int64")
    end = (df["end_time"] * 1e6).round().astype("int64")
    spread_us = end.groupby(df["src_ip"]).transform("max") - start.groupby(df["src_ip"]).transform("min")
    t["conn_temporal_spread"] = spread_us / 1e6
    rate = t["conn_src_total_flows"] / t["conn_temporal_spread"]
    t["conn_src_flow_rate"] = rate.where(spread_us > 0, np.nan)
    burst = {}
    for src, s in start.groupby(df["src_ip"]):
        v = np.sort(s.to_numpy())
        # for each start, the starts within the closed second after it
        burst[src] = int((np.searchsorted(v, v + 1_000_000, side="right") - np.arange(len(v))).max())
    t["conn_burst_connections"] = df["src_ip"].map(burst)
    return t


def check(df: pd.DataFrame) -> None:
    t = truth(df)
    for c in TIER1 + ["conn_burst_connections"]:
        assert (df[c].astype("int64") == t[c].astype("int64")).all(), c
    for c in ["conn_temporal_spread", "conn_src_flow_rate"]:
        a, b = df[c].astype("float64"), t[c].astype("float64")
        assert ((a == b) | (a.isna() & b.isna())).all(), c


@pytest.mark.parametrize("name", ["http.cap", "dns.cap", "imap.cap", "v6-http.cap", "sample.pcap",
                                  "tcp-ethereal-file1.trace", "icmp-mix.pcap", "quic.pcap"])
def test_columns_equal_a_groupby_of_the_rows(name):
    df = jj.extract(str(capture(name)), features=["flow_meta", "connection"],
                    connection_include_temporal=True)
    assert list(df.columns[-14:]) == TIER1 + TIER3
    check(df)


def test_many_hosts_and_two_files(tmp_path):
    p = synthetic_pcap(tmp_path / "s.pcap", 3000)
    merge_pcaps(tmp_path / "m.pcap", capture("dns.cap"), capture("http.cap"))
    df = jj.extract([str(p), str(tmp_path / "m.pcap")], features=["flow_meta", "connection"],
                    connection_include_temporal=True)
    assert df["src_ip"].nunique() > 3000
    check(df)
    # 3000 clients of one server: its fan-in
    assert df.loc[df["dst_ip"] == "192.0.2.1", "conn_dst_unique_srcs"].eq(3000).all()


def test_the_page_examples_run_as_written(tmp_path, monkeypatch):
    import shutil
    shutil.copy(capture("dns.cap"), tmp_path / "capture.pcap")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # Basic Usage
        config = jj.Config(features=["flow_meta", "timing", "connection"])
        pipeline = jj.Pipeline(config)
        df = pipeline.process_pcap("capture.pcap")
        print(df[['conn_src_unique_dsts', 'conn_dst_unique_srcs']].head())
        # Detecting Port Scanning
        df = jj.extract("capture.pcap", features=["flow_meta", "connection"])
        scanners = df[(df['conn_src_unique_dsts'] > 10) & (df['conn_src_unique_ports'] > 5)]
        print(f"Potential scanners: {scanners['src_ip'].unique()}")
        # Identifying Server Endpoints
        servers = df[df['conn_dst_unique_srcs'] > 10]
        print(servers.groupby('dst_ip')['conn_dst_unique_srcs'].max())
        # Without NetworkX (Tier 1 Only)
        config = jj.Config(features=["connection"], connection_include_graph_metrics=False)
        df2 = jj.Pipeline(config).process_pcap("capture.pcap")
        assert list(df2.columns) == TIER1
    assert "Potential scanners" in out.getvalue()
    # With Configuration Options: graph metrics are not built yet, and say so.
    with pytest.raises(ValueError, match="not built yet"):
        jj.Config(features=["connection"], connection_include_graph_metrics=True,
                  connection_include_temporal=True, connection_community_algorithm="louvain")


def test_all_leaves_connection_out_and_temporal_is_gated():
    cols = jj.extract(str(capture("http.cap"))).columns
    assert "conn_src_total_flows" not in cols
    cols = jj.extract(str(capture("http.cap")), features=["connection"]).columns
    assert list(cols) == TIER1
    c = jj.Config(connection_include_temporal=True)
    assert c.connection_include_temporal is True
    assert jj.Config().connection_community_algorithm == "louvain"
