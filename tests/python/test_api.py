"""The Python API around the document's examples: Config validation, errors,
streaming, the schema, the version and the `jj` console script."""

from __future__ import annotations

import ast
import io
import pickle
import re
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import joyfuljay as jj
from conftest import capture, run_jj

PACKAGE = Path(jj.__file__).parent


def cli_error(*args: str) -> str:
    """The one-line message `jj` prints after `jj: error: `."""
    p = run_jj(*args, check=False)
    assert p.returncode != 0
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("jj: error: "), p.stderr
    return line[len("jj: error: "):]


# ------------------------------------------------------------------ Config

def test_config_defaults_are_the_documents():
    c = jj.Config()
    assert c.features == ["all"]
    assert c.include_ip_addresses is True and c.include_ports is True
    assert c.anonymize_ips is False and c.anonymization_salt == "" and c.include_flow_id is False
    assert c.flow_timeout == 60.0 and c.active_timeout is None
    assert c.terminate_on_fin_rst is True and c.max_concurrent_flows == 0
    assert c.burst_threshold_ms == 50.0 and c.max_sequence_length == 50
    assert not (c.include_raw_sequences or c.include_splt or c.bidirectional_split)
    assert c.entropy_sample_bytes == 256


def test_config_accepts_every_cli_config_key():
    c = jj.Config(
        features="flow_meta, timing", anonymize_ips=True, anonymization_salt="x", include_flow_id=True,
        include_ip_addresses=False, include_ports=False, flow_timeout=30, active_timeout=120,
        terminate_on_fin_rst=False, max_concurrent_flows=1000, burst_threshold_ms=10,
        max_sequence_length=5, include_raw_sequences=True, include_splt=True, bidirectional_split=True,
        entropy_sample_bytes=64,
    )
    assert c.features == ["flow_meta", "timing"]
    assert c.flow_timeout == 30.0 and c.active_timeout == 120.0 and c.max_concurrent_flows == 1000
    assert c.entropy_sample_bytes == 64
    assert set(c.to_dict()) == set(jj.Config().to_dict())


@pytest.mark.parametrize(
    "options, flags",
    [
        (dict(flow_timeout=-1), ["--timeout=-1"]),
        (dict(flow_timeout=0), ["--timeout=0"]),
        (dict(active_timeout=-5), ["--active-timeout=-5"]),
        (dict(features=["flow_meta", "bogus"]), ["--features", "flow_meta,bogus"]),
        (dict(burst_threshold_ms=0), ["--burst-threshold-ms", "0"]),
        (dict(max_sequence_length=0), ["--max-sequence-length", "0"]),
        (dict(entropy_sample_bytes=0), ["--entropy-sample-bytes", "0"]),
    ],
)
def test_bad_values_raise_value_error_with_the_cli_message(options, flags):
    with pytest.raises(ValueError) as e:
        jj.Config(**options)
    assert str(e.value) == cli_error("extract", *flags, str(capture("http.cap")))


def test_bad_types_raise_value_error_naming_the_key():
    for options in [dict(include_ports="yes"), dict(flow_timeout="abc"), dict(max_concurrent_flows=-3),
                    dict(features=3), dict(flow_timeout=float("nan"))]:
        with pytest.raises(ValueError, match=f"^{next(iter(options))}: "):
            jj.Config(**options)


def test_limits_sampling_and_workers_keys():
    c = jj.Config(flow_eviction_strategy="oldest", max_memory="64M", sampling_rate=0.5, num_workers=2)
    assert c.flow_eviction_strategy == "oldest" and c.max_memory == 64 << 20
    assert c.sampling_rate == 0.5 and c.num_workers == 2
    d = jj.Config()
    assert d.flow_eviction_strategy == "lru"
    assert d.max_memory is None and d.sampling_rate is None and d.num_workers is None
    for options in [dict(flow_eviction_strategy="fifo"), dict(sampling_rate=0), dict(sampling_rate=2),
                    dict(max_memory="lots"), dict(max_memory=0), dict(num_workers=-1)]:
        with pytest.raises(ValueError, match=f"^{next(iter(options))}: "):
            jj.Config(**options)
    # Sampling: the same rows on one worker and on two; the left-out packets
    # are counted.
    one = jj.Pipeline(features=["flow_meta"], sampling_rate=0.3, num_workers=1)
    a = one.process_pcap(str(capture("http.cap")))
    two = jj.Pipeline(features=["flow_meta"], sampling_rate=0.3, num_workers=2)
    b = two.process_pcap(str(capture("http.cap")))
    assert a.equals(b)
    assert one.stats["skipped"].get("sampled_out", 0) > 0
    assert int(a["total_packets"].sum()) == one.stats["decoded"]
    assert one.stats["evicted_for_memory"] == 0


