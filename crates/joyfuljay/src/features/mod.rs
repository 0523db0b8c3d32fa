//! Feature groups and the column registry.
//!
//! Every column is described once, in its group's `COLUMNS` table: name,
//! type, unit and meaning. The CSV header, JSON output, `jj features`, the
//! generated docs and the Python side all read that description.
//!
//! - `group`: the [`FeatureGroup`] trait, [`Needs`], and the arenas that
//!   keep per-flow state beside the flow table's flows;
//! - `registry`: [`GROUPS`], the selection of groups for a configuration;
//! - `row`: [`Column`], [`Gate`], [`Value`], [`RowWriter`];
//! - `stats`: statistics primitives shared by the groups;
//! - `sets`: small exact sets for distinct-value counts;
//! - one file per group (`flow_meta`, `timing`, `size`, `entropy`,
//!   `ip_extended`, `ipv6_options`, `mac`, `icmp`, `tcp_window`,
//!   `tcp_options`, `tcp_fingerprint`, `tcp_mptcp`, `tls`, `ssh`, `quic`,
//!   `dns`, `padding`, `fingerprint`).
//!
//! Adding a group means one file (a `FeatureGroup` and its `COLUMNS`) and
//! one line in [`GROUPS`].

pub mod connection;
pub mod dns;
pub mod entropy;
pub mod fingerprint;
pub mod flow_meta;
mod group;
pub mod http2;
pub mod icmp;
pub mod ip_extended;
pub mod ipv6_options;
pub mod lazy;
pub mod mac;
pub mod padding;
pub mod quic;
mod registry;
mod row;
pub mod sets;
pub mod size;
pub mod ssh;
pub mod stats;
pub mod tcp;
pub mod tcp_analysis;
pub mod tcp_fingerprint;
pub mod tcp_mptcp;
pub mod tcp_options;
pub mod tcp_rtt;
pub mod tcp_sequence;
pub mod tcp_window;
pub mod timing;
pub mod tls;

pub use group::{
    Arena, EndedArena, EndedSource, EndedStates, FeatureGroup, FlowView, Group, GroupStates, Needs,
    WholeInput,
};
pub use registry::{
    find, group_of_column, keeps, load_config, profile_of, reads_whole_input, select, valid_groups,
    validate, GroupDef, GROUPS, PROFILES,
};
pub use row::{Cell, Cells, Column, ColumnType, Gate, RowWriter, Value};

#[cfg(test)]
mod reference_check;

