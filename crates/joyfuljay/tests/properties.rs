//! Property tests of the decoder and the flow table.
//!
//! The decoder: never panics on arbitrary or mutated frames of every
//! supported link type, and keeps its lengths consistent; unmutated
//! synthetic frames decode to exactly what was built.
//!
//! The flow table: arbitrary packet sequences (endpoints from a small pool,
//! any flags, sizes, time steps with large gaps and out-of-order
//! timestamps) under arbitrary configurations keep every invariant of
//! `check_rows` (fuzz/src/lib.rs: fwd + bwd = total, payload ≤ bytes,
//! start ≤ end, consistent `flow_stat` bits, Σ total_packets = decoded, …),
//! and each 5-tuple's packets, bytes and payload are all found in that
//! 5-tuple's flows.
//!
//! Cases are few by default (the file runs in seconds in debug); set
//! `PROPTEST_CASES` for a longer run.

#[allow(dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod fuzz;

#[allow(dead_code)]
#[path = "integration/util.rs"]
mod util;

use joyfuljay::capture::CaptureReader;
use joyfuljay::decode::{decode, Fragment, LinkType};
use joyfuljay::output::{Sink, VecSink};
use joyfuljay::pipeline::Quiet;
use joyfuljay::synth::{Packet, PcapWriter, L4};
use joyfuljay::{Config, Pipeline};
use proptest::prelude::*;
use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use util::{float, int, text};

fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig::with_cases(n)
}

// ---------------------------------------------------------------- decoder

fn arb_l4() -> impl Strategy<Value = L4> {
    prop_oneof![
        (
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            0usize..11,
            0usize..600
        )
            .prop_map(|(sport, dport, flags, o, payload)| L4::Tcp {
                sport,
                dport,
                flags,
                options: 4 * o,
                payload,
            }),
        (any::<u16>(), any::<u16>(), 0usize..600).prop_map(|(sport, dport, payload)| L4::Udp {
            sport,
            dport,
            payload
        }),
        (any::<u16>(), any::<u16>(), 0usize..100).prop_map(|(sport, dport, payload)| {
            L4::Sctp {
                sport,
                dport,
                payload,
            }
        }),
        (0usize..100).prop_map(|payload| L4::Icmp { payload }),
        (
            prop::sample::select(vec![2u8, 47, 50, 89, 255]),
            0usize..100
        )
            .prop_map(|(proto, len)| L4::Other { proto, len }),
    ]
}

/// A synthetic packet: IPv4 (options, fragments, TSO zero length) or IPv6
/// (extension headers, fragments).
fn arb_packet() -> impl Strategy<Value = Packet> {
    (
        any::<bool>(),
        any::<u32>(),
        any::<u32>(),
        arb_l4(),
        0usize..11,
        prop::collection::vec(prop::sample::select(vec![0u8, 43, 60, 51]), 0..3),
        prop::option::weighted(0.2, (any::<u16>(), 0u16..200, any::<bool>())),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(v6, a, b, l4, opts, ext, frag, tso)| {
            let (src, dst) = if v6 {
                (
                    format!("2001:db8::{:x}:{:x}", a >> 16, a & 0xffff),
                    format!("2001:db8::{:x}:{:x}", b >> 16, b & 0xffff),
                )
            } else {
                (
                    std::net::Ipv4Addr::from(a).to_string(),
                    std::net::Ipv4Addr::from(b).to_string(),
                )
            };
            let mut p = Packet::new(&src, &dst, l4);
            if v6 {
                p.ipv6_ext = ext;
            } else {
                p.ipv4_options = 4 * opts;
                p.zero_total_length = tso;
            }
            p.fragment = frag.map(|(id, off, more)| (u32::from(id), off, more));
            p
        })
}

fn arb_link_type() -> impl Strategy<Value = u32> {
    prop::sample::select(LinkType::SUPPORTED.iter().map(|l| l.0).collect::<Vec<_>>())
}

/// The body of the `decode` fuzz target, whose input is
/// [link type selector][extra wire bytes, LE u16][frame].
fn fuzz_decode(lt: u32, extra: u16, frame: &[u8]) {
    let sel = LinkType::SUPPORTED
        .iter()
        .position(|l| l.0 == lt)
        .expect("supported") as u8;
    let mut input = vec![sel];
    input.extend_from_slice(&extra.to_le_bytes());
    input.extend_from_slice(frame);
    fuzz::decode(&input);
}

