//! Damaged real captures: every capture cut at every byte offset (a dense
//! sample for the big one), and seeded random bit flips.
//!
//! A cut inside record k must keep exactly the packets of records < k, emit
//! the same rows as the undamaged prefix of those records, and warn once,
//! naming the offset of record k; a cut at a record boundary is a complete
//! file (no warning). Bit flips must never panic, hang or break the row
//! invariants, and reading must get at least as far as the damage. Record
//! offsets are computed here by walking the record headers, independently of
//! the reader.

#[allow(dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod fuzz;

#[allow(dead_code)]
#[path = "integration/util.rs"]
mod util;

use joyfuljay::capture::CaptureReader;
use joyfuljay::output::{Sink, VecSink};
use joyfuljay::synth::PcapNgWriter;
use joyfuljay::{Config, Pipeline, Stats};
use joyfuljay_testkit::{capture, SplitMix64};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};
use util::Warnings;

/// No single damaged run may take longer than this (debug build).
const RUN_BOUND: Duration = Duration::from_secs(10);

/// The layout of a capture: where the file header ends, and each record
/// (pcap record or pcapng block) as (offset, end, carries a packet).
struct Layout {
    header_end: usize,
    records: Vec<(usize, usize, bool)>,
}

/// Walk a legacy pcap file's record headers (either byte order).
fn pcap_layout(b: &[u8]) -> Layout {
    let be = b[0] == 0xa1;
    let u32_at = |at: usize| {
        let w: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if be {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let mut records = Vec::new();
    let mut off = 24;
    while off + 16 <= b.len() {
        let end = off + 16 + u32_at(off + 8) as usize;
        assert!(end <= b.len(), "the bundled capture is complete");
        records.push((off, end, true));
        off = end;
    }
    assert_eq!(off, b.len());
    Layout {
        header_end: 24,
        records,
    }
}

/// Walk a little-endian pcapng file's blocks; the section header is the
/// file header. Enhanced (6) and simple (3) packet blocks carry packets.
fn pcapng_layout(b: &[u8]) -> Layout {
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0x0a0d_0d0a);
    let header_end = u32_at(4) as usize;
    let mut records = Vec::new();
    let mut off = header_end;
    while off < b.len() {
        let end = off + u32_at(off + 4) as usize;
        assert!(end <= b.len());
        let kind = u32_at(off);
        assert_ne!(kind, 0x0a0d_0d0a, "one section only");
        records.push((off, end, kind == 6 || kind == 3));
        off = end;
    }
    Layout {
        header_end,
        records,
    }
}

struct Run {
    stats: Stats,
    warnings: Vec<String>,
    rows: VecSink,
}

/// Run the pipeline on in-memory bytes; `Err` is the one-line fatal error.
fn run(p: &Pipeline, bytes: &[u8]) -> Result<Run, String> {
    let t = Instant::now();
    let reader = CaptureReader::from_reader(
        Path::new("damaged.pcap"),
        Box::new(Cursor::new(bytes.to_vec())),
    )
    .map_err(|e| e.to_string())?;
    let mut rows = VecSink::default();
    rows.begin(p.columns()).unwrap();
    let mut w = Warnings::default();
    let stats = p
        .process(reader, &mut rows, &mut w)
        .map_err(|e| e.to_string())?;
    assert!(t.elapsed() < RUN_BOUND, "a run took {:?}", t.elapsed());
    Ok(Run {
        stats,
        warnings: w.0,
        rows,
    })
}

fn config() -> Config {
    Config {
        features: vec!["flow_meta".into()],
        ..Config::default()
    }
}

/// The offset a warning names ("… at byte offset N …").
fn warned_offset(w: &str) -> u64 {
    let rest = w
        .split("byte offset ")
        .nth(1)
        .expect("the warning names an offset");
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Cut `b` at each offset in `cuts` and check the outcome against `layout`.
fn sweep(name: &str, b: &[u8], layout: &Layout, cuts: impl Iterator<Item = usize>) -> usize {
    let p = Pipeline::new(config()).unwrap();
    // Rows of the undamaged prefix of the first k records, by k.
    let mut complete: HashMap<usize, VecSink> = HashMap::new();
    let mut n = 0;
    for cut in cuts {
        n += 1;
        let r = run(&p, &b[..cut]);
        if cut < layout.header_end {
            let e = r
                .err()
                .unwrap_or_else(|| panic!("{name} cut at {cut}: accepted"));
            assert!(!e.contains('\n') && e.contains("damaged.pcap"), "{e}");
            continue;
        }
        let r = r.unwrap_or_else(|e| panic!("{name} cut at {cut}: {e}"));
        let k = layout.records.iter().take_while(|r| r.1 <= cut).count();
        let packets = layout.records[..k].iter().filter(|r| r.2).count();
        assert_eq!(r.stats.packets, packets as u64, "{name} cut at {cut}");
        let boundary = if k == 0 {
            layout.header_end
        } else {
            layout.records[k - 1].1
        };
        if cut == boundary {
            assert!(
                r.warnings.is_empty(),
                "{name} cut at {cut}: {:?}",
                r.warnings
            );
        } else {
            assert_eq!(r.warnings.len(), 1, "{name} cut at {cut}");
            let w = &r.warnings[0];
            assert_eq!(warned_offset(w), layout.records[k].0 as u64, "{name}: {w}");
            assert!(w.contains("cut short") && w.contains("damaged.pcap"), "{w}");
            assert_eq!(r.stats.incomplete_files, 1);
        }
        let want = complete
            .entry(k)
            .or_insert_with(|| run(&p, &b[..boundary]).unwrap().rows);
        assert_eq!(r.rows.rows, want.rows, "{name} cut at {cut}: rows");
    }
    n
}

fn every_byte(name: &str) {
    let b = std::fs::read(capture(name)).unwrap();
    let layout = pcap_layout(&b);
    let n = sweep(name, &b, &layout, 0..=b.len());
    assert_eq!(n, b.len() + 1);
}

#[test]
fn http_cut_at_every_byte() {
    every_byte("http.cap");
}

#[test]
fn dns_cut_at_every_byte() {
    every_byte("dns.cap");
}

#[test]
fn sample_cut_at_every_byte() {
    every_byte("sample.pcap");
}

#[test]
fn big_endian_sctp_cut_at_every_byte() {
    every_byte("sctp.cap");
}

/// http.cap's packets as pcapng: a section header, two interfaces (the
/// second with nanosecond resolution), and one enhanced packet block each.
fn http_pcapng() -> Vec<u8> {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.add_interface(1, None).unwrap();
    w.add_interface(1, Some(9)).unwrap();
    let mut r = CaptureReader::open(&capture("http.cap")).unwrap();
    let mut i = 0u32;
    r.for_each(
        |f| {
            w.write(i % 2, f.ts_us * 1000, f.data, f.orig_len).unwrap();
            i += 1;
            true
        },
        || {},
    )
    .unwrap();
    w.into_inner()
}

#[test]
fn pcapng_cut_at_every_byte() {
    let b = http_pcapng();
    let layout = pcapng_layout(&b);
    assert_eq!(layout.records.iter().filter(|r| r.2).count(), 43);
    sweep("http.pcapng", &b, &layout, 0..=b.len());
}

/// A real pcapng (ARCnet frames: read, then skipped as an unsupported link
/// type, 33 KB, 566 blocks): every byte of the first blocks, then every
/// 29th byte, plus the boundaries of a random sample of blocks.
#[test]
fn real_pcapng_dense_cuts() {
    let b = std::fs::read(capture("bacnet-arcnet-linux.cap")).unwrap();
    let layout = pcapng_layout(&b);
    let mut cuts: Vec<usize> = (0..=600).chain((0..=b.len()).step_by(29)).collect();
    let mut rng = SplitMix64(0xbac0e7);
    for _ in 0..60 {
        let r = layout.records[rng.below(layout.records.len())];
        cuts.extend([r.0 - 1, r.0, r.0 + 1, r.0 + 8, r.1 - 1]);
    }
    cuts.push(b.len());
    cuts.sort();
    cuts.dedup();
    sweep("bacnet-arcnet-linux.cap", &b, &layout, cuts.into_iter());
}

/// The big capture (1.6 MB, 10,949 records): a dense sample of cuts, each
/// record boundary region sampled at random plus the first and last records.
#[test]
fn big_capture_sampled_cuts() {
    let b = std::fs::read(capture("Obsolete_Packets.cap")).unwrap();
    let layout = pcap_layout(&b);
    let mut rng = SplitMix64(0x0b50_1e7e);
    let mut cuts: Vec<usize> = (0..24).map(|_| rng.below(b.len() + 1)).collect();
    for _ in 0..6 {
        let r = layout.records[rng.below(layout.records.len())];
        cuts.extend([r.0, r.0 + 1, r.0 + 15, r.0 + 16, r.1 - 1]);
    }
    cuts.extend([0, 23, 24, 25, b.len() - 1, b.len()]);
    cuts.sort();
    cuts.dedup();
    sweep("Obsolete_Packets.cap", &b, &layout, cuts.into_iter());
}

/// `variants` copies of `b` with 1–8 random bits flipped (the first few
/// anywhere, the rest after the file header).
fn bit_flips(name: &str, b: &[u8], layout: &Layout, variants: usize, seed: u64) {
    let cfg = Config::default();
    let p = Pipeline::new(cfg.clone()).unwrap();
    let mut rng = SplitMix64(seed);
    for v in 0..variants {
        let mut d = b.to_vec();
        let from = if v < variants / 10 {
            0
        } else {
            layout.header_end
        };
        let flips = 1 + rng.below(8);
        let mut first = usize::MAX;
        for _ in 0..flips {
            let at = from + rng.below(d.len() - from);
            d[at] ^= 1 << rng.below(8);
            first = first.min(at);
        }
        let r = match run(&p, &d) {
            Ok(r) => r,
            Err(e) => {
                assert!(first < layout.header_end, "{name} variant {v}: {e}");
                assert!(!e.contains('\n'), "{e}");
                continue;
            }
        };
        fuzz::check_rows(&cfg, &r.rows, &r.stats);
        if first >= layout.header_end {
            // Everything before the damaged record was read as it was.
            let k = layout.records.iter().take_while(|r| r.1 <= first).count();
            let packets = layout.records[..k].iter().filter(|r| r.2).count();
            assert!(r.stats.packets >= packets as u64, "{name} variant {v}");
            assert!(
                r.warnings.len() <= 1,
                "{name} variant {v}: {:?}",
                r.warnings
            );
            if let Some(w) = r.warnings.first() {
                let damaged = layout.records.get(k).map_or(b.len(), |r| r.0);
                assert!(
                    warned_offset(w) >= damaged as u64,
                    "{name} variant {v}: {w}"
                );
            }
        }
    }
}

#[test]
fn http_random_bit_flips() {
    let b = std::fs::read(capture("http.cap")).unwrap();
    bit_flips("http.cap", &b, &pcap_layout(&b), 300, 1);
}

#[test]
fn dns_random_bit_flips() {
    let b = std::fs::read(capture("dns.cap")).unwrap();
    bit_flips("dns.cap", &b, &pcap_layout(&b), 300, 2);
}

#[test]
fn pcapng_random_bit_flips() {
    let b = http_pcapng();
    bit_flips("http.pcapng", &b, &pcapng_layout(&b), 300, 3);
}
