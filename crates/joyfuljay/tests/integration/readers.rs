//! Capture formats: byte orders, timestamp resolutions, pcapng interfaces,
//! damaged files.

use crate::util::{float, int, meta, pcap, pcap_with, pcapng, run, text, Warnings, T0};
use joyfuljay::capture::{CaptureFormat, CaptureReader, ReadEnd};
use joyfuljay::output::VecSink;
use joyfuljay::synth::Packet;
use joyfuljay::{Error, Pipeline};
use joyfuljay_testkit::{capture, captures_dir, fuzz_regressions_dir, pcap_record_offsets};
use std::io::Cursor;
use std::path::{Path, PathBuf};

fn pkts() -> Vec<Packet> {
    vec![
        Packet::tcp("10.0.0.1", 1234, "10.0.0.2", 80, 0x02, 0),
        Packet::tcp("10.0.0.2", 80, "10.0.0.1", 1234, 0x12, 0),
        Packet::udp("2001:db8::1", 5353, "2001:db8::2", 53, 33),
    ]
}

/// Timestamps with sub-microsecond parts: ...0.000001499 and ...0.0000025.
const TS: [i64; 3] = [T0 + 1_499, T0 + 2_500, T0 + 1_000_000_000];

#[test]
fn pcap_byte_orders_and_resolutions_agree() {
    let mut outs = Vec::new();
    for nanos in [false, true] {
        for be in [false, true] {
            let frames = pkts()
                .iter()
                .zip(TS)
                .map(|(p, t)| (t, p.frame(1), p.frame(1).len() as u32))
                .collect::<Vec<_>>();
            let cap = pcap_with(1, nanos, be, frames);
            let (s, st) = run(&cap.path, meta());
            assert_eq!(st.decoded, 3);
            outs.push((nanos, s));
        }
    }
    for (nanos, s) in &outs {
        // µs files hold 1 and 2 µs (truncated by the writer); ns files round
        // 1.499 µs to 1 µs and 2.5 µs to 3 µs.
        let end_us = ((float(s, 0, "end_time") - 1.7e9) * 1e6).round() as i64;
        assert_eq!(end_us, if *nanos { 3 } else { 2 }, "nanos={nanos}");
        let start_us = ((float(s, 0, "start_time") - 1.7e9) * 1e6).round() as i64;
        assert_eq!(start_us, 1);
    }
    assert_eq!(outs[0].1.rows, outs[1].1.rows);
    assert_eq!(outs[2].1.rows, outs[3].1.rows);
}

#[test]
fn pcapng_resolutions_and_interfaces() {
    let p = pkts();
    // Interface 0: Ethernet, default µs; 1: raw IP, ns (tsresol 9); 2: SLL, 2^-20 s.
    let cap = pcapng(
        &[(1, None), (101, Some(9)), (113, Some(0x80 | 20))],
        &[
            (0, TS[0], p[0].frame(1)),
            (1, TS[1], p[1].frame(101)),
            (2, TS[2], p[2].frame(113)),
        ],
    );
    let (s, st) = run(&cap.path, meta());
    assert_eq!(st.decoded, 3);
    assert_eq!(s.rows.len(), 2);
    assert_eq!(text(&s, 0, "hdr_desc"), "ETH-IP-TCP");
    assert_eq!(int(&s, 0, "flow_stat"), 0x03);
    // Second packet on the ns interface: 2.5 µs rounds to 3 µs.
    let end_us = ((float(&s, 0, "end_time") - 1.7e9) * 1e6).round() as i64;
    assert_eq!(end_us, 3);
    assert_eq!(text(&s, 1, "hdr_desc"), "SLL-IP6-UDP");
    // 2^-20 s ticks: 1 s exactly representable.
    assert_eq!(float(&s, 1, "start_time"), 1_700_000_001.0);
}

