//! `entropy`: how random a flow's payload bytes are, to tell encrypted,
//! compressed and plaintext traffic apart.
//!
//! The documented columns are statistics of per-packet Shannon entropy
//! (bits per byte, 0–8) of the first `entropy_sample_bytes` captured
//! payload bytes of each packet with payload, kept as streaming moments.
//! The reference package's columns follow: entropy and byte classes of the
//! first `entropy_sample_bytes` payload bytes of each direction, taken in
//! capture order, kept as the bytes themselves (at most
//! `entropy_sample_bytes` per direction, nothing before the first payload)
//! and counted when the flow ends. Packets without captured payload count
//! nowhere; a flow without any has 0 in every column.

use super::stats::ratio;
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::PacketView;
use std::sync::Arc;

/// A packet whose sampled entropy is above this many bits per byte counts
/// in `high_entropy_ratio`.
pub const HIGH_ENTROPY_BITS: f64 = 7.0;

/// `byte_distribution_uniformity` is 0 for samples shorter than this many
/// bytes.
pub const UNIFORMITY_MIN_BYTES: u32 = 256;

const FLOAT: ColumnType = ColumnType::Float;

/// The `entropy` columns, in output order.
pub const COLUMNS: &[Column] = &[
    Column::always("payload_entropy_mean", FLOAT, "bits", "Mean over the packets with captured payload of the Shannon entropy (bits per byte, 0-8) of each packet's first entropy_sample_bytes payload bytes; 0 without such packets."),
    Column::always("payload_entropy_std", FLOAT, "bits", "Population standard deviation (ddof 0) of those per-packet entropies."),
    Column::always("payload_entropy_min", FLOAT, "bits", "Smallest per-packet entropy; 0 without payload packets."),
    Column::always("payload_entropy_max", FLOAT, "bits", "Largest per-packet entropy; 0 without payload packets."),
    Column::always("entropy_consistency", FLOAT, "", "max(0, 1 - payload_entropy_std / payload_entropy_mean): 1 when every payload packet has the same entropy (also when all are 0); 0 without payload packets."),
    Column::always("high_entropy_ratio", FLOAT, "", "Share of the payload packets whose entropy is above HIGH_ENTROPY_BITS = 7.0; 0 without payload packets."),
    Column::always("entropy_payload", FLOAT, "bits", "Shannon entropy (bits per byte) of the byte sample: the first entropy_sample_bytes payload bytes of each direction, in capture order, both directions together; 0 when empty."),
    Column::always("entropy_initiator", FLOAT, "bits", "Shannon entropy of the initiator's sample (its first entropy_sample_bytes payload bytes); 0 when empty."),
    Column::always("entropy_responder", FLOAT, "bits", "Shannon entropy of the responder's sample; 0 when empty."),
    Column::always("entropy_ratio", FLOAT, "", "entropy_initiator / entropy_responder (entropy_initiator when entropy_responder is 0)."),
    Column::always("byte_distribution_uniformity", FLOAT, "", "For a byte sample of L >= UNIFORMITY_MIN_BYTES = 256 bytes with counts c[v]: max(0, 1 - sum over all 256 values v of (c[v] - L/256)^2 / L^2); 0 for shorter samples."),
    Column::always("printable_ratio", FLOAT, "", "Share of the byte sample in 0x20-0x7E or tab, LF, CR; 0 when empty."),
    Column::always("null_ratio", FLOAT, "", "Share of the byte sample equal to 0x00; 0 when empty."),
    Column::always("high_byte_ratio", FLOAT, "", "Share of the byte sample at or above 0x80; 0 when empty."),
    Column::always("payload_bytes_sampled", ColumnType::Int, "bytes", "Bytes in the byte sample (at most 2 x entropy_sample_bytes)."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "entropy",
    summary: "Shannon entropy of payload bytes: per-packet statistics, per-direction samples and byte classes.",
    columns: COLUMNS,
    build,
};

fn build(cfg: &Config) -> Arc<dyn Group> {
    Arc::new(Entropy::new(cfg.entropy_sample_bytes.max(1)))
}

/// Counts up to this many get their `c·log2 c` from a table.
const TABLE_MAX: usize = 1 << 16;

/// The `entropy` group configured for a run.
pub(crate) struct Entropy {
    /// `entropy_sample_bytes`.
    sample: u32,
    /// `c·log2 c` for the counts a sample can reach (0 for 0), so that an
    /// entropy costs one `log2` instead of one per distinct byte.
    clog: Vec<f64>,
}

impl Entropy {
    fn new(sample: u32) -> Entropy {
        let top = (2 * sample as usize).min(TABLE_MAX);
        let clog = (0..=top)
            .map(|c| {
                if c == 0 {
                    0.0
                } else {
                    c as f64 * (c as f64).log2()
                }
            })
            .collect();
        Entropy { sample, clog }
    }

    /// Shannon entropy in bits per byte of the bytes counted in `h`:
    /// log2(total) − Σ c·log2 c / total over the values present (0 when
    /// empty).
    fn entropy(&self, h: &Hist) -> f64 {
        let total = h.total;
        if total == 0 {
            return 0.0;
        }
        let clog = |c: u32| match self.clog.get(c as usize) {
            Some(&v) => v,
            None => f64::from(c) * f64::from(c).log2(),
        };
        let sum: f64 = h
            .present()
            .iter()
            .map(|&v| clog(h.counts[v as usize]))
            .sum();
        let t = total as f64;
        (t.log2() - sum / t).max(0.0)
    }
}

/// Byte counts of a sample, with the values present listed in order of
/// first appearance, so that sums over the values cost what the sample
/// holds, not 256 steps (most payloads sampled are short).
struct Hist {
    counts: [u32; 256],
    /// One more than the values there are: the branch-free `add` writes a
    /// byte past the last distinct value.
    values: [u8; 257],
    distinct: usize,
    total: u64,
}

impl Hist {
    fn new() -> Hist {
        Hist {
            counts: [0; 256],
            values: [0; 257],
            distinct: 0,
            total: 0,
        }
    }

    /// Count `bytes`.
    #[inline]
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let c = &mut self.counts[b as usize];
            // Branch-free: the value is written every time and kept only
            // when new (a branch would mispredict on random bytes).
            self.values[self.distinct] = b;
            self.distinct += usize::from(*c == 0);
            *c += 1;
        }
        self.total += bytes.len() as u64;
    }

    /// The counts of `self` and `other` together (without counting the
    /// bytes again).
    fn merged(&self, other: &Hist) -> Hist {
        let mut m = Hist {
            counts: self.counts,
            values: self.values,
            distinct: self.distinct,
            total: self.total + other.total,
        };
        for &v in other.present() {
            let c = &mut m.counts[v as usize];
            m.values[m.distinct] = v;
            m.distinct += usize::from(*c == 0);
            *c += other.counts[v as usize];
        }
        m
    }

    /// The values present.
    fn present(&self) -> &[u8] {
        &self.values[..self.distinct]
    }
}

