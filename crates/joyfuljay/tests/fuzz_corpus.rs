//! The fuzz targets' bodies (fuzz/src/lib.rs) replayed as an ordinary test:
//! over the seed inputs built from testdata/captures, and over every
//! committed regression input in testdata/fuzz-regressions/<target>/.
//! This is what CI runs on each submission; real fuzzing is a local step
//! (fuzz/README.md). Also the `decode_vs_etherparse` comparison on
//! generated packets and on whole real captures.

#[allow(dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod fuzz;

use joyfuljay::decode::decode;
use joyfuljay::synth::{Packet, L4};
use joyfuljay::SkipReason;
use joyfuljay_testkit::{capture, captures_dir, fuzz_regression, fuzz_regressions_dir, SplitMix64};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// The committed regression inputs of a target, sorted by name.
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_regressions_dir().join(target);
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
    let mut inputs = fuzz::seeds(target, &captures_dir());
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

#[test]
fn tls_seeds_and_regressions() {
    replay("tls");
}

#[test]
fn ssh_seeds_and_regressions() {
    replay("ssh");
}

#[test]
fn quic_seeds_and_regressions() {
    replay("quic");
}

#[test]
fn dns_seeds_and_regressions() {
    replay("dns");
}

#[test]
fn http2_seeds_and_regressions() {
    replay("http2");
}

/// Every regression directory is named after a target (a typo would make
/// its inputs silently unreplayed).
#[test]
fn regression_directories_name_targets() {
    let Ok(rd) = std::fs::read_dir(fuzz_regressions_dir()) else {
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
        let seeds = fuzz::seeds(target, &captures_dir());
        for (name, data) in &seeds {
            std::fs::write(d.join(format!("seed-{name}")), data).unwrap();
        }
        eprintln!("{target}: {} seeds in {}", seeds.len(), d.display());
    }
}

// Findings of decode_vs_etherparse. Each was a disagreement the decoder has
// a reason for; the comparison now excludes it (fuzz/README.md), and these
// tests pin the decoder's side of it.

/// IPv6 payload length 0 behind a next header that may be empty (here 2):
/// an empty packet, not the rest of the frame. Behind one that cannot be
/// empty (TCP, UDP, hop-by-hop jumbogram, …) it runs to the end of the
/// frame, as for IPv4 total length 0 (segmentation offload).
#[test]
fn regression_ipv6_payload_length_zero_runs_to_the_end_of_the_frame() {
    let f = fuzz_regression("decode_vs_etherparse/ipv6-payload-length-zero");
    assert_eq!(f[14 + 6], 2, "next header of the committed input");
    let d = joyfuljay::decode::decode(1, &f, f.len() as u32).unwrap();
    assert_eq!((d.ip_len, d.payload_len), (40, 0));
    assert_eq!(
        fuzz::compare_with_etherparse(&f, f.len() as u32),
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
    let f = fuzz_regression("decode_vs_etherparse/sctp-shorter-than-common-header");
    let r = joyfuljay::decode::decode(1, &f, f.len() as u32);
    assert_eq!(r, Err(joyfuljay::SkipReason::BadTransportHeader));
}

/// A first IPv4 fragment too short for the UDP header (RFC 1858 tiny
/// fragment): no ports to key on, so it is skipped and counted.
#[test]
fn regression_first_fragment_shorter_than_transport_header_is_skipped() {
    let f = fuzz_regression("decode_vs_etherparse/first-fragment-shorter-than-udp-header");
    let r = joyfuljay::decode::decode(1, &f, f.len() as u32);
    assert_eq!(r, Err(joyfuljay::SkipReason::BadTransportHeader));
}

/// An IPv6 later fragment whose fragment header names another extension
/// header: the rest is fragment data, so the protocol is that value (44
/// here) and no header is parsed out of the data.
#[test]
fn regression_ipv6_later_fragment_keeps_the_fragment_headers_next_header() {
    let f = fuzz_regression("decode_vs_etherparse/ipv6-later-fragment-naming-an-extension-header");
    let d = joyfuljay::decode::decode(1, &f, f.len() as u32).unwrap();
    assert!(matches!(
        d.fragment,
        joyfuljay::decode::Fragment::Later { .. }
    ));
    assert_eq!((d.proto, d.sport, d.dport), (44, 0, 0));
    assert_eq!(d.payload_len, d.ip_len - 48);
}

// ------------------------------------------- decode_vs_etherparse, whole

/// A random Ethernet frame: IPv4 (options) or IPv6 (extension headers),
/// TCP, UDP or ICMP, behind 0–2 VLAN tags.
fn random_packet(rng: &mut SplitMix64) -> (Packet, Vec<u16>) {
    let v6 = rng.below(2) == 1;
    let (src, dst) = if v6 {
        (
            Ipv6Addr::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()))
                .to_string(),
            Ipv6Addr::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()))
                .to_string(),
        )
    } else {
        (
            Ipv4Addr::from(rng.next_u64() as u32).to_string(),
            Ipv4Addr::from(rng.next_u64() as u32).to_string(),
        )
    };
    let payload = match rng.below(4) {
        0 => rng.below(8),
        1 => rng.below(64),
        _ => rng.below(1400),
    };
    let l4 = match rng.below(3) {
        0 => L4::Tcp {
            sport: rng.next_u64() as u16,
            dport: rng.next_u64() as u16,
            flags: rng.next_u64() as u8,
            options: 4 * rng.below(11),
            payload,
        },
        1 => L4::Udp {
            sport: rng.next_u64() as u16,
            dport: rng.next_u64() as u16,
            payload,
        },
        _ => L4::Icmp { payload },
    };
    let mut p = Packet::new(&src, &dst, l4);
    if v6 {
        p.ipv6_ext = match rng.below(4) {
            0 => vec![0],
            1 => vec![60],
            2 => vec![0, 60],
            _ => vec![],
        };
    } else if rng.below(2) == 1 {
        p.ipv4_options = 4 * rng.below(11);
    }
    p.ip_id = rng.next_u64() as u16;
    let vlans = (0..rng.below(3))
        .map(|_| rng.next_u64() as u16 & 0x0fff)
        .collect();
    (p, vlans)
}

