"""Every code block of the user's document (docs: flow_meta.md, copied into
tests/python/data) run exactly as written on real captures, and its results
checked."""

from __future__ import annotations

import contextlib
import io
import re
import warnings

import pandas as pd
import pytest

import joyfuljay as jj
from conftest import DOCUMENT, capture, run_jj

HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
IDENTIFIERS = ["src_ip", "dst_ip", "src_port", "dst_port", "dst_port_class", "dst_port_class_num"]


def blocks():
    """(section heading, language, code) of every fenced block, in order."""
    out, heading = [], None
    text = DOCUMENT.read_text()
    for m in re.finditer(r"^(#+ [^\n]*)$|^```(\w*)\n(.*?)^```", text, re.M | re.S):
        if m.group(1):
            heading = m.group(1).lstrip("# ").strip()
        else:
            out.append((heading, m.group(2), m.group(3)))
    return out


def block(heading: str, lang: str = "python") -> str:
    found = [code for h, l, code in blocks() if h == heading and l == lang]
    assert len(found) == 1, (heading, lang)
    return found[0]


def run_block(code: str):
    """exec the block as a script would run it; returns (namespace, stdout)."""
    ns: dict = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        # The document anonymizes without a salt once; the warning saying so
        # is expected and not what these tests check.
        warnings.simplefilter("ignore", UserWarning)
        exec(compile(code, str(DOCUMENT), "exec"), ns)
    return ns, out.getvalue()


def test_the_document_has_the_blocks_these_tests_run():
    got = [(h, l) for h, l, _ in blocks()]
    assert got == [
        ("Quick Start", "python"),
        ("Quick Start", "bash"),
        ("Basic Flow Statistics", "python"),
        ("Privacy-Preserving Analysis", "python"),
        ("Exclude Identifiers for ML", "python"),
        ("Flow Linking with flow_id", "python"),
        ("Example Output", "python"),
    ]


def test_quick_start(doc_dir):
    code = block("Quick Start")
    ns, _ = run_block(code)
    df = ns["df"]
    assert isinstance(df, pd.DataFrame) and len(df) == 3
    # The second DataFrame: anonymized addresses and a flow_id.
    assert df.columns[0] == "flow_id"
    assert df["flow_id"].map(lambda s: bool(HEX32.match(s))).all()
    assert df["src_ip"].map(lambda s: bool(HEX16.match(s))).all()
    assert df["dst_ip"].map(lambda s: bool(HEX16.match(s))).all()
    # The first one (run again, it was overwritten): plain flow_meta columns.
    first = jj.extract("capture.pcap", features=["flow_meta"])
    assert "flow_id" not in first.columns
    assert first["src_ip"].iloc[0] == "145.254.160.237"
    assert list(first.columns) == [c for c in df.columns if c != "flow_id"]
    assert list(first.columns) == [c["name"] for c in jj.features() if c["group"] == "flow_meta" and c["name"] != "flow_id"]


def test_quick_start_cli(doc_dir):
    code = block("Quick Start", "bash")
    commands = [l for l in code.splitlines() if l.strip() and not l.startswith("#")]
    assert commands == ["jj extract capture.pcap --features flow_meta -o flows.csv"]
    args = commands[0].split()[1:]
    run_jj(*args, cwd=doc_dir)
    csv = pd.read_csv(doc_dir / "flows.csv")
    assert len(csv) == 3
    assert list(csv.columns) == list(jj.extract("capture.pcap", features=["flow_meta"]).columns)


def test_basic_flow_statistics(doc_dir):
    ns, out = run_block(block("Basic Flow Statistics"))
    df = ns["df"]
    assert out.startswith("Top 10 senders:\n")
    assert "Protocol distribution:" in out
    top = ns["top_senders"]
    assert top.index[0] == "145.254.160.237"
    assert top.iloc[0] == df["bytes_fwd"].sum()  # the only sender
    assert "145.254.160.237" in out
    counts = ns["protocol_counts"].rename(ns["protocol_names"])
    assert counts.to_dict() == {"TCP": 2, "UDP": 1}
    assert re.search(r"^TCP\s+2$", out, re.M) and re.search(r"^UDP\s+1$", out, re.M)