proptest! {
    #![proptest_config(cases(256))]

    /// Arbitrary bytes, every link type: no panic; successful decodes keep
    /// their invariants, and every prefix agrees (the `decode` fuzz body).
    #[test]
    fn decoder_survives_arbitrary_bytes(
        lt in arb_link_type(),
        extra in prop_oneof![Just(0u16), any::<u16>()],
        frame in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        fuzz_decode(lt, extra, &frame);
    }

    /// Valid frames with a few bytes overwritten, cut short, or claimed
    /// longer on the wire: no panic, invariants kept.
    #[test]
    fn decoder_survives_mutated_frames(
        p in arb_packet(),
        lt in arb_link_type(),
        edits in prop::collection::vec((0usize..96, any::<u8>()), 0..6),
        cut in prop::option::of(0usize..200),
        extra in prop_oneof![Just(0u16), 0u16..100, any::<u16>()],
    ) {
        let mut f = p.frame(lt);
        for (at, v) in edits {
            if let Some(b) = f.get_mut(at) {
                *b = v;
            }
        }
        if let Some(c) = cut {
            f.truncate(c);
        }
        fuzz_decode(lt, extra, &f);
    }

    /// Unmutated frames decode to what was built, whatever the link type,
    /// and a snaplen cut after the headers changes nothing.
    #[test]
    fn decoder_reads_back_what_was_built(p in arb_packet(), lt in arb_link_type()) {
        // Link types 228 and 229 carry one IP version each.
        let lt = match (lt, p.src.is_ipv6()) {
            (228, true) => 229,
            (229, false) => 228,
            (lt, _) => lt,
        };
        // An IPv4 total length of 0 (segmentation offload) leaves only the
        // frame length; in an Ethernet frame padded to its 60-byte minimum
        // the padding cannot be told from data. Offload only produces large
        // segments, so such frames are not "what was built".
        prop_assume!(!(p.zero_total_length && lt == 1 && p.ip_len() < 46));
        let f = p.frame(lt);
        let d = decode(lt, &f, f.len() as u32).expect("a well-formed frame decodes");
        prop_assert_eq!(d.ip_len as usize, p.ip_len());
        prop_assert_eq!(d.v6, p.src.is_ipv6());
        let later = matches!(p.fragment, Some((_, off, _)) if off > 0);
        let first = matches!(p.fragment, Some((_, 0, true)));
        match (&d.fragment, later, first) {
            (Fragment::Later { .. }, true, _) | (Fragment::First { .. }, false, true) => {}
            (Fragment::None, false, false) => {}
            other => prop_assert!(false, "fragment {:?}", other),
        }
        let (ports, proto, payload) = match p.l4 {
            L4::Tcp { sport, dport, payload, .. } => ((sport, dport), 6, payload),
            L4::Udp { sport, dport, payload } => ((sport, dport), 17, payload),
            L4::Sctp { sport, dport, payload } => ((sport, dport), 132, payload),
            L4::Icmp { payload } => ((0, 0), if d.v6 { 58 } else { 1 }, payload),
            L4::Other { proto, len } => ((0, 0), proto, len),
        };
        prop_assert_eq!(d.proto, proto);
        if later {
            prop_assert_eq!((d.sport, d.dport), (0, 0));
        } else {
            prop_assert_eq!((d.sport, d.dport), ports);
            prop_assert_eq!(d.payload_len as usize, payload);
        }
        // Cut the capture right after the headers: same result.
        let headers = f.len() - d.payload_len as usize;
        let cut = decode(lt, &f[..headers], f.len() as u32);
        prop_assert_eq!(cut, Ok(d));
    }
}

// ------------------------------------------------------------- flow table

/// One packet of a generated sequence.
#[derive(Debug, Clone)]
struct Ev {
    /// Endpoint indices into the pool (sender, receiver).
    from: usize,
    to: usize,
    /// 0 TCP, 1 UDP, 2 ICMP.
    kind: u8,
    flags: u8,
    payload: usize,
    /// Time step from the previous packet, µs (may be negative).
    step_us: i64,
}

const HOSTS: [&str; 3] = ["10.0.0.1", "10.0.0.2", "192.168.1.9"];
const PORTS: [u16; 3] = [80, 443, 40000];

/// Endpoint `i` of the pool: (address, port).
fn endpoint(i: usize) -> (&'static str, u16) {
    (HOSTS[i % HOSTS.len()], PORTS[i / HOSTS.len() % PORTS.len()])
}

fn arb_step() -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => 0i64..2_000,                    // back to back
        3 => 0i64..3_000_000,                // within typical timeouts
        1 => 50_000_000i64..10_000_000_000,  // large gap
        1 => -5_000_000i64..0,               // out of order
    ]
}

fn arb_flags() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(vec![0x02u8, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01]),
        any::<u8>(),
    ]
}

fn arb_event() -> impl Strategy<Value = Ev> {
    let n = HOSTS.len() * PORTS.len();
    (0..n, 0..n, 0u8..3, arb_flags(), 0usize..1500, arb_step()).prop_map(
        |(from, to, kind, flags, payload, step_us)| Ev {
            from,
            to,
            kind,
            flags,
            payload,
            step_us,
        },
    )
}

fn arb_config() -> impl Strategy<Value = Config> {
    (
        prop::sample::select(vec![0.5f64, 1.0, 60.0, 1e6]),
        prop::option::of(prop::sample::select(vec![0.3f64, 2.0])),
        any::<bool>(),
        prop::sample::select(vec![0u64, 1, 2, 5]),
        any::<bool>(),
    )
        .prop_map(|(idle, active, close, max, all)| Config {
            features: vec![if all { "all" } else { "flow_meta" }.into()],
            flow_timeout: idle,
            active_timeout: active,
            terminate_on_fin_rst: close,
            max_concurrent_flows: max,
            ..Config::default()
        })
}