#[test]
fn every_link_type_decodes_to_the_same_flow() {
    let p = Packet::udp("192.0.2.1", 1000, "192.0.2.2", 2000, 20);
    let p6 = Packet::udp("2001:db8::1", 1000, "2001:db8::2", 2000, 20);
    for (lt, desc) in [
        (0, "NULL-IP-UDP"),
        (1, "ETH-IP-UDP"),
        (9, "PPP-IP-UDP"),
        (12, "IP-UDP"),
        (14, "IP-UDP"),
        (50, "PPP-IP-UDP"),
        (101, "IP-UDP"),
        (108, "NULL-IP-UDP"),
        (113, "SLL-IP-UDP"),
        (228, "IP-UDP"),
        (276, "SLL2-IP-UDP"),
        (105, "WLAN-IP-UDP"),
        (127, "RADIOTAP-WLAN-IP-UDP"),
        (192, "PPI-WLAN-IP-UDP"),
    ] {
        let cap = pcap(lt, &[(T0, p.frame(lt))]);
        let (s, _) = run(&cap.path, meta());
        assert_eq!(s.rows.len(), 1, "link type {lt}");
        assert_eq!(text(&s, 0, "hdr_desc"), desc, "link type {lt}");
        assert_eq!(int(&s, 0, "total_bytes"), 48, "link type {lt}");
        assert_eq!(int(&s, 0, "payload_bytes_total"), 20, "link type {lt}");
    }
    for lt in [0u32, 1, 101, 108, 113, 229, 276] {
        let cap = pcap(lt, &[(T0, p6.frame(lt))]);
        let (s, _) = run(&cap.path, meta());
        assert_eq!(int(&s, 0, "total_bytes"), 68, "link type {lt}");
        assert_eq!(text(&s, 0, "src_ip"), "2001:db8::1");
    }
}

#[test]
fn vlan_mpls_pppoe_stacks() {
    let p = Packet::tcp("192.0.2.1", 1000, "192.0.2.2", 80, 0x18, 10);
    for (frame, desc) in [
        (p.ethernet(&[100], &[]), "ETH-VLAN-IP-TCP"),
        (p.ethernet(&[100, 200], &[]), "ETH-VLAN-VLAN-IP-TCP"),
        (p.ethernet(&[], &[16, 17, 18]), "ETH-MPLS-MPLS-MPLS-IP-TCP"),
        (p.ethernet(&[5], &[16]), "ETH-VLAN-MPLS-IP-TCP"),
        (p.pppoe(), "ETH-PPPOE-IP-TCP"),
    ] {
        let cap = pcap(1, &[(T0, frame)]);
        let (s, _) = run(&cap.path, meta());
        assert_eq!(text(&s, 0, "hdr_desc"), desc);
        assert_eq!(int(&s, 0, "num_hdrs"), desc.split('-').count() as i64);
        assert_eq!(int(&s, 0, "total_bytes"), 50);
        assert_eq!(int(&s, 0, "payload_bytes_total"), 10);
    }
}

#[test]
fn snaplen_padding_and_tso() {
    // A 1400-byte payload captured with a 64-byte snaplen still counts in full.
    let big = Packet::tcp("192.0.2.1", 1000, "192.0.2.2", 80, 0x18, 1400);
    let f = big.frame(1);
    let cut = f[..64].to_vec();
    // A tiny UDP datagram padded to 60 bytes by Ethernet: padding is not payload.
    let tiny = Packet::udp("192.0.2.3", 1, "192.0.2.4", 2, 1);
    // TSO: IPv4 total length 0, the frame is 14 + 20 + 20 + 3000 bytes.
    let mut tso = Packet::tcp("192.0.2.5", 1000, "192.0.2.6", 80, 0x18, 3000);
    tso.zero_total_length = true;
    let cap = pcap_with(
        1,
        false,
        false,
        vec![
            (T0, cut, f.len() as u32),
            (T0 + 1, tiny.frame(1), 60),
            (T0 + 2, tso.frame(1), tso.frame(1).len() as u32),
        ],
    );
    let (s, st) = run(&cap.path, meta());
    assert_eq!(st.decoded, 3);
    assert_eq!(int(&s, 0, "total_bytes"), 1440);
    assert_eq!(int(&s, 0, "payload_bytes_total"), 1400);
    assert_eq!(int(&s, 1, "total_bytes"), 29);
    assert_eq!(int(&s, 1, "payload_bytes_total"), 1);
    assert_eq!(int(&s, 2, "total_bytes"), 3040);
    assert_eq!(int(&s, 2, "payload_bytes_total"), 3000);
}

#[test]
fn ipv6_extension_headers_are_skipped_to_the_upper_layer() {
    let mut p = Packet::tcp("2001:db8::1", 1000, "2001:db8::2", 443, 0x02, 0);
    p.ipv6_ext = vec![0, 60, 43, 51];
    let cap = pcap(1, &[(T0, p.frame(1))]);
    let (s, _) = run(&cap.path, meta());
    assert_eq!(int(&s, 0, "protocol"), 6);
    assert_eq!(int(&s, 0, "dst_port"), 443);
    assert_eq!(int(&s, 0, "total_bytes"), 40 + 16 * 3 + 24 + 20);
    assert_eq!(int(&s, 0, "payload_bytes_total"), 0);
    assert_eq!(text(&s, 0, "hdr_desc"), "ETH-IP6-TCP");
    assert_eq!(int(&s, 0, "flow_stat"), 0x01);
}