def test_privacy_preserving_analysis(doc_dir):
    code = block("Privacy-Preserving Analysis")
    ns, out = run_block(code)
    df = ns["df"]
    assert df["src_ip"].map(lambda s: bool(HEX16.match(s))).all()
    assert df["dst_ip"].map(lambda s: bool(HEX16.match(s))).all()
    # print(df["src_ip"].head()) shows the hashes.
    assert df["src_ip"].iloc[0] in out
    # The three groups are there.
    for col in ["total_packets", "iat_mean", "hdr_desc"]:
        assert col in df.columns
    groups = {c["group"] for c in jj.features() if c["name"] in df.columns}
    assert groups == {"flow_meta", "timing", "size"}
    # Stable across runs with the same salt ...
    again, _ = run_block(code)
    assert again["df"]["src_ip"].tolist() == df["src_ip"].tolist()
    assert again["df"]["dst_ip"].tolist() == df["dst_ip"].tolist()
    # ... the same address gives the same hash in both columns ...
    plain = jj.extract("capture.pcap", features=["flow_meta"])
    mapping = dict(zip(plain["src_ip"], df["src_ip"]))
    mapping.update(zip(plain["dst_ip"], df["dst_ip"]))
    assert len(set(mapping.values())) == len(mapping)
    # ... and another salt gives other hashes.
    other = jj.extract("capture.pcap", features=["flow_meta"], anonymize_ips=True, anonymization_salt="other")
    assert set(other["src_ip"]).isdisjoint(df["src_ip"])


def test_exclude_identifiers_for_ml(doc_dir):
    ns, out = run_block(block("Exclude Identifiers for ML"))
    cols = ns["df"].columns.tolist()
    assert out.strip() == repr(cols)
    for c in IDENTIFIERS:
        assert c not in cols
    # The document's list is a prefix-ordered subsequence of ours.
    shown = ["protocol", "start_time", "duration", "total_packets"]
    assert cols[0] == "protocol"
    assert [c for c in cols if c in shown] == shown
    assert all(str(ns["df"][c].dtype) in ("int64", "float64") for c in cols if c != "hdr_desc")


def test_flow_linking_with_flow_id(doc_dir):
    ns, out = run_block(block("Flow Linking with flow_id"))
    df1, df2, common = ns["df1"], ns["df2"], ns["common_flows"]
    http = jj.Pipeline(ns["config"]).process_pcap("capture.pcap")
    flows = lambda name: len(jj.extract(str(capture(name)), features=["flow_meta"]))  # noqa: E731
    assert len(df1) == len(http) + flows("dns.cap")
    assert len(df2) == len(http) + flows("imap.cap")
    assert out == f"Found {len(http)} common flows\n" == "Found 3 common flows\n"
    # The common flows are exactly the HTTP capture's, linked by flow_id.
    assert sorted(common["flow_id"]) == sorted(http["flow_id"])
    linked = common.merge(df2, on="flow_id", suffixes=("_1", "_2"))
    assert (linked["src_ip_1"] == linked["src_ip_2"]).all()
    assert (linked["total_bytes_1"] == linked["total_bytes_2"]).all()
    # flow_id does not depend on the direction or the capture, only on the
    # 5-tuple and the salt.
    other = jj.Pipeline(jj.Config(features=["flow_meta"], include_flow_id=True, anonymization_salt="x")).process_pcap("capture.pcap")
    assert set(other["flow_id"]).isdisjoint(http["flow_id"])


def test_example_output_has_our_columns_and_types(doc_dir):
    example = eval(block("Example Output"))  # a dict literal
    rows = jj.extract("capture.pcap", features=["flow_meta"], output_format="dict", include_flow_id=True)
    assert isinstance(rows, list) and len(rows) == 3
    assert list(rows[0]) == list(example)
    for k, v in example.items():
        assert type(rows[0][k]) is type(v), k
    tcp = [r for r in rows if r["protocol"] == 6 and r["dst_port"] == 80]
    assert tcp and all(r["hdr_desc"] == "ETH-IP-TCP" and r["num_hdrs"] == 3 for r in tcp)