def test_unknown_keyword_is_a_type_error_listing_the_valid_ones():
    with pytest.raises(TypeError) as e:
        jj.Config(flow_timeot=3)
    assert "flow_timeot" in str(e.value) and "flow_timeout" in str(e.value)
    with pytest.raises(TypeError):
        jj.extract(capture("http.cap"), anonymise_ips=True)
    with pytest.raises(AttributeError):
        jj.Config().nope = 1


def test_config_attributes_validate_on_set():
    c = jj.Config(features=["flow_meta"])
    c.flow_timeout = 5
    assert c.flow_timeout == 5.0
    with pytest.raises(ValueError, match="flow_timeout"):
        c.flow_timeout = -2
    assert c.flow_timeout == 5.0


def test_config_repr_is_readable_and_evaluates_back():
    c = jj.Config(features=["flow_meta"], anonymize_ips=True, include_flow_id=True)
    r = repr(c)
    assert r == "Config(features=['flow_meta'], anonymize_ips=True, include_flow_id=True)"
    assert eval(r, {"Config": jj.Config}) == c
    assert repr(jj.Config()) == "Config(features=['all'])"


def test_config_dict_round_trip_and_pickle():
    c = jj.Config(features=["flow_meta", "size"], anonymization_salt="s", flow_timeout=12.5, active_timeout=3)
    d = c.to_dict()
    assert list(d)[:4] == ["features", "profile", "specific_features", "flow_timeout"]
    assert jj.Config.from_dict(d) == c
    assert jj.Config.from_dict({"include_flow_id": True}).include_flow_id is True
    assert pickle.loads(pickle.dumps(c)) == c
    d["features"].append("timing")  # a copy
    assert c.features == ["flow_meta", "size"]
    with pytest.raises(ValueError, match="unknown option 'nope'"):
        jj.Config.from_dict({"nope": 1})


def test_config_from_file_is_the_clis(tmp_path):
    p = tmp_path / "config.toml"
    p.write_text('features = ["flow_meta"]\nflow_timeout = 120\nanonymize_ips = true\n'
                 'anonymization_salt = "research-project-2025"\ninclude_flow_id = true\n')
    c = jj.Config.from_file(p)
    assert c == jj.Config(features=["flow_meta"], flow_timeout=120, anonymize_ips=True,
                          anonymization_salt="research-project-2025", include_flow_id=True)
    bad = tmp_path / "bad.json"
    bad.write_text('{"flow_timeot": 3}')
    with pytest.raises(ValueError) as e:
        jj.Config.from_file(bad)
    assert str(e.value) == cli_error("extract", "-c", str(bad), str(capture("http.cap")))


# ------------------------------------------------------------------ errors

def test_missing_file_is_file_not_found_with_the_cli_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        jj.extract("capture.pcap")
    # Python's own form; the CLI says the same: "capture.pcap: No such file or directory (os error 2)".
    assert str(e.value) == "[Errno 2] No such file or directory: 'capture.pcap'"
    assert e.value.filename == "capture.pcap" and e.value.errno == 2
    assert cli_error("extract", "capture.pcap").startswith(f"capture.pcap: {e.value.strerror}")
    with pytest.raises(FileNotFoundError):
        jj.Pipeline(jj.Config()).iter_features("capture.pcap")