fn damaged(bytes: &[u8]) -> (Result<joyfuljay::Stats, Error>, Vec<String>, VecSink) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.pcap");
    std::fs::write(&path, bytes).unwrap();
    let p = Pipeline::new(meta()).unwrap();
    let mut sink = VecSink::default();
    let mut w = Warnings::default();
    let r = p.run(&[path], &mut sink, &mut w);
    (r, w.0, sink)
}

#[test]
fn a_capture_cut_mid_record_keeps_every_complete_packet() {
    let b = std::fs::read(capture("http.cap")).unwrap();
    let offs = pcap_record_offsets(&b);
    for k in [1usize, 5, 20, 42] {
        let cut_at = offs[k] + 10; // inside record k's header or data
        let (r, warns, sink) = damaged(&b[..cut_at]);
        let st = r.unwrap();
        assert_eq!(st.packets, k as u64, "cut in record {k}");
        let total: i64 = (0..sink.rows.len())
            .map(|i| int(&sink, i, "total_packets"))
            .sum();
        assert_eq!(total as u64, st.decoded);
        assert_eq!(warns.len(), 1);
        assert!(
            warns[0].contains(&format!("offset {}", offs[k])),
            "{}",
            warns[0]
        );
    }
}

#[test]
fn an_impossible_record_length_stops_reading_with_a_warning() {
    let mut b = std::fs::read(capture("http.cap")).unwrap();
    let offs = pcap_record_offsets(&b);
    let at = offs[10];
    b[at + 8..at + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (r, warns, _) = damaged(&b);
    assert_eq!(r.unwrap().packets, 10);
    assert!(warns[0].contains(&format!("offset {at}")), "{}", warns[0]);
    assert!(warns[0].contains("corrupt"), "{}", warns[0]);
}

#[test]
fn non_captures_are_rejected_with_the_format_named() {
    let (r, _, _) = damaged(b"hello, this is text\n");
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("unsupported capture format") && e.contains("editcap"),
        "{e}"
    );
    let e = CaptureReader::open(&capture("MicrosoftNTP.cap"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("Network Monitor"), "{e}");
    let (r, _, _) = damaged(b"");
    assert!(r.unwrap_err().to_string().contains("empty file"));
    // A pcap header cut short.
    let b = std::fs::read(capture("http.cap")).unwrap();
    let (r, _, _) = damaged(&b[..12]);
    assert!(r.unwrap_err().to_string().contains("header"));
    // A valid header and no packets: no rows, no error.
    let (r, w, s) = damaged(&b[..24]);
    assert_eq!(r.unwrap().packets, 0);
    assert!(w.is_empty() && s.rows.is_empty());
}

#[test]
fn pcapng_with_foreign_link_type_is_skipped_and_counted() {
    let (_, st) = run(&capture("bacnet-arcnet-linux.cap"), meta());
    assert_eq!(st.packets, 564);
    assert_eq!(st.decoded, 0);
    assert_eq!(
        st.skipped[joyfuljay::SkipReason::UnsupportedLinkType as usize],
        564
    );
}

#[test]
fn compressed_captures_read_like_the_original() {
    let (plain, st) = run(&capture("http.cap"), meta());
    for name in ["http.cap.gz", "http.cap.zst"] {
        let (c, cst) = run(&capture(name), meta());
        assert_eq!(c.rows, plain.rows, "{name}");
        assert_eq!(cst.packets, st.packets, "{name}");
    }
    // A damaged compressed stream keeps the packets before the damage.
    let gz = std::fs::read(capture("http.cap.gz")).unwrap();
    let (r, warns, sink) = damaged(&gz[..gz.len() / 2]);
    let st = r.unwrap();
    assert!(st.packets > 0 && st.packets < 43, "{}", st.packets);
    let total: i64 = (0..sink.rows.len())
        .map(|i| int(&sink, i, "total_packets"))
        .sum();
    assert_eq!(total as u64, st.decoded);
    assert!(warns.len() <= 1);
}

// ---------------------------------------- in-place (mapped) vs streamed

/// Everything a reader reports, read with a stop after every `stop_every`
/// frames (0: never) and resumed: frames, unknown-interface calls, each
/// `for_each` end with the offset after it, link types, format.
#[derive(Debug, PartialEq)]
struct Reading {
    frames: Vec<(i64, u32, u32, Vec<u8>, u64)>,
    unknown: usize,
    ends: Vec<(ReadEnd, u64)>,
    link_types: Vec<u32>,
    format: String,
}

fn reading(r: Result<CaptureReader, Error>, stop_every: usize) -> Result<Reading, String> {
    let mut r = r.map_err(|e| e.to_string())?;
    let (mut frames, mut unknown, mut ends) = (Vec::new(), 0, Vec::new());
    loop {
        let mut n = 0;
        let end = r
            .for_each(
                |f| {
                    frames.push((f.ts_us, f.link_type, f.orig_len, f.data.to_vec(), f.offset));
                    n += 1;
                    stop_every == 0 || n % stop_every != 0
                },
                || unknown += 1,
            )
            .map_err(|e| e.to_string())?;
        ends.push((end.clone(), r.offset()));
        if end != ReadEnd::Stopped {
            break;
        }
    }
    Ok(Reading {
        frames,
        unknown,
        ends,
        link_types: r.link_types().to_vec(),
        format: r.format().describe(),
    })
}

fn streamed(bytes: &[u8], stop_every: usize) -> Result<Reading, String> {
    let r = CaptureReader::from_reader(Path::new("x"), Box::new(Cursor::new(bytes.to_vec())));
    assert!(r.as_ref().map_or(true, |r| !r.reads_in_place()));
    reading(r, stop_every)
}

fn in_memory(bytes: &[u8], stop_every: usize) -> Result<Reading, String> {
    reading(
        CaptureReader::from_bytes(Path::new("x"), bytes.to_vec()),
        stop_every,
    )
}

/// Both paths agree on `bytes` (read whole, and with stops); the reading.
fn agree(what: &str, bytes: &[u8]) -> Result<Reading, String> {
    let want = streamed(bytes, 0);
    assert_eq!(in_memory(bytes, 0), want, "{what}");
    assert_eq!(in_memory(bytes, 3), streamed(bytes, 3), "{what}, stops");
    want
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.extension().is_none_or(|x| x != "md") {
            out.push(p);
        }
    }
}