/// Per-flow state: moments of the per-packet entropies and each
/// direction's sample (its first `entropy_sample_bytes` payload bytes, kept
/// as they are: at most that many bytes, nothing before the first payload;
/// counted when the flow ends).
#[derive(Debug, Default)]
pub(crate) struct EntropyState {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    high: u64,
    samples: [Vec<u8>; 2],
}

impl FeatureGroup for Entropy {
    type State = EntropyState;

    fn needs(&self) -> Needs {
        Needs {
            payload_bytes: self.sample,
            ..Needs::SUMMARY
        }
    }

    fn new_state(&self) -> EntropyState {
        EntropyState::default()
    }

    fn update(&self, st: &mut EntropyState, pkt: &PacketView<'_>) {
        let payload = pkt.payload();
        if payload.is_empty() {
            return;
        }
        let cut = &payload[..payload.len().min(self.sample as usize)];
        let mut hist = Hist::new();
        hist.add(cut);
        let h = self.entropy(&hist);
        // Welford's update.
        st.n += 1;
        let d = h - st.mean;
        st.mean += d / st.n as f64;
        st.m2 += d * (h - st.mean);
        if st.n == 1 {
            (st.min, st.max) = (h, h);
        } else {
            st.min = st.min.min(h);
            st.max = st.max.max(h);
        }
        st.high += u64::from(h > HIGH_ENTROPY_BITS);
        // The direction's sample: its first `sample` payload bytes.
        let kept = &mut st.samples[pkt.dir as usize];
        let room = (self.sample as usize).saturating_sub(kept.len());
        if room > 0 {
            kept.extend_from_slice(&payload[..payload.len().min(room)]);
        }
    }