/// Helpers for feature-group tests: packets, flows and rows built by hand.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use crate::config::Config;
    use crate::decode::{Decoded, Fragment, Stack};
    use crate::flow::{Direction, Flow, FlowStates};
    use crate::packet::PacketView;
    use std::sync::Arc;

    // ---- Naive two-pass statistics over full lists: the independent
    // ---- reference the streaming groups are tested against.

    pub(crate) fn mean(v: &[f64]) -> f64 {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    }

    pub(crate) fn central(v: &[f64], k: i32) -> f64 {
        let m = mean(v);
        v.iter().map(|x| (x - m).powi(k)).sum::<f64>() / v.len() as f64
    }

    pub(crate) fn pstd(v: &[f64]) -> f64 {
        if v.is_empty() {
            0.0
        } else {
            central(v, 2).sqrt()
        }
    }

    pub(crate) fn skew(v: &[f64]) -> f64 {
        if v.is_empty() || central(v, 2) == 0.0 {
            0.0
        } else {
            central(v, 3) / central(v, 2).powf(1.5)
        }
    }

    pub(crate) fn kurt(v: &[f64]) -> f64 {
        if v.is_empty() || central(v, 2) == 0.0 {
            0.0
        } else {
            central(v, 4) / central(v, 2).powi(2) - 3.0
        }
    }

    pub(crate) fn pct(v: &[f64], q: f64) -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let r = q * (s.len() - 1) as f64;
        let lo = r.floor() as usize;
        let hi = (lo + 1).min(s.len() - 1);
        s[lo] + (s[hi] - s[lo]) * (r - lo as f64)
    }

    /// A packet as the tests describe it.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct PacketObs {
        pub(crate) ts_us: i64,
        pub(crate) dir: Direction,
        pub(crate) ip_len: u32,
        pub(crate) payload_len: u32,
        pub(crate) tcp_flags: u8,
    }

    /// A packet at `ts_us` in direction `dir`.
    pub(crate) fn obs(ts_us: i64, dir: Direction, ip_len: u32, payload_len: u32) -> PacketObs {
        PacketObs {
            ts_us,
            dir,
            ip_len,
            payload_len,
            tcp_flags: 0,
        }
    }

    /// The decoded summary of a test packet (TCP, 10.0.0.1:1000 → 10.0.0.2:80).
    pub(crate) fn decoded_of(p: &PacketObs) -> Decoded {
        Decoded {
            src: 0x0a00_0001,
            dst: 0x0a00_0002,
            v6: false,
            sport: 1000,
            dport: 80,
            proto: 6,
            ip_len: p.ip_len,
            payload_len: p.payload_len,
            tcp_flags: p.tcp_flags,
            fragment: Fragment::None,
            l3_off: 0,
            l4_off: 0,
            payload_off: 0,
            stack: Stack::default(),
        }
    }

    /// Feed `pkts` in order to a new state of `g`.
    pub(crate) fn feed<G: FeatureGroup>(g: &G, pkts: &[PacketObs]) -> G::State {
        let mut st = g.new_state();
        for p in pkts {
            let d = decoded_of(p);
            g.update(&mut st, &PacketView::new(p.ts_us, p.dir, &d, &[]));
        }
        st
    }

    /// A flow with the accumulators `FlowTable` would have after `pkts`
    /// (initiator 10.0.0.1:1000, responder 10.0.0.2:80, TCP).
    pub(crate) fn flow_of(pkts: &[PacketObs]) -> Flow {
        let mut f = Flow::blank();
        let t0 = pkts.first().map_or(0, |p| p.ts_us);
        f.start_us = t0;
        f.end_us = t0;
        f.first_us = t0;
        for p in pkts {
            let d = p.dir as usize;
            f.packets[d] += 1;
            f.bytes[d] += u64::from(p.ip_len);
            f.payload[d] += u64::from(p.payload_len);
            f.start_us = f.start_us.min(p.ts_us);
            f.end_us = f.end_us.max(p.ts_us);
        }
        f
    }

    /// Build `def` for `cfg`, feed `pkts` through the group's arena (as
    /// the flow table does: a first flow, ended, then the flow under test,
    /// ended at end of input), and write the flow with every column kept.
    /// Checks the column count.
    pub(crate) fn row_of(def: &GroupDef, cfg: &Config, pkts: &[PacketObs]) -> Vec<Value> {
        let group: Arc<dyn Group> = (def.build)(cfg);
        let flow = flow_of(pkts);
        let mask = vec![true; def.columns.len()];
        let mut row = Vec::new();
        let mut w = RowWriter::new(&mut row, &mask);
        match Arc::clone(&group).arena() {
            None => group.write_stateless(&FlowView { flow: &flow }, &mut w),
            Some(arena) => {
                let mut states = GroupStates::new(vec![arena], 0);
                // A decoy flow at position 0 that ends first, so the flow
                // under test moves from position 1 to 0 and lands at ended
                // position 1.
                states.push();
                states.push();
                let decoy = obs(0, Direction::Fwd, 9999, 9999);
                let dd = decoded_of(&decoy);
                states.update(0, &PacketView::new(0, Direction::Fwd, &dd, &[]));
                for p in pkts {
                    let d = decoded_of(p);
                    states.update(1, &PacketView::new(p.ts_us, p.dir, &d, &[]));
                }
                states.retire(0);
                states.retire_all();
                states.swap_ended(0, 1);
                let ended = states.take_ended();
                ended.write(0, 0, &FlowView { flow: &flow }, &mut w);
            }
        }
        assert_eq!(w.written(), def.columns.len(), "{}: puts", def.id);
        assert_eq!(row.len(), def.columns.len(), "{}: values", def.id);
        row
    }

    /// The value of column `name` in a full row of `def`.
    pub(crate) fn get<'a>(def: &GroupDef, row: &'a [Value], name: &str) -> &'a Value {
        let i = def
            .columns
            .iter()
            .position(|c| c.name == name)
            .unwrap_or_else(|| panic!("no column {name} in {}", def.id));
        &row[i]
    }

    /// `a` is within `rel`·|`b`| + 1e-12 of `b`.
    pub(crate) fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs() + 1e-12
    }

    /// Compare two full rows of `def` column by column: integers exactly,
    /// floats within a relative 1e-9; columns named in `skip` are left out.
    pub(crate) fn assert_row(def: &GroupDef, got: &[Value], want: &[Value], skip: &[&str]) {
        assert_row_ctx(def, got, want, skip, "");
    }

    /// [`assert_row`], naming `ctx` in a failure.
    pub(crate) fn assert_row_ctx(
        def: &GroupDef,
        got: &[Value],
        want: &[Value],
        skip: &[&str],
        ctx: &str,
    ) {
        assert_eq!(got.len(), want.len());
        for ((c, g), w) in def.columns.iter().zip(got).zip(want) {
            if skip.contains(&c.name) {
                continue;
            }
            let ok = match (g, w) {
                (Value::Float(a), Value::Float(b)) => close(*a, *b, 1e-9),
                (Value::FloatList(a), Value::FloatList(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(*x, *y, 1e-9))
                }
                (Value::PairList(a), Value::PairList(b)) => {
                    a.len() == b.len()
                        && a.iter()
                            .zip(b)
                            .all(|(x, y)| x.0 == y.0 && close(x.1, y.1, 1e-9))
                }
                (a, b) => a == b,
            };
            assert!(ok, "{ctx} {}.{}: got {g:?}, want {w:?}", def.id, c.name);
        }
    }

    /// A flow of a capture read the naive way (see [`capture_flows`]):
    /// initiator address and port, responder address and port, protocol,
    /// packets in capture order.
    pub(crate) type NaiveFlow = (String, u16, String, u16, u8, Vec<PacketObs>);

    /// The shared captures the naive comparisons run on (those of
    /// testdata/expected/tshark).
    pub(crate) const CAPTURES: &[&str] = &[
        "http.cap",
        "dns.cap",
        "v6-http.cap",
        "vlan.cap",
        "mpls-basic.cap",
        "teardrop.cap",
        "sctp.cap",
        "Obsolete_Packets.cap",
        "pim-reg.cap",
        "RawPacketIPv6Tunnel-UK6x.cap",
        "sample.pcap",
        "imap.cap",
        "tcp-ethereal-file1.trace",
        "http_PPI.cap",
    ];

    /// The path of shared capture `name`.
    pub(crate) fn capture_path(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures")
            .join(name)
    }

    fn addr_text(a: u128, v6: bool) -> String {
        if v6 {
            std::net::Ipv6Addr::from(a).to_string()
        } else {
            std::net::Ipv4Addr::from(a as u32).to_string()
        }
    }

    /// The flows of a capture, read without the flow table: every frame
    /// decoded on its own, packets grouped by 5-tuple (either direction) in
    /// capture order, the first packet's sender the initiator; each 5-tuple
    /// one flow (as with no TCP close and an infinite timeout). 5-tuples
    /// with an IP fragment are left out (later fragments carry no ports; the
    /// flow table joins them by fragment id).
    pub(crate) fn capture_flows(path: &std::path::Path) -> Vec<NaiveFlow> {
        use crate::decode::decode;
        use std::collections::HashMap;
        type Key = (u128, u16, u128, u16, u8, bool);
        let mut order: Vec<Key> = Vec::new();
        let mut flows: HashMap<Key, (Vec<PacketObs>, bool)> = HashMap::new();
        crate::capture::CaptureReader::open(path)
            .unwrap()
            .for_each(
                |frame| {
                    let Ok(d) = decode(frame.link_type, frame.data, frame.orig_len) else {
                        return true;
                    };
                    let fwd = (d.src, d.sport, d.dst, d.dport, d.proto, d.v6);
                    let bwd = (d.dst, d.dport, d.src, d.sport, d.proto, d.v6);
                    let (key, dir) = if flows.contains_key(&bwd) && !flows.contains_key(&fwd) {
                        (bwd, Direction::Bwd)
                    } else {
                        (fwd, Direction::Fwd)
                    };
                    let e = flows.entry(key).or_insert_with(|| {
                        order.push(key);
                        (Vec::new(), false)
                    });
                    e.1 |= d.fragment != Fragment::None;
                    e.0.push(PacketObs {
                        ts_us: frame.ts_us,
                        dir,
                        ip_len: d.ip_len,
                        payload_len: d.payload_len,
                        tcp_flags: d.tcp_flags,
                    });
                    true
                },
                || {},
            )
            .unwrap();
        order
            .into_iter()
            .filter_map(|k| {
                let (pkts, fragmented) = flows.remove(&k).unwrap();
                (!fragmented).then(|| {
                    (
                        addr_text(k.0, k.5),
                        k.1,
                        addr_text(k.2, k.5),
                        k.3,
                        k.4,
                        pkts,
                    )
                })
            })
            .collect()
    }

    /// Run `def` (with flow_meta) over every shared capture under `cfg`,
    /// each 5-tuple one flow, and compare every flow's row with `naive`
    /// computed from [`capture_flows`]; `skip(flow)` names the columns left
    /// out for that flow. Returns the number of flows compared.
    pub(crate) fn compare_on_captures(
        def: &GroupDef,
        cfg: &Config,
        naive: impl Fn(&[PacketObs], &Config) -> Vec<Value>,
        skip: impl Fn(&[PacketObs]) -> Vec<&'static str>,
    ) -> usize {
        let cfg = Config {
            features: vec!["flow_meta".into(), def.id.into()],
            terminate_on_fin_rst: false,
            flow_timeout: 1e12,
            ..cfg.clone()
        };
        let mut compared = 0;
        for name in CAPTURES {
            let path = capture_path(name);
            let flows = capture_flows(&path);
            let p = crate::Pipeline::new(cfg.clone()).unwrap();
            let mut sink = crate::output::VecSink::default();
            p.run(
                std::slice::from_ref(&path),
                &mut sink,
                &mut crate::pipeline::Quiet,
            )
            .unwrap();
            for (src, sport, dst, dport, proto, pkts) in &flows {
                let rows: Vec<usize> = (0..sink.rows.len())
                    .filter(|&i| {
                        sink.get(i, "src_ip") == Some(&Value::Str(src.clone()))
                            && sink.get(i, "dst_ip") == Some(&Value::Str(dst.clone()))
                            && sink.get(i, "src_port") == Some(&Value::Int(i64::from(*sport)))
                            && sink.get(i, "dst_port") == Some(&Value::Int(i64::from(*dport)))
                            && sink.get(i, "protocol") == Some(&Value::Int(i64::from(*proto)))
                    })
                    .collect();
                let what = format!("{name}: {src}:{sport} -> {dst}:{dport}/{proto}");
                assert_eq!(rows.len(), 1, "{what}");
                let i = rows[0];
                assert_eq!(
                    sink.get(i, "total_packets"),
                    Some(&Value::Int(pkts.len() as i64)),
                    "{what}"
                );
                let want = naive(pkts, &cfg);
                // Columns the configuration leaves out are not compared.
                let got: Vec<Value> = def
                    .columns
                    .iter()
                    .zip(&want)
                    .map(|(c, w)| {
                        if c.gate.enabled(&cfg) {
                            sink.get(i, c.name).unwrap().clone()
                        } else {
                            assert!(sink.get(i, c.name).is_none());
                            w.clone()
                        }
                    })
                    .collect();
                let skipped = skip(pkts);
                assert_row_ctx(def, &got, &want, &skipped, &what);
                compared += 1;
            }
        }
        compared
    }

    // The testkit's SplitMix64, under the name the feature tests use.
    pub(crate) use joyfuljay_testkit::SplitMix64 as SplitMix;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn column_names_are_unique_across_groups() {
        let mut seen = std::collections::HashSet::new();
        for d in GROUPS {
            for c in d.columns {
                assert!(seen.insert(c.name), "duplicate column {}", c.name);
            }
        }
    }

    fn matches_type(v: &Value, c: &Column) -> bool {
        if *v == Value::Null {
            return c.nullable;
        }
        matches!(
            (v, c.ty),
            (Value::Bool(_), ColumnType::Bool)
                | (Value::Int(_), ColumnType::Int)
                | (Value::Float(_), ColumnType::Float)
                | (Value::Str(_), ColumnType::Str)
                | (Value::IntList(_), ColumnType::IntList)
                | (Value::FloatList(_), ColumnType::FloatList)
                | (Value::PairList(_), ColumnType::PairList)
                | (Value::StrList(_), ColumnType::StrList)
        )
    }

    #[test]
    fn every_group_writes_exactly_its_columns() {
        use crate::flow::Direction::{Bwd, Fwd};
        let cfg = Config {
            include_raw_sequences: true,
            include_splt: true,
            bidirectional_split: true,
            include_flow_id: true,
            ..Config::default()
        };
        let pkts = [
            testutil::obs(1_000_000, Fwd, 60, 0),
            testutil::obs(1_000_500, Bwd, 60, 0),
            testutil::obs(1_200_000, Fwd, 1500, 1460),
        ];
        for d in GROUPS {
            for n in [0, 1, pkts.len()] {
                // `row_of` asserts `written() == columns.len()`.
                let row = testutil::row_of(d, &cfg, &pkts[..n]);
                for (c, v) in d.columns.iter().zip(&row) {
                    assert!(matches_type(v, c), "{}.{}: {v:?}", d.id, c.name);
                }
            }
        }
    }

    #[test]
    fn pipeline_rows_have_one_value_per_column() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures/http.cap");
        let all = Config {
            features: vec!["all".into()],
            include_raw_sequences: true,
            include_splt: true,
            bidirectional_split: true,
            include_flow_id: true,
            ..Default::default()
        };
        let some = Config {
            features: vec!["size".into(), "timing".into()],
            ..Default::default()
        };
        for cfg in [all, some] {
            let p = crate::Pipeline::new(cfg).unwrap();
            let mut sink = crate::output::VecSink::default();
            let stats = p
                .run(
                    std::slice::from_ref(&path),
                    &mut sink,
                    &mut crate::pipeline::Quiet,
                )
                .unwrap();
            assert!(stats.flows > 0);
            assert_eq!(sink.rows.len() as u64, stats.flows);
            assert_eq!(sink.columns.len(), p.columns().len());
            for row in &sink.rows {
                assert_eq!(row.len(), sink.columns.len());
                for (c, v) in p.columns().iter().zip(row) {
                    assert!(matches_type(v, c), "{}: {v:?}", c.name);
                }
            }
            // Registry order: flow_meta, timing, size.
            let first = |id: &str| {
                let d = find(id).unwrap();
                sink.columns.iter().position(|n| *n == d.columns[0].name)
            };
            assert!(first("timing") < first("size"));
        }
    }

    #[test]
    fn timing_and_size_agree_with_flow_meta_on_a_capture() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures/http.cap");
        let p = crate::Pipeline::new(Config::default()).unwrap();
        let mut sink = crate::output::VecSink::default();
        p.run(&[path], &mut sink, &mut crate::pipeline::Quiet)
            .unwrap();
        for i in 0..sink.rows.len() {
            assert_eq!(
                sink.get(i, "payload_len_total"),
                sink.get(i, "payload_bytes_total")
            );
            let (Some(Value::Int(n)), Some(Value::Int(b))) =
                (sink.get(i, "total_packets"), sink.get(i, "burst_count"))
            else {
                panic!("types");
            };
            assert!(*b >= 1 && b <= n);
        }
    }

    #[test]
    fn group_ids_are_unique_and_not_all() {
        let mut seen = std::collections::HashSet::new();
        for d in GROUPS {
            assert!(seen.insert(d.id));
            assert_ne!(d.id, "all");
        }
    }
}