/// Every bundled capture and fuzz regression input: a file opened (legacy
/// pcap through a window, at the default size and at sizes that put
/// window boundaries inside records and record headers), bytes in memory
/// and a stream give the same frames, ends and offsets (or the same error).
#[test]
fn windowed_and_streamed_reads_agree_on_every_bundled_file() {
    let mut files = Vec::new();
    files_under(&captures_dir(), &mut files);
    files_under(&fuzz_regressions_dir(), &mut files);
    let mut windowed = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let what = path.display().to_string();
        let want = agree(&what, &bytes);
        let opened = CaptureReader::open(path);
        if let Ok(r) = &opened {
            let compressed = bytes.starts_with(&[0x1f, 0x8b]) || bytes.starts_with(&[0x28, 0xb5]);
            let legacy = matches!(r.format(), CaptureFormat::Pcap { .. });
            assert_eq!(r.reads_in_place(), legacy && !compressed, "{what}");
            windowed += usize::from(r.reads_in_place());
        }
        // Errors name the path, so compare them without it.
        let got = reading(opened, 0).map_err(|e| e.replace(&what, "x"));
        assert_eq!(got, want, "{what}: opened");
        for window in [1, 7, 16, 100, 1500, 4096] {
            let got = reading(CaptureReader::open_windowed(path, window), 0)
                .map_err(|e| e.replace(&what, "x"));
            assert_eq!(got, want, "{what}: window {window}");
        }
        // Stopped and resumed every 3 frames, through a small window.
        let got =
            reading(CaptureReader::open_windowed(path, 100), 3).map_err(|e| e.replace(&what, "x"));
        assert_eq!(got, streamed(&bytes, 3), "{what}: window 100, stops");
    }
    assert!(windowed >= 15, "{windowed} files read through a window");
}

