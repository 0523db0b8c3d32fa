//! A capture file shortened while `jj` reads it (a writer restarting, a
//! rotation script truncating it) must end like a cut-short capture —
//! rows of what was read, a warning with the offset, exit 0 — never a
//! signal (a memory-mapped reader takes SIGBUS on the pages it lost).
//! Many runs, each truncated at another moment and length.

use joyfuljay::synth::{Packet, PcapWriter};
use joyfuljay_testkit::SplitMix64;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A pcap of `n` UDP packets of 1,000 bytes, a flow per 100 packets.
fn capture(n: u32) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), 1, false, false, 65535).unwrap();
    for i in 0..n {
        let p = Packet::udp(
            "10.3.0.1",
            (i / 100 % 60_000) as u16 + 1024,
            "10.4.0.2",
            443,
            972,
        );
        let f = p.frame(1);
        w.write(
            1_700_000_000_000_000_000 + i64::from(i) * 10_000,
            &f,
            f.len() as u32,
        )
        .unwrap();
    }
    w.into_inner()
}

#[test]
fn truncating_the_file_mid_run_never_kills_jj() {
    let bytes = capture(60_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.pcap");
    let mut rng = SplitMix64(0x5b1);
    let (mut cut_short, mut complete) = (0, 0);
    for round in 0..24 {
        std::fs::write(&path, &bytes).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_jj"))
            .arg("extract")
            .arg(&path)
            .args(["-o", "/dev/null", "--no-progress", "-j"])
            .arg(["1", "2", "3"][round % 3])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(40_000) as u64));
        let keep = rng.below(bytes.len()) as u64;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(keep)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: killed or failed ({:?}): {err}",
            out.status
        );
        if err.contains("capture is cut short at byte offset") {
            cut_short += 1;
        } else {
            complete += 1;
        }
    }
    eprintln!("{cut_short} runs cut short, {complete} read whole");
}