/// Generated frames: etherparse and the decoder agree on every one (none
/// is excluded), and the decoder agrees with the builder's arithmetic.
#[test]
fn differential_generated_packets() {
    let mut rng = SplitMix64(0x6a6f_7966_756c_6a61);
    let mut compared = 0;
    for i in 0..600 {
        let (p, vlans) = random_packet(&mut rng);
        let f = p.ethernet(&vlans, &[]);
        match fuzz::compare_with_etherparse(&f, f.len() as u32) {
            Ok(fuzz::Outcome::Compared) => compared += 1,
            Ok(other) => panic!("packet {i}: etherparse: {other:?} for {p:?}"),
            Err(e) => panic!("packet {i} ({p:?}, vlans {vlans:?}): {e}"),
        }
        let d = match decode(1, &f, f.len() as u32) {
            Ok(d) => d,
            Err(e) => panic!("link type 1: unexpected skip {e:?} for {f:02x?}"),
        };
        assert_eq!(d.ip_len as usize, p.ip_len(), "packet {i}");
        assert_eq!(d.stack.len(), 2 + vlans.len(), "packet {i}");
    }
    assert_eq!(compared, 600);
}

/// Every frame of these Ethernet captures: the IP ones compared, none
/// excluded; the rest not IP for the decoder either.
#[test]
fn differential_real_captures() {
    for name in [
        "http.cap",
        "dns.cap",
        "v6-http.cap",
        "vlan.cap",
        "imap.cap",
        "tcp-ethereal-file1.trace",
    ] {
        let path = capture(name);
        let mut reader = joyfuljay::capture::CaptureReader::open(&path).expect("open capture");
        let (mut frames, mut compared, mut excluded) = (0usize, 0usize, 0usize);
        let mut errors = Vec::new();
        let end = reader
            .for_each(
                |frame| {
                    frames += 1;
                    assert_eq!(frame.link_type, 1, "{name} is Ethernet");
                    match fuzz::compare_with_etherparse(frame.data, frame.orig_len) {
                        Ok(fuzz::Outcome::Compared) => compared += 1,
                        Ok(fuzz::Outcome::Excluded) => excluded += 1,
                        Ok(fuzz::Outcome::NoIp) => {
                            // Not IP for etherparse (ARP, STP and CDP over
                            // 802.3 LLC, Cisco ISL/0x8137 IPX, ...): not IP
                            // for the decoder either. (etherparse does not
                            // look into LLC/SNAP, MPLS or PPPoE, which could
                            // carry IP; none of these files has IP there.)
                            let ours = decode(1, frame.data, frame.orig_len);
                            if ours != Err(SkipReason::NotIp) {
                                errors.push(format!(
                                    "{name} frame {frames}: etherparse finds no IP, decoder {ours:?}"
                                ));
                            }
                        }
                        Err(e) => errors.push(format!("{name} frame {frames}: {e}")),
                    }
                    true
                },
                || {},
            )
            .expect("read capture");
        assert_eq!(end, joyfuljay::capture::ReadEnd::Complete, "{name}");
        assert!(
            errors.is_empty(),
            "{} mismatches:\n{}",
            errors.len(),
            errors[..errors.len().min(10)].join("\n")
        );
        assert!(compared > 0, "{name}: nothing compared of {frames} frames");
        // No frame of these files is rejected by etherparse or in an
        // excluded class: every IP packet in them is compared.
        assert_eq!(excluded, 0, "{name}");
        eprintln!("{name}: {compared} of {frames} frames compared");
    }
}