fn packet_of(e: &Ev) -> Packet {
    let ((sa, sp), (da, dp)) = (endpoint(e.from), endpoint(e.to));
    match e.kind {
        0 => Packet::tcp(sa, sp, da, dp, e.flags, e.payload),
        1 => Packet::udp(sa, sp, da, dp, e.payload),
        _ => Packet::new(sa, da, L4::Icmp { payload: e.payload }),
    }
}

/// The canonical (unordered) 5-tuple of a packet or row.
type Key = (String, u16, String, u16, i64);

fn key(a: (&str, u16), b: (&str, u16), proto: i64) -> Key {
    let (x, y) = if (a.0, a.1) <= (b.0, b.1) {
        (a, b)
    } else {
        (b, a)
    };
    (x.0.to_string(), x.1, y.0.to_string(), y.1, proto)
}

/// Totals per 5-tuple: (packets, bytes, payload, first ts µs, last ts µs).
type Totals = HashMap<Key, (i64, i64, i64, i64, i64)>;

fn run_sequence(cfg: &Config, evs: &[Ev]) -> (VecSink, joyfuljay::Stats, Totals) {
    let mut w = PcapWriter::new(Vec::new(), 1, false, false, 65535).unwrap();
    let mut t_us: i64 = 1_700_000_000_000_000;
    let mut want: Totals = HashMap::new();
    for e in evs {
        t_us = (t_us + e.step_us).max(0);
        let p = packet_of(e);
        let f = p.frame(1);
        w.write(t_us * 1000, &f, f.len() as u32).unwrap();
        let (proto, payload) = match e.kind {
            0 | 1 => (if e.kind == 0 { 6 } else { 17 }, e.payload),
            _ => (1, e.payload),
        };
        let (a, b) = (endpoint(e.from), endpoint(e.to));
        let k = if proto == 1 {
            key((a.0, 0), (b.0, 0), proto)
        } else {
            key(a, b, proto)
        };
        let t = want.entry(k).or_insert((0, 0, 0, t_us, t_us));
        t.0 += 1;
        t.1 += p.ip_len() as i64;
        t.2 += payload as i64;
        t.3 = t.3.min(t_us);
        t.4 = t.4.max(t_us);
    }
    let bytes = w.into_inner();
    let reader =
        CaptureReader::from_reader(Path::new("generated.pcap"), Box::new(Cursor::new(bytes)))
            .unwrap();
    let p = Pipeline::new(cfg.clone()).unwrap();
    let mut sink = VecSink::default();
    sink.begin(p.columns()).unwrap();
    let st = p.process(reader, &mut sink, &mut Quiet).unwrap();
    (sink, st, want)
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn flow_table_keeps_its_invariants(
        cfg in arb_config(),
        evs in prop::collection::vec(arb_event(), 1..60),
    ) {
        let (sink, st, want) = run_sequence(&cfg, &evs);
        prop_assert_eq!(st.packets, evs.len() as u64);
        prop_assert_eq!(st.decoded, evs.len() as u64, "every generated packet decodes");
        fuzz::check_rows(&cfg, &sink, &st);

        // Every packet is counted in exactly one flow of its own 5-tuple.
        let mut got: Totals = HashMap::new();
        let mut rows_per_key: HashMap<Key, usize> = HashMap::new();
        for i in 0..sink.rows.len() {
            let k = key(
                (&text(&sink, i, "src_ip"), int(&sink, i, "src_port") as u16),
                (&text(&sink, i, "dst_ip"), int(&sink, i, "dst_port") as u16),
                int(&sink, i, "protocol"),
            );
            let start = (float(&sink, i, "start_time") * 1e6).round() as i64;
            let end = (float(&sink, i, "end_time") * 1e6).round() as i64;
            let t = got.entry(k.clone()).or_insert((0, 0, 0, start, end));
            t.0 += int(&sink, i, "total_packets");
            t.1 += int(&sink, i, "total_bytes");
            t.2 += int(&sink, i, "payload_bytes_total");
            t.3 = t.3.min(start);
            t.4 = t.4.max(end);
            *rows_per_key.entry(k).or_default() += 1;
        }
        prop_assert_eq!(&got, &want);

        // Without any reason to split, each 5-tuple is exactly one flow.
        if !cfg.terminate_on_fin_rst
            && cfg.flow_timeout >= 1e6
            && cfg.active_timeout.is_none()
            && cfg.max_concurrent_flows == 0
        {
            prop_assert!(rows_per_key.values().all(|n| *n == 1), "{:?}", rows_per_key);
        }
        if cfg.max_concurrent_flows > 0 {
            prop_assert!(st.peak_active_flows <= cfg.max_concurrent_flows);
        }
    }
}
