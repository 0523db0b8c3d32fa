//! The fuzz targets' bodies (fuzz/src/lib.rs) replayed as an ordinary test:
//! over the seed inputs built from testdata/captures, and over every
//! committed regression input in testdata/fuzz-regressions/<target>/.
//! This is what CI runs on each submission; real fuzzing is a local step
//! (fuzz/README.md).

#[allow(dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod fuzz;

use std::path::{Path, PathBuf};

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

/// The committed regression inputs of a target, sorted by name.
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = testdata("fuzz-regressions").join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut v: Vec<(String, Vec<u8>)> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn replay(target: &str) {
    let mut inputs = fuzz::seeds(target, &testdata("captures"));
    assert!(inputs.len() >= 5, "{target}: {} seeds", inputs.len());
    inputs.extend(regressions(target));
    for (name, data) in &inputs {
        let r = std::panic::catch_unwind(|| fuzz::run_target(target, data));
        assert!(r.is_ok(), "fuzz target {target} fails on input {name}");
    }
}

#[test]
fn pcap_reader_seeds_and_regressions() {
    replay("pcap_reader");
}

#[test]
fn pcapng_reader_seeds_and_regressions() {
    replay("pcapng_reader");
}

#[test]
fn decode_seeds_and_regressions() {
    replay("decode");
}

#[test]
fn decode_vs_etherparse_seeds_and_regressions() {
    replay("decode_vs_etherparse");
}

#[test]
fn pipeline_seeds_and_regressions() {
    replay("pipeline");
}

/// Every regression directory is named after a target (a typo would make
/// its inputs silently unreplayed).
#[test]
fn regression_directories_name_targets() {
    let Ok(rd) = std::fs::read_dir(testdata("fuzz-regressions")) else {
        return;
    };
    for e in rd.flatten() {
        if e.path().is_dir() {
            let n = e.file_name().to_string_lossy().to_string();
            assert!(fuzz::TARGETS.contains(&n.as_str()), "unknown target {n}");
        }
    }
}

/// Writes the seed corpora: `FUZZ_CORPUS_DIR=fuzz/corpus cargo test -p
/// joyfuljay --test fuzz_corpus -- --ignored write_seed_corpus`
/// (scripts/fuzz_seeds.sh does this).
#[test]
#[ignore = "writes files; run by scripts/fuzz_seeds.sh"]
fn write_seed_corpus() {
    let dir = PathBuf::from(std::env::var("FUZZ_CORPUS_DIR").expect("FUZZ_CORPUS_DIR"));
    for target in fuzz::TARGETS {
        let d = dir.join(target);
        std::fs::create_dir_all(&d).unwrap();
        let seeds = fuzz::seeds(target, &testdata("captures"));
        for (name, data) in &seeds {
            std::fs::write(d.join(format!("seed-{name}")), data).unwrap();
        }
        eprintln!("{target}: {} seeds in {}", seeds.len(), d.display());
    }
}

// Findings of decode_vs_etherparse. Each was a disagreement the decoder has
// a reason for; the comparison now excludes it (fuzz/README.md), and these
// tests pin the decoder's side of it.

fn regression(rel: &str) -> Vec<u8> {
    std::fs::read(testdata("fuzz-regressions").join(rel)).unwrap()
}

/// IPv6 payload length 0 behind a next header that may be empty (here 2):
/// an empty packet, not the rest of the frame. Behind one that cannot be
/// empty (TCP, UDP, hop-by-hop jumbogram, …) it runs to the end of the
/// frame, as for IPv4 total length 0 (segmentation offload).
#[test]
fn regression_ipv6_payload_length_zero_runs_to_the_end_of_the_frame() {
    let f = regression("decode_vs_etherparse/ipv6-payload-length-zero");
    assert_eq!(f[14 + 6], 2, "next header of the committed input");
    let d = joyfuljay::decode::decode(1, &f, f.len() as u32).unwrap();
    assert_eq!((d.ip_len, d.payload_len), (40, 0));
    assert_eq!(
        fuzz::compare_with_etherparse(&f),
        Ok(fuzz::Outcome::Excluded)
    );
    // The same frame with UDP as next header: offload, to the end of the frame.
    let mut udp = f.clone();
    udp[14 + 6] = 17;
    let d = joyfuljay::decode::decode(1, &udp, udp.len() as u32).unwrap();
    assert_eq!(d.ip_len as usize, udp.len() - 14);
    assert_eq!(d.payload_len as usize, udp.len() - 14 - 40 - 8);
}

/// SCTP whose IP payload is shorter than the 12-byte common header: skipped
/// as a lying transport header (etherparse does not parse SCTP).
#[test]
fn regression_sctp_shorter_than_common_header_is_skipped() {
    let f = regression("decode_vs_etherparse/sctp-shorter-than-common-header");
    let r = joyfuljay::decode::decode(1, &f, f.len() as u32);
    assert_eq!(r, Err(joyfuljay::SkipReason::BadTransportHeader));
}

/// A first IPv4 fragment too short for the UDP header (RFC 1858 tiny
/// fragment): no ports to key on, so it is skipped and counted.
#[test]
fn regression_first_fragment_shorter_than_transport_header_is_skipped() {
    let f = regression("decode_vs_etherparse/first-fragment-shorter-than-udp-header");
    let r = joyfuljay::decode::decode(1, &f, f.len() as u32);
    assert_eq!(r, Err(joyfuljay::SkipReason::BadTransportHeader));
}

/// An IPv6 later fragment whose fragment header names another extension
/// header: the rest is fragment data, so the protocol is that value (44
/// here) and no header is parsed out of the data.
#[test]
fn regression_ipv6_later_fragment_keeps_the_fragment_headers_next_header() {
    let f = regression("decode_vs_etherparse/ipv6-later-fragment-naming-an-extension-header");
    let d = joyfuljay::decode::decode(1, &f, f.len() as u32).unwrap();
    assert!(matches!(
        d.fragment,
        joyfuljay::decode::Fragment::Later { .. }
    ));
    assert_eq!((d.proto, d.sport, d.dport), (44, 0, 0));
    assert_eq!(d.payload_len, d.ip_len - 48);
}