/// A capture shortened while it is read ends like a cut-short capture:
/// the reader sees the bytes the file still has when it gets there.
#[test]
fn a_file_shortened_while_read_ends_as_cut_short() {
    let full = std::fs::read(capture("http.cap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.pcap");
    for cut in [24, 100, 1000, 5000, full.len() - 1] {
        std::fs::write(&path, &full).unwrap();
        // A small window: the first read takes the header and a little.
        let r = CaptureReader::open_windowed(&path, 64);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(cut as u64)
            .unwrap();
        let got = reading(r, 0);
        // What the first read took (the header and 40 bytes) plus what the
        // file has left.
        let want = streamed(&full[..cut.max(64)], 0);
        assert_eq!(got, want, "cut at {cut}");
    }
}

/// Cut lengths of a few small captures (pcap both byte orders, pcapng):
/// both paths agree at every cut.
#[test]
fn mapped_and_streamed_reads_agree_at_every_cut() {
    for name in ["sctp.cap", "dns.cap", "teardrop.cap"] {
        let b = std::fs::read(capture(name)).unwrap();
        for cut in 0..=b.len() {
            let _ = agree(&format!("{name} cut at {cut}"), &b[..cut]);
        }
    }
    // pcapng: every byte of the first 2 KiB, around every block boundary,
    // and a stride.
    let b = std::fs::read(capture("bacnet-arcnet-linux.cap")).unwrap();
    let mut cuts: Vec<usize> = (0..2048).chain((0..=b.len()).step_by(97)).collect();
    let mut off = 0;
    while off < b.len() {
        cuts.extend(off.saturating_sub(5)..(off + 13).min(b.len() + 1));
        off += u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
    }
    cuts.push(b.len());
    for cut in cuts {
        let _ = agree(&format!("bacnet cut at {cut}"), &b[..cut]);
    }
    let b = sections();
    for cut in 0..=b.len() {
        let _ = agree(&format!("sections cut at {cut}"), &b[..cut]);
    }
}

/// A pcapng block in either byte order: `kind`, `body` (padded here),
/// lengths.
fn ng_block(be: bool, kind: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    body.resize(body.len().next_multiple_of(4), 0);
    let len = 12 + body.len() as u32;
    let mut b = u32s(be, &[kind, len]);
    b.extend_from_slice(&body);
    b.extend(u32s(be, &[len]));
    b
}

fn u32s(be: bool, v: &[u32]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| if be { x.to_be_bytes() } else { x.to_le_bytes() })
        .collect()
}

fn shb(be: bool) -> Vec<u8> {
    let mut body = u32s(be, &[0x1a2b_3c4d, 0x0001_0000]); // BOM, version 1.0
    body.extend_from_slice(&[0xff; 8]); // section length unknown
    ng_block(be, 0x0a0d_0d0a, &body)
}

fn epb(be: bool, ifc: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    let n = data.len() as u32;
    let mut body = u32s(be, &[ifc, (ts >> 32) as u32, ts as u32, n, n + 4]);
    body.extend_from_slice(data);
    ng_block(be, 6, &body)
}

/// Three sections, little-, big- and little-endian, with interfaces of
/// several link types and resolutions, simple packets, an unknown
/// interface and a custom block.
fn sections() -> Vec<u8> {
    let f = Packet::udp("192.0.2.1", 1000, "192.0.2.2", 53, 7).frame(1);
    let mut b = Vec::new();
    for (s, be) in [false, true, false].into_iter().enumerate() {
        b.extend(shb(be));
        let mut idb = u32s(be, &[0]);
        idb[..2].copy_from_slice(&if be {
            1u16.to_be_bytes()
        } else {
            1u16.to_le_bytes()
        });
        idb.extend(u32s(be, &[0]));
        if s == 1 {
            // if_tsresol = 9 (ns), option 9, length 1.
            let (code, len) = if be {
                ([0, 9], [0, 1])
            } else {
                ([9, 0], [1, 0])
            };
            idb.extend_from_slice(&[code[0], code[1], len[0], len[1], 9, 0, 0, 0, 0, 0, 0, 0]);
        }
        b.extend(ng_block(be, 1, &idb));
        b.extend(epb(be, 0, 1_700_000_000_000_123 + s as u64, &f));
        b.extend(ng_block(
            be,
            3,
            &[u32s(be, &[f.len() as u32]), f.clone()].concat(),
        ));
        b.extend(epb(be, 7, 5, &f)); // no interface 7
        b.extend(ng_block(be, 0x0bad, &[1, 2, 3, 4, 5]));
        b.extend(epb(be, 0, 1_700_000_000_999_000, &f[..20]));
    }
    b
}

#[test]
fn sections_of_both_byte_orders_read_in_place() {
    let r = agree("sections", &sections()).unwrap();
    assert_eq!(r.frames.len(), 9);
    assert_eq!(r.unknown, 3);
    assert_eq!(r.ends, vec![(ReadEnd::Complete, sections().len() as u64)]);
    // The big-endian section's interface counts nanoseconds.
    assert_eq!(r.frames[3].0, 1_700_000_000_000_124 / 1000);
}

