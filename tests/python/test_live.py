"""Live capture from Python: ``jj.extract_live`` and ``Pipeline.iter_live``.

They capture on the loopback interface with a BPF filter on a port of
their own (so other traffic on ``lo`` is left out) while a thread sends
UDP datagrams of known sizes: the truth is what was sent, and ``jj.extract``
on the packets the capture saved (``save_pcap``). Capturing needs root
(CI runs as root); without it they are skipped with the reason.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import joyfuljay as jj

pytestmark = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="live capture needs root (CAP_NET_RAW)",
)


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def send_later(port: int, sizes, delay: float = 0.5) -> threading.Thread:
    def run():
        time.sleep(delay)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        for n in sizes:
            s.sendto(bytes(n), ("127.0.0.1", port))
            time.sleep(0.005)
        s.close()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_extract_live_counts_what_was_sent_and_equals_extract_of_the_saved_packets(tmp_path):
    port = free_udp_port()
    sizes = [10 + 37 * i % 700 for i in range(25)]
    saved = tmp_path / "live.pcapng"
    t = send_later(port, sizes)
    df = jj.extract_live(
        "lo", duration=2.0, filter=f"udp dst port {port}", features=["flow_meta"], save_pcap=saved
    )
    t.join()
    assert len(df) == 1, df
    row = df.iloc[0]
    assert row["dst_port"] == port and row["protocol"] == 17
    assert row["total_packets"] == len(sizes)
    # Bytes are IP lengths (docs/semantics.md#ip-length): IPv4 and UDP
    # headers, 20 + 8, and the payload.
    assert row["total_bytes"] == sum(n + 28 for n in sizes)
    again = jj.extract(str(saved), features=["flow_meta"])
    assert df.reset_index(drop=True).equals(again.reset_index(drop=True))


def test_iter_live_yields_a_flow_when_it_ends_not_at_the_stop():
    port = free_udp_port()
    t = send_later(port, [100, 200, 300], delay=0.3)
    start = time.monotonic()
    got = []
    for row in jj.Pipeline(features=["flow_meta"], flow_timeout=0.5).iter_live(
        "lo", duration=8.0, filter=f"udp dst port {port}"
    ):
        got.append((time.monotonic() - start, row))
        break
    t.join()
    assert got, "no flow"
    when, row = got[0]
    # Idle for 0.5 s, swept within about a second after: long before the
    # 8-second stop.
    assert when < 5.0, when
    assert row["total_packets"] == 3 and row["total_bytes"] == 600 + 3 * 28


def test_ctrl_c_raises_keyboard_interrupt_within_a_second(tmp_path):
    script = textwrap.dedent(
        """
        import sys, joyfuljay as jj
        print("ready", flush=True)
        try:
            for _ in jj.Pipeline().iter_live("lo", filter="udp port 9"):
                pass
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(0)
        sys.exit(3)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=10)
    assert time.monotonic() - t0 < 1.5
    assert p.returncode == 0 and "interrupted" in out


def test_errors_are_one_line_oserrors():
    with pytest.raises(OSError) as e:
        jj.extract_live("jjlnosuch0", duration=1)
    msg = str(e.value)
    assert "jjlnosuch0: no such network interface" in msg and "\n" not in msg
    with pytest.raises(OSError) as e:
        jj.extract_live("lo", duration=1, filter="udp port")
    assert "'udp port'" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError):
        jj.extract_live("lo")
    with pytest.raises(OSError) as e:
        jj.extract_live("lo", duration=1, pid=999999)
    assert "--pid 999999: no such process" in str(e.value) and "\n" not in str(e.value)


def test_extract_live_pid_and_process_keep_only_that_process_s_sockets():
    # Two receivers, each a process (named jjpyrecv0 and jjpyrecv1 by their
    # first argument) with a UDP socket on a port of its own; the same
    # datagrams go to both, with no BPF filter: the process filter alone
    # keeps one flow (everything else on lo is left out).
    ports = []
    while len(ports) < 2:
        p = free_udp_port()
        if p not in ports:
            ports.append(p)
    code = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
        "print('ready', flush=True)\n"
        "while True:\n    s.recv(4096)\n"
    )
    procs = [
        subprocess.Popen(
            [f"jjpyrecv{i}", "-c", code, str(p)], executable=sys.executable, stdout=subprocess.PIPE, text=True
        )
        for i, p in enumerate(ports)
    ]
    sizes = [10 + 53 * i % 600 for i in range(15)]

    def send():
        time.sleep(0.5)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        for n in sizes:
            for port in ports:
                s.sendto(bytes(n), ("127.0.0.1", port))
            time.sleep(0.005)
        s.close()

    got = []
    pipeline = jj.Pipeline(features=["flow_meta"])
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for kw in [{"pid": procs[0].pid}, {"process": "jjpyrecv1"}]:
            t = threading.Thread(target=send)
            t.start()
            got.append(pipeline.process_live("lo", duration=2.0, **kw))
            t.join()
            # The datagrams to the other receiver at least were left out.
            assert pipeline.stats["filtered"] >= len(sizes), pipeline.stats
    finally:
        for p in procs:
            p.kill()
            p.wait()
    for df, port in zip(got, ports):
        assert len(df) == 1, df
        row = df.iloc[0]
        assert row["dst_port"] == port and row["protocol"] == 17
        assert row["total_packets"] == len(sizes)
        # IP lengths: 20 + 8 bytes of headers and the payload.
        assert row["total_bytes"] == sum(n + 28 for n in sizes)
