"""The code of the pages of the user's documentation for the payload groups
(tls.md, ssh.md, quic.md, padding.md, fingerprint.md, copied into
tests/python/data/pages) run as
written on recorded captures, and their tables checked against our
columns. Counts are checked against the Wireshark truth files
(testdata/expected/tshark-*), not against our own output."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
from pathlib import Path

import pytest

import joyfuljay as jj
from conftest import capture

PAGES = Path(__file__).resolve().parent / "data" / "pages"
EXPECTED = Path(__file__).resolve().parents[2] / "testdata" / "expected"


def block(page: str, heading: str) -> str:
    text = (PAGES / page).read_text()
    section = text.split(f"## {heading}\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def documented(page: str) -> dict:
    """Feature name -> documented type, from the page's tables."""
    out = {}
    for m in re.finditer(r"^\| `(\w+)` \| ([^|]*(?:\\\|[^|]*)*) \|", (PAGES / page).read_text(), re.M):
        out[m.group(1)] = m.group(2).replace("\\|", "|").strip()
    return out


def our_types() -> dict:
    return {c["name"]: c["type"] + ("|None" if c["nullable"] else "") for c in jj.features()}


@pytest.mark.parametrize("page,group,cap,n", [("tls.md", "tls", "tls-handshakes.pcap", 23),
                                              ("ssh.md", "ssh", "ssh-login.pcap", 14),
                                              ("quic.md", "quic", "quic.pcap", 16),
                                              ("padding.md", "padding", "tls-handshakes.pcap", 10),
                                              ("fingerprint.md", "fingerprint", "tls-handshakes.pcap", 6)])
def test_feature_group_block_and_tables(page, group, cap, n):
    ns = {"Config": jj.Config}
    exec(block(page, "Feature Group"), ns)
    df = jj.Pipeline(ns["config"]).process_pcap(str(capture(cap)))
    docs, ours = documented(page), our_types()
    # the page's tables, counted by hand
    assert len(docs) == n, docs
    for name, ty in docs.items():
        assert name in df.columns, name
        # Where the page says a plain type, ours is that type or, when 0 or
        # false would be a wrong value, the same type nullable.
        assert ours[name] in (ty, ty + "|None"), (name, ty, ours[name])
    example = eval(block(page, "Example Output"))
    assert set(example) <= set(df.columns)


def in_capture_dir(tmp_path, cap):
    os.symlink(capture(cap), tmp_path / "capture.pcap")
    return contextlib.chdir(tmp_path)


def test_ssh_detection_example(tmp_path):
    with in_capture_dir(tmp_path, "ssh-login.pcap"), contextlib.redirect_stdout(io.StringIO()) as out:
        exec(block("ssh.md", "Detection Example"), {})
    truth = list(csv.DictReader(open(EXPECTED / "tshark-ssh" / "ssh-login.pcap.csv")))
    known = {"b12d2871a1189eff20364cf5333619ee", "6b83b26b9a649b0d1a6c8f6c0499e24e"}
    ssh = [r for r in truth if r["is_ssh"] == "true"]
    unknown = [r for r in ssh if r["hassh"] not in known]
    text = out.getvalue()
    assert len(ssh) == 2 and f"Unknown SSH clients: {len(unknown)}" in text, text
    for h in {r["hassh"] for r in ssh}:
        assert h in text


def test_quic_detection_example(tmp_path):
    with in_capture_dir(tmp_path, "quic.pcap"), contextlib.redirect_stdout(io.StringIO()) as out:
        exec(block("quic.md", "Detection Example"), {})
    truth = list(csv.DictReader(open(EXPECTED / "tshark-quic" / "quic.pcap.csv")))
    http3 = sum(r["quic_is_http3"] == "true" for r in truth)
    zero_rtt = sum(int(r["quic_0rtt_packets"] or 0) > 0 for r in truth)
    assert http3 >= 1
    assert out.getvalue() == f"HTTP/3 flows: {http3}\nFlows with 0-RTT: {zero_rtt}\n"


def test_padding_detection_example(tmp_path):
    with in_capture_dir(tmp_path, "tcp-impaired.pcap"), contextlib.redirect_stdout(io.StringIO()) as out:
        exec(block("padding.md", "Detection Example"), {})
    df = jj.extract(str(capture("tcp-impaired.pcap")), features=["padding", "fingerprint"])
    padded = df[df["likely_padded"] == True]  # noqa: E712 (the page's own comparison)
    text = out.getvalue()
    assert text.startswith(f"Padded traffic flows: {len(padded)}\nPadding patterns:\n"), text
    assert text.endswith("Confirmed Tor flows: 0\n"), text


def test_fingerprint_combination_block():
    ns = {"Config": jj.Config}
    exec(block("fingerprint.md", "Combining with Other Features"), ns)
    df = jj.Pipeline(ns["config"]).process_pcap(str(capture("tls-handshakes.pcap")))
    for name in ["is_tor", "is_vpn", "is_doh", "ja3_hash", "iat_mean", "entropy_payload"]:
        assert name in df.columns, name
    assert not df["is_vpn"].any() and not df["is_tor"].any()