    fn write(&self, _flow: &FlowView<'_>, st: &EntropyState, out: &mut RowWriter<'_>) {
        let n = st.n as f64;
        let std = if st.n == 0 { 0.0 } else { (st.m2 / n).sqrt() };
        let consistency = if st.n == 0 {
            0.0
        } else {
            (1.0 - ratio(std, st.mean)).max(0.0)
        };
        out.put(st.mean);
        out.put(std);
        out.put(st.min);
        out.put(st.max);
        out.put(consistency);
        out.put(if st.n == 0 { 0.0 } else { st.high as f64 / n });

        let total = (st.samples[0].len() + st.samples[1].len()) as u64;
        if total == 0 {
            // No payload: every byte-sample column is 0.
            for _ in 0..8 {
                out.put(0.0);
            }
            out.put(0i64);
            return;
        }
        let mut fwd = Hist::new();
        fwd.add(&st.samples[0]);
        let mut bwd = Hist::new();
        bwd.add(&st.samples[1]);
        let both = fwd.merged(&bwd);
        let l = total as f64;
        let (h_fwd, h_bwd) = (self.entropy(&fwd), self.entropy(&bwd));
        out.put(self.entropy(&both));
        out.put(h_fwd);
        out.put(h_bwd);
        out.put(ratio(h_fwd, h_bwd));
        out.put(if total >= u64::from(UNIFORMITY_MIN_BYTES) {
            // Σ over all 256 values of (c − L/256)²: the values present,
            // then the absent ones, each (L/256)².
            let e = l / 256.0;
            let present: f64 = both
                .present()
                .iter()
                .map(|&v| {
                    let d = f64::from(both.counts[v as usize]) - e;
                    d * d
                })
                .sum();
            let dev = present + (256 - both.distinct) as f64 * e * e;
            (1.0 - dev / (l * l)).max(0.0)
        } else {
            0.0
        });
        let share = |f: fn(u8) -> bool| {
            let k: u64 = both
                .present()
                .iter()
                .filter(|&&v| f(v))
                .map(|&v| u64::from(both.counts[v as usize]))
                .sum();
            k as f64 / l
        };
        out.put(share(|v| {
            (0x20..=0x7e).contains(&v) || matches!(v, 0x09 | 0x0a | 0x0d)
        }));
        out.put(share(|v| v == 0));
        out.put(share(|v| v >= 0x80));
        out.put(total as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{close, SplitMix};
    use super::super::{EndedSource, GroupStates, Value};
    use super::*;
    use crate::decode::decode;
    use crate::flow::{Direction, FlowTable, TableConfig};
    use std::collections::BTreeMap;

    /// Entropy as the textbook writes it: −Σ p·log₂ p over a byte count map.
    fn naive_entropy(b: &[u8]) -> f64 {
        let mut m: BTreeMap<u8, usize> = BTreeMap::new();
        for &x in b {
            *m.entry(x).or_default() += 1;
        }
        m.values()
            .map(|&c| c as f64 / b.len() as f64)
            .map(|p| -p * p.log2())
            .sum()
    }

    /// Packets as (from the initiator, captured payload).
    type Payloads = Vec<(bool, Vec<u8>)>;

    /// The whole row, two-pass from the raw payloads (`fwd`, bytes) in
    /// capture order, with sample size `k`.
    fn naive_row(pkts: &[(bool, Vec<u8>)], k: usize) -> Vec<f64> {
        let hs: Vec<f64> = pkts
            .iter()
            .filter(|p| !p.1.is_empty())
            .map(|p| naive_entropy(&p.1[..p.1.len().min(k)]))
            .collect();
        let n = hs.len() as f64;
        let (mean, std, min, max, cons, high) = if hs.is_empty() {
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        } else {
            let mean = hs.iter().sum::<f64>() / n;
            let std = (hs.iter().map(|h| (h - mean).powi(2)).sum::<f64>() / n).sqrt();
            let cons = if mean == 0.0 {
                1.0
            } else {
                (1.0 - std / mean).max(0.0)
            };
            (
                mean,
                std,
                hs.iter().copied().fold(f64::INFINITY, f64::min),
                hs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                cons,
                hs.iter().filter(|&&h| h > 7.0).count() as f64 / n,
            )
        };
        let sample = |fwd: bool| -> Vec<u8> {
            let all: Vec<u8> = pkts
                .iter()
                .filter(|p| p.0 == fwd)
                .flat_map(|p| p.1.iter().copied())
                .collect();
            all[..all.len().min(k)].to_vec()
        };
        let (a, b) = (sample(true), sample(false));
        let all = [a.clone(), b.clone()].concat();
        let l = all.len() as f64;
        let (ea, eb) = (naive_entropy(&a), naive_entropy(&b));
        let uniform = if all.len() >= 256 {
            let dev: f64 = (0..=255u8)
                .map(|v| (all.iter().filter(|&&x| x == v).count() as f64 - l / 256.0).powi(2))
                .sum();
            (1.0 - dev / (l * l)).max(0.0)
        } else {
            0.0
        };
        let share = |f: &dyn Fn(u8) -> bool| {
            if all.is_empty() {
                0.0
            } else {
                all.iter().filter(|&&x| f(x)).count() as f64 / l
            }
        };
        vec![
            mean,
            std,
            min,
            max,
            cons,
            high,
            naive_entropy(&all),
            ea,
            eb,
            if eb == 0.0 { ea } else { ea / eb },
            uniform,
            share(&|x| (32..=126).contains(&x) || x == 9 || x == 10 || x == 13),
            share(&|x| x == 0),
            share(&|x| x >= 128),
            l,
        ]
    }

    /// An Ethernet/IPv4 frame between 10.0.0.1:1000 and 10.0.0.2:80,
    /// TCP or UDP, from the initiator when `fwd`.
    fn frame(fwd: bool, udp: bool, payload: &[u8]) -> Vec<u8> {
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let (src, dst, sp, dp) = if fwd {
            (a, b, 1000, 80)
        } else {
            (b, a, 80, 1000)
        };
        let ip = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64);
        let mut v = Vec::new();
        if udp {
            ip.udp(sp, dp).write(&mut v, payload).unwrap();
        } else {
            ip.tcp(sp, dp, 1, 1000)
                .ack(1)
                .write(&mut v, payload)
                .unwrap();
        }
        v
    }

    /// The row of the one flow that `pkts` make, through decode and the
    /// flow table, with sample size `k`; floats, the count last.
    fn table_row(pkts: &[(bool, Vec<u8>)], udp: bool, k: u32) -> Vec<f64> {
        let cfg = Config {
            entropy_sample_bytes: k,
            ..Config::default()
        };
        let group = (DEF.build)(&cfg);
        assert_eq!(group.needs().payload_bytes, k);
        let arena = Arc::clone(&group).arena().unwrap();
        let mut table = FlowTable::new(
            TableConfig {
                idle_us: 60_000_000,
                active_us: None,
                tcp_close: true,
                max_flows: 0,
                evict_oldest: false,
                memory_flows: 0,
                memory_bytes: 0,
                per_flow_bytes: 0,
            },
            GroupStates::new(vec![arena], 0),
        );
        for (i, (fwd, p)) in pkts.iter().enumerate() {
            let f = frame(*fwd, udp, p);
            let d = decode(1, &f, f.len() as u32).unwrap();
            table.process(i as u64, 1_000 + i as i64, &d, &f);
        }
        table.flush();
        assert_eq!(table.finished().len(), 1);
        let mask = vec![true; COLUMNS.len()];
        let mut row = Vec::new();
        let flow = &table.finished()[0];
        table.states().write(
            0,
            0,
            &FlowView { flow },
            &mut RowWriter::new(&mut row, &mask),
        );
        row.iter()
            .map(|v| match v {
                Value::Float(x) => *x,
                Value::Int(i) => *i as f64,
                v => panic!("{v:?}"),
            })
            .collect()
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), COLUMNS.len());
        for ((c, g), w) in COLUMNS.iter().zip(got).zip(want) {
            assert!(close(*g, *w, 1e-9), "{}: got {g}, want {w}", c.name);
        }
    }

    #[test]
    fn hand_cases() {
        let col = |name: &str| COLUMNS.iter().position(|c| c.name == name).unwrap();
        let (mean, min, max) = (
            col("payload_entropy_mean"),
            col("payload_entropy_min"),
            col("payload_entropy_max"),
        );
        let distinct: Vec<u8> = (0..=255).collect();
        let two: Vec<u8> = (0..64)
            .map(|i| if i % 2 == 0 { b'a' } else { b'b' })
            .collect();
        for udp in [false, true] {
            // All zero → 0; 256 distinct values → 8; two symbols → 1.
            for (p, h) in [
                (vec![0u8; 100], 0.0),
                (distinct.clone(), 8.0),
                (two.clone(), 1.0),
            ] {
                let r = table_row(&[(true, p)], udp, 256);
                assert_eq!((r[mean], r[min], r[max]), (h, h, h), "udp {udp}");
                assert_eq!(r[col("entropy_consistency")], 1.0);
                assert_eq!(
                    r[col("high_entropy_ratio")],
                    if h > 7.0 { 1.0 } else { 0.0 }
                );
            }
            // The sample is cut: the first 16 of 0..=255 are 16 values, 4 bits.
            let r = table_row(&[(true, distinct.clone())], udp, 16);
            assert_eq!(r[mean], 4.0);
            assert_eq!(r[col("payload_bytes_sampled")], 16.0);
            // Packets without payload count nowhere; no payload at all → 0.
            let pkts = [(true, vec![]), (false, two.clone()), (true, vec![])];
            let r = table_row(&pkts, udp, 256);
            assert_eq!((r[mean], r[col("payload_entropy_std")]), (1.0, 0.0));
            assert_eq!(r[col("entropy_responder")], 1.0);
            assert_eq!(r[col("entropy_ratio")], 0.0);
            assert_close(&r, &naive_row(&pkts, 256));
            let r = table_row(&[(true, vec![]), (false, vec![])], udp, 256);
            assert!(r.iter().all(|&x| x == 0.0), "{r:?}");
        }
    }

    #[test]
    fn every_byte_value_many_times() {
        // All 256 values present, then more bytes: the list of values
        // present is full and must not overflow.
        let all: Vec<u8> = (0..2048).map(|i| (i * 7 % 256) as u8).collect();
        let pkts: Payloads = vec![(true, all.clone()), (false, all)];
        assert_close(&table_row(&pkts, false, 2048), &naive_row(&pkts, 2048));
    }

    #[test]
    fn random_payloads_match_the_naive_reference() {
        let mut rng = SplitMix(0xe17);
        for round in 0..60 {
            let k = [1, 7, 64, 256, 1000][round % 5];
            let n = rng.below(12);
            let pkts: Payloads = (0..n)
                .map(|_| {
                    // Alphabets from 1 to 256 values: low to high entropy.
                    let alphabet = 1 + rng.below(256);
                    let len = [0, 1, 5, 300, 1400][rng.below(5)] + rng.below(40);
                    let p = (0..len).map(|_| rng.below(alphabet) as u8).collect();
                    (rng.below(3) > 0, p)
                })
                .collect();
            let udp = round % 2 == 1;
            // The flow's first packet makes its initiator.
            let mut pkts = pkts;
            if let Some(p) = pkts.first_mut() {
                p.0 = true;
            }
            if pkts.is_empty() {
                pkts.push((true, vec![]));
            }
            assert_close(&table_row(&pkts, udp, k as u32), &naive_row(&pkts, k));
        }
    }

    #[test]
    fn only_an_entropy_run_keeps_frame_bytes() {
        let with = |f: &[&str]| {
            let cfg = Config {
                features: f.iter().map(|s| s.to_string()).collect(),
                ..Config::default()
            };
            crate::Pipeline::new(cfg).unwrap().needs().frame_bytes()
        };
        assert!(!with(&["flow_meta", "timing", "size"]));
        assert!(with(&["entropy"]));
        assert!(with(&["all"]));
    }

    /// The two HTTP connections of http.cap through the whole pipeline
    /// equal the naive reference over the payloads read from the capture
    /// directly (each connection keyed by its client port; the initiator
    /// sends its first packet).
    #[test]
    fn http_capture_matches_the_naive_reference() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures/http.cap");
        let mut conns: BTreeMap<u16, (u16, Payloads)> = BTreeMap::new();
        crate::capture::CaptureReader::open(&path)
            .unwrap()
            .for_each(
                |frame| {
                    let Ok(d) = decode(frame.link_type, frame.data, frame.orig_len) else {
                        return true;
                    };
                    if d.proto == 6 && (d.sport == 80 || d.dport == 80) {
                        let client = if d.sport == 80 { d.dport } else { d.sport };
                        let (first, pkts) = conns.entry(client).or_insert((d.sport, Vec::new()));
                        let view = PacketView::new(0, Direction::Fwd, &d, frame.data);
                        pkts.push((d.sport == *first, view.payload().to_vec()));
                    }
                    true
                },
                || {},
            )
            .unwrap();
        assert_eq!(conns.len(), 2);
        let cfg = Config {
            features: vec!["flow_meta".into(), "entropy".into()],
            ..Config::default()
        };
        let p = crate::Pipeline::new(cfg).unwrap();
        let mut sink = crate::output::VecSink::default();
        p.run(&[path], &mut sink, &mut crate::pipeline::Quiet)
            .unwrap();
        for (client, (_, pkts)) in &conns {
            assert!(pkts.iter().filter(|p| !p.1.is_empty()).count() >= 2);
            let rows: Vec<usize> = (0..sink.rows.len())
                .filter(|&i| {
                    sink.get(i, "protocol") == Some(&Value::Int(6))
                        && sink.get(i, "src_port") == Some(&Value::Int(i64::from(*client)))
                })
                .collect();
            assert_eq!(rows.len(), 1, "client port {client}");
            let got: Vec<f64> = COLUMNS
                .iter()
                .map(|c| match sink.get(rows[0], c.name) {
                    Some(Value::Float(x)) => *x,
                    Some(Value::Int(i)) => *i as f64,
                    v => panic!("{}: {v:?}", c.name),
                })
                .collect();
            let want = naive_row(pkts, 256);
            assert!(want[0] > 0.0);
            assert_close(&got, &want);
        }
    }

    /// The byte-sample columns equal the reference package's (joyfuljay
    /// 0.1.6.1, `extract(..., features=["flow_meta", "entropy"])`, values
    /// printed with `repr`) on the three flows of http.cap both cut alike.
    #[test]
    fn byte_sample_columns_equal_the_reference_package_on_http_cap() {
        let want: [(i64, [f64; 9]); 3] = [
            (
                3372,
                [
                    5.454555929957989,
                    5.262996882306541,
                    5.208837903947472,
                    1.0103975165589285,
                    0.9737701416015625,
                    1.0,
                    0.0,
                    0.0,
                    512.0,
                ],
            ),
            (
                3009,
                [
                    4.461901691266468,
                    3.883752149273789,
                    4.524023774252977,
                    0.8584729751812784,
                    0.0,
                    0.5233160621761658,
                    0.23834196891191708,
                    0.06735751295336788,
                    193.0,
                ],
            ),
            (
                3371,
                [
                    5.638570183988874,
                    5.11700573245185,
                    5.441896132878743,
                    0.9402983091749993,
                    0.9794692993164062,
                    1.0,
                    0.0,
                    0.0,
                    512.0,
                ],
            ),
        ];
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures/http.cap");
        let cfg = Config {
            features: vec!["flow_meta".into(), "entropy".into()],
            ..Config::default()
        };
        let mut sink = crate::output::VecSink::default();
        crate::Pipeline::new(cfg)
            .unwrap()
            .run(&[path], &mut sink, &mut crate::pipeline::Quiet)
            .unwrap();
        for (port, values) in want {
            let i = (0..sink.rows.len())
                .find(|&i| sink.get(i, "src_port") == Some(&Value::Int(port)))
                .unwrap();
            for (c, w) in COLUMNS[6..].iter().zip(values) {
                let g = match sink.get(i, c.name) {
                    Some(Value::Float(x)) => *x,
                    Some(Value::Int(n)) => *n as f64,
                    v => panic!("{v:?}"),
                };
                assert!(close(g, w, 1e-12), "{port} {}: got {g}, want {w}", c.name);
            }
        }
    }
}
