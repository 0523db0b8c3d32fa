"""Ctrl-C during an extraction: a real SIGINT sent to this process while
`jj.extract` (and a `Pipeline.iter_features` loop) read a capture from a
named pipe that a thread keeps feeding, so the run could go on for a
minute. KeyboardInterrupt must come promptly and the extraction must stop
(the pipe's writer sees it close). The `jj` console script, signalled
the same way, exits 130 without output or temporary files."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import threading
import time

import pytest

import joyfuljay as jj
from conftest import jj_script

FEED_SECONDS = 60


def pcap_header() -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def udp_record(i: int) -> bytes:
    """One Ethernet/IPv4/UDP packet, each from its own source port."""
    payload = b"x" * 32
    udp = struct.pack("!HHHH", 1024 + i % 60000, 53, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 1, (i >> 16) & 255, 1]), bytes([10, 2, 0, 2])) + udp
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip
    ts = 1_700_000_000 + i // 1_000_000
    return struct.pack("<IIII", ts, i % 1_000_000, len(frame), len(frame)) + frame


class Feeder(threading.Thread):
    """Writes packets into the FIFO until the reader goes away."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.closed_at: float | None = None

    def run(self) -> None:
        deadline = time.monotonic() + FEED_SECONDS
        i = 0
        try:
            with open(self.path, "wb") as f:
                f.write(pcap_header())
                while time.monotonic() < deadline:
                    f.write(b"".join(udp_record(i + k) for k in range(2000)))
                    i += 2000
        except (BrokenPipeError, OSError):
            self.closed_at = time.monotonic()


def fifo(tmp_path) -> str:
    path = str(tmp_path / "feed.pcap")
    os.mkfifo(path)
    return path


def interrupt_after(seconds: float) -> dict:
    sent: dict = {}

    def fire() -> None:
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(seconds, fire).start()
    return sent


def test_extract_raises_keyboard_interrupt_promptly(tmp_path):
    path = fifo(tmp_path)
    feeder = Feeder(path)
    feeder.start()
    sent = interrupt_after(1.0)
    with pytest.raises(KeyboardInterrupt):
        jj.extract(path, features=["flow_meta"])
    raised = time.monotonic()
    assert "at" in sent
    # Promptly: the issue asks for a second; a loose bound on a shared machine.
    assert raised - sent["at"] < 3.0, raised - sent["at"]
    # The extraction stopped: the feeder's pipe closed soon after.
    feeder.join(10)
    assert not feeder.is_alive() and feeder.closed_at is not None


def test_iterating_raises_keyboard_interrupt(tmp_path):
    path = fifo(tmp_path)
    feeder = Feeder(path)
    feeder.start()
    pipeline = jj.Pipeline(jj.Config(features=["flow_meta"], flow_timeout=0.001))
    sent = interrupt_after(1.0)
    rows = 0
    with pytest.raises(KeyboardInterrupt):
        for batch in pipeline.iter_features(path, output_format="arrow", batch_size=1000):
            rows += batch.num_rows
    assert time.monotonic() - sent["at"] < 3.0
    assert rows > 0
    feeder.join(10)
    assert not feeder.is_alive()


def test_console_script_exits_130_without_files(tmp_path):
    path = fifo(tmp_path)
    feeder = Feeder(path)
    feeder.start()
    out = tmp_path / "out.csv"
    p = subprocess.Popen([jj_script(), "extract", path, "-o", str(out), "--no-progress"],
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not any(n.endswith(".tmp") for n in os.listdir(tmp_path)):
        assert time.monotonic() < deadline, "no temporary output file"
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 130, err
    assert err == "jj: interrupted\n"
    assert sorted(os.listdir(tmp_path)) == ["feed.pcap"]