def test_text_file_is_a_capture_error_with_the_cli_message(tmp_path):
    p = tmp_path / "notes.pcap"
    p.write_text("this is not a capture\n")
    with pytest.raises(jj.CaptureError) as e:
        jj.extract(p)
    assert isinstance(e.value, ValueError)
    assert str(e.value) == cli_error("extract", str(p))
    assert "\n" not in str(e.value)


def test_network_monitor_capture_is_a_capture_error_with_the_cli_message():
    p = capture("MicrosoftNTP.cap")
    with pytest.raises(ValueError) as e:
        jj.Pipeline(jj.Config(features=["flow_meta"])).process_pcap(p)
    assert type(e.value) is jj.CaptureError
    assert str(e.value) == cli_error("extract", str(p))
    assert "unsupported capture format" in str(e.value)


def test_a_bad_file_among_several_fails_before_any_row(tmp_path):
    with pytest.raises(FileNotFoundError):
        jj.extract([capture("http.cap"), tmp_path / "missing.pcap"])


def test_cut_short_capture_warns_and_keeps_the_complete_packets(tmp_path):
    data = capture("http.cap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 100])
    with pytest.warns(jj.CaptureWarning, match="cut short"):
        df = jj.extract(cut, features="flow_meta")
    assert 0 < df["total_packets"].sum() < jj.extract(capture("http.cap"), features="flow_meta")["total_packets"].sum()


def test_output_format_is_checked():
    with pytest.raises(ValueError, match="output_format"):
        jj.extract(capture("http.cap"), output_format="csv")


# ------------------------------------------------------------------ results

def test_output_formats():
    p = jj.Pipeline(jj.Config(features=["flow_meta"]))
    df = p.process_pcap(capture("vlan.cap"))
    rows = p.process_pcap(capture("vlan.cap"), output_format="dict")
    table = p.process_pcap(capture("vlan.cap"), output_format="arrow")
    assert isinstance(df, pd.DataFrame) and isinstance(table, pa.Table)
    assert rows == df.to_dict("records") == table.to_pylist()
    assert list(df.columns) == p.columns == table.column_names
    assert p.stats["flows"] == len(df) and p.stats["packets"] == 395
    assert table.schema.field("duration").metadata[b"unit"] == b"s"


def test_extract_accepts_a_config_and_lists_of_paths(tmp_path):
    both = jj.extract([capture("http.cap"), Path(capture("dns.cap"))], features="flow_meta")
    assert len(both) == len(jj.extract(capture("http.cap"), features="flow_meta")) + len(
        jj.extract(str(capture("dns.cap")), features="flow_meta"))
    via_pipeline = jj.Pipeline({"features": ["flow_meta"]}, include_flow_id=True).process_pcap(capture("http.cap"))
    assert via_pipeline.columns[0] == "flow_id"


def test_iter_features_streams_rows_and_batches():
    p = jj.Pipeline(jj.Config(features=["flow_meta", "timing"]))
    whole = p.process_pcap(capture("vlan.cap"), output_format="dict")
    it = p.iter_features(capture("vlan.cap"))
    assert iter(it) is it
    assert list(it) == whole
    assert p.stats["flows"] == len(whole)
    batches = list(p.iter_features(capture("vlan.cap"), output_format="arrow", batch_size=7))
    assert all(isinstance(b, pa.RecordBatch) and b.num_rows <= 7 for b in batches)
    assert pa.Table.from_batches(batches).to_pylist() == whole
    frames = list(p.iter_features(capture("vlan.cap"), output_format="dataframe", batch_size=10))
    assert pd.concat(frames, ignore_index=True).equals(p.process_pcap(capture("vlan.cap")))


def test_iter_features_can_stop_early():
    p = jj.Pipeline(jj.Config(features=["flow_meta"]))
    it = p.iter_features(capture("Obsolete_Packets.cap"), batch_size=1)
    first = next(it)
    assert "src_ip" in first
    del it  # the extraction thread ends


def test_extraction_releases_the_gil(many_flows):
    """Another Python thread keeps running during one long native call."""
    pipeline = jj.Pipeline(jj.Config())
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    t = threading.Thread(target=tick)
    t.start()
    try:
        time.sleep(0.01)
        start = time.perf_counter()
        pipeline._native.run([str(many_flows)], 65536)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    during = [x for x in ticks if start <= x <= end]
    # Held GIL: no tick at all (the switch interval is 5 ms, the call far
    # longer). Released: a tick every millisecond or so.
    assert end - start > 0.02
    assert len(during) >= (end - start) / 0.01, (len(during), end - start)


# ------------------------------------------------------------------ schema, version, stubs

def test_features_is_the_schema():
    cols = jj.features()
    names = [c["name"] for c in cols]
    assert len(names) == len(set(names))
    assert {"group", "name", "type", "unit", "description", "option", "identifies_flow"} <= set(cols[0])
    by_name = {c["name"]: c for c in cols}
    assert by_name["duration"]["type"] == "float" and by_name["duration"]["unit"] == "s"
    assert by_name["flow_id"]["option"] == "include_flow_id"
    assert by_name["src_ip"]["identifies_flow"] is True
    assert by_name["tcp_initial_window"]["nullable"] is True and by_name["duration"]["nullable"] is False
    assert by_name["tcp_handshake_complete"]["type"] == "bool"
    assert by_name["tcp_syn_count"]["profile"] == "JJ-CORE"
    # The DataFrame's dtypes follow the schema: bool, Int64 where nullable.
    df = jj.extract(capture("tcp-options.pcap"), features="tcp,tcp_options,icmp")
    for name in df.columns:
        c = by_name[name]
        if c["type"] == "bool" and not c["nullable"]:
            assert df[name].dtype == bool, name
        elif c["type"] == "int":
            assert str(df[name].dtype) == ("Int64" if c["nullable"] else "int64"), name
    # Every column of a full run is described, in the same order (`all`
    # leaves out connection, which reads the input twice: it is named).
    full = jj.Pipeline(jj.Config(features=["all", "connection"], include_flow_id=True,
                                 include_raw_sequences=True, include_splt=True,
                                 bidirectional_split=True, connection_include_temporal=True,
                                 connection_include_graph_metrics=True)).columns
    assert full == names
    default = jj.Pipeline(jj.Config(include_flow_id=True, include_raw_sequences=True, include_splt=True,
                                    bidirectional_split=True)).columns
    assert default == [n for n in names if by_name[n]["group"] != "connection"]


def test_version():
    assert re.match(r"^\d+\.\d+\.\d+", jj.__version__)
    assert run_jj("--version").stdout.strip() == f"jj {jj.__version__}"
    from importlib.metadata import version

    assert version("joyfuljay") == jj.__version__


def test_stubs_and_docstrings_cover_the_public_api():
    stub = ast.parse((PACKAGE / "__init__.pyi").read_text())
    declared = set()
    for node in stub.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
        elif isinstance(node, ast.Assign):
            declared.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            declared.update(a.asname or a.name for a in node.names)
    assert set(jj.__all__) <= declared
    assert (PACKAGE / "py.typed").exists() and (PACKAGE / "_joyfuljay.pyi").exists()
    for name in jj.__all__:
        obj = getattr(jj, name)
        if callable(obj):
            assert obj.__doc__, name
    for m in ["process_pcap", "iter_features", "columns", "config"]:
        assert getattr(jj.Pipeline, m).__doc__, m
    for m in ["to_dict", "from_dict", "from_file"]:
        assert getattr(jj.Config, m).__doc__, m
    # Config's docstring names every group and every key of the registry.
    groups = {f["group"] for f in jj.features()}
    assert len(groups) >= 15
    for g in groups:
        assert f"``{g}``" in jj.Config.__doc__, g
    for k in jj.Config().to_dict():
        assert f"{k}:" in jj.Config.__doc__, k


# ------------------------------------------------------------------ console script

def test_console_script_is_the_cli(tmp_path):
    out = tmp_path / "flows.csv"
    p = run_jj("extract", str(capture("http.cap")), "--features", "flow_meta", "-o", str(out))
    assert "3 flows written" in p.stderr
    df = pd.read_csv(out)
    assert len(df) == 3
    assert run_jj("features").stdout.startswith("flow_meta")
    usage = run_jj("extract", "--bogus", check=False)
    assert usage.returncode == 2 and "--bogus" in usage.stderr
    assert run_jj("extract", str(tmp_path / "missing.pcap"), check=False).returncode == 1
    assert "parquet" in run_jj("extract", "--help").stdout


def test_specific_features_and_profile():
    full = jj.extract(capture("http.cap"), features="flow_meta,timing")
    some = jj.extract(capture("http.cap"), specific_features=["iat_mean", "src_ip"])
    assert list(some.columns) == ["src_ip", "iat_mean"]
    assert some["iat_mean"].tolist() == full["iat_mean"].tolist()
    cfg = jj.Config(specific_features="duration, total_bytes")
    assert cfg.specific_features == ["duration", "total_bytes"]
    with pytest.raises(ValueError, match="'iat_mean'.*'timing'"):
        jj.Config(features="size", specific_features=["iat_mean"])
    with pytest.raises(ValueError, match="JJ-NOPE"):
        jj.Config(profile="JJ-NOPE")
    core = jj.extract(capture("http.cap"), profile="JJ-CORE")
    assert "iat_mean" in core.columns and "pkt_len_mean" in core.columns
    assert "payload_entropy_mean" not in core.columns


def test_booleans_and_nulls_have_pandas_dtypes():
    # http.cap has a UDP flow (no SYN: tcp_initial_window is null) and TCP ones.
    df = jj.extract(capture("http.cap"), features="flow_meta,tcp")
    assert df["tcp_handshake_complete"].dtype == bool
    assert str(df["tcp_initial_window"].dtype) == "Int64"
    udp = df["protocol"] == 17
    assert udp.any() and (~udp).any()
    assert df.loc[udp, "tcp_initial_window"].isna().all()
    assert not df.loc[udp, "tcp_handshake_complete"].any()
    # The same cells as the CLI's CSV: empty for null, true/false for booleans.
    p = run_jj("extract", str(capture("http.cap")), "--features", "flow_meta,tcp", "-q", "-o", "-")
    csv = pd.read_csv(io.StringIO(p.stdout), keep_default_na=False, dtype=str)
    assert csv["tcp_handshake_complete"].isin(["true", "false"]).all()
    want = csv["tcp_initial_window"].tolist()
    got = ["" if pd.isna(v) else str(int(v)) for v in df["tcp_initial_window"]]
    assert got == want
    assert [str(v).lower() for v in df["tcp_handshake_complete"]] == csv["tcp_handshake_complete"].tolist()
    # Arrow keeps the nulls and the boolean type.
    t = jj.extract(capture("http.cap"), features="tcp", output_format="arrow")
    assert t.schema.field("tcp_handshake_complete").type == pa.bool_()
    assert t.column("tcp_initial_window").null_count == int(df["tcp_initial_window"].isna().sum()) >= 1


def test_process_pcaps_batch_is_the_files_in_order():
    files = [str(capture(n)) for n in ("http.cap", "dns.cap", "v6-http.cap")]
    pipeline = jj.Pipeline(jj.Config(features=["flow_meta"]))
    batch = pipeline.process_pcaps_batch(files)
    parts = [pipeline.process_pcap(f) for f in files]
    assert len(batch) == sum(len(p) for p in parts) > 0
    pd.testing.assert_frame_equal(batch, pd.concat(parts, ignore_index=True))
    rows = pipeline.process_pcaps_batch(files, output_format="dict")
    assert rows == [r for p in files for r in pipeline.process_pcap(p, output_format="dict")]
    with pytest.raises(TypeError, match="list of paths"):
        pipeline.process_pcaps_batch(files[0])
    # The configuration page's example: num_workers threads, same rows.
    four = jj.Pipeline(jj.Config(features=["flow_meta"], num_workers=4))
    pd.testing.assert_frame_equal(four.process_pcaps_batch(files), batch)