/// Blocks around the streaming buffer's sizes (1, 4 and 16 MiB), complete,
/// cut short, after other large blocks, and a packet block claiming more
/// bytes than it holds, with more or less data after it: wherever the
/// streaming buffer's size shows in the result, the in-place reader shows
/// it the same way.
#[test]
fn mapped_and_streamed_reads_agree_on_large_blocks() {
    const MIB: usize = 1 << 20;
    let f = Packet::udp("192.0.2.1", 1000, "192.0.2.2", 53, 7).frame(1);
    let head = pcapng(&[(1, None)], &[(0, T0, f.clone())]);
    let head = std::fs::read(&head.path).unwrap();
    // A custom block of `len` bytes in all.
    let big = |len: usize| ng_block(false, 0x0bad, &vec![0x5a; len - 12]);
    let mut bad_epb = epb(false, 0, 1, &f);
    bad_epb[20..24].copy_from_slice(&0xffff_fff0u32.to_le_bytes()); // caplen
    let mut seen = std::collections::BTreeSet::new();
    let mut case = |what: &str, tail: Vec<Vec<u8>>, cut: usize| {
        let mut b = head.clone();
        for t in tail {
            b.extend(t);
        }
        b.truncate(b.len() - cut);
        let r = agree(what, &b).unwrap();
        seen.insert(format!("{:?}", r.ends.last().unwrap().0));
    };
    for len in [MIB, MIB + 4, 4 * MIB, 4 * MIB + 8, 16 * MIB - 4, 16 * MIB] {
        for cut in [0, 1, 4, 5, 100] {
            case(&format!("{len} cut {cut}"), vec![big(len)], cut);
            case(
                &format!("{len} after others, cut {cut}"),
                vec![big(3 * MIB), big(5 * MIB), big(1000), big(len), big(64)],
                cut,
            );
        }
    }
    for after in [0, 2 * MIB, 5 * MIB, 20 * MIB] {
        let tail = if after == 0 { vec![] } else { vec![big(after)] };
        case(
            &format!("bad epb, {after} after"),
            [vec![bad_epb.clone()], tail.clone()].concat(),
            0,
        );
        case(
            &format!("bad epb after 5 MiB, {after} after"),
            [vec![big(5 * MIB), bad_epb.clone()], tail].concat(),
            0,
        );
    }
    // The cases reach complete reads, truncations and both corrupt kinds.
    assert!(seen.len() >= 3, "{seen:?}");
}

/// A named pipe cannot be mapped: it is streamed, with the same frames.
#[cfg(unix)]
#[test]
fn a_pipe_is_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo: skipped");
        return;
    }
    let bytes = std::fs::read(capture("http.cap")).unwrap();
    let writer = {
        let (fifo, bytes) = (fifo.clone(), bytes.clone());
        std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
    };
    let r = CaptureReader::open(&fifo).unwrap();
    assert!(!r.reads_in_place());
    let got = reading(Ok(r), 0).unwrap();
    writer.join().unwrap();
    assert_eq!(got, streamed(&bytes, 0).unwrap());
    assert_eq!(got.frames.len(), 43);
}

/// A pcapng packet block pads its data to 4 bytes; a frame is the captured
/// bytes only, as in a legacy pcap file (and the packet filter, payload
/// bytes and captured lengths see no padding).
#[test]
fn pcapng_frames_carry_no_block_padding() {
    let frames: Vec<Vec<u8>> = (17..=20)
        .map(|n| Packet::udp("192.0.2.1", 1000, "192.0.2.2", 2000, n).frame(1))
        .collect();
    let lens: Vec<usize> = frames.iter().map(|f| f.len()).collect();
    assert!(lens.iter().any(|n| n % 4 != 0), "{lens:?}");
    let ng = pcapng(
        &[(1, None)],
        &frames
            .iter()
            .enumerate()
            .map(|(i, f)| (0, T0 + i as i64 * 1000, f.clone()))
            .collect::<Vec<_>>(),
    );
    let mut got = Vec::new();
    let mut r = CaptureReader::open(&ng.path).unwrap();
    r.for_each(
        |f| {
            got.push(f.data.to_vec());
            true
        },
        || panic!("unknown interface"),
    )
    .unwrap();
    assert_eq!(got, frames);
}
