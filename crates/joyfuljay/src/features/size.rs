//! `size`: the distribution of a flow's packet lengths (IP-level, as
//! `flow_meta`'s bytes) and payload lengths (as its `payload_bytes_*`):
//! moments, order statistics, mode, payload share, per-direction means and,
//! on request, the raw length sequences (the packet-length features of
//! Moore & Zuev, "Discriminators for use in flow-based classification",
//! 2005). Definitions: `docs/semantics.md#size`.
//!
//! Everything is exact in bounded memory: packet lengths go into a sparse
//! histogram (one counter per distinct length, so at most 65 576 entries
//! and in practice a handful), from which the percentiles, the mode and the
//! central moments are computed at flow end; means and standard deviations
//! come from exact integer sums.

use super::stats::{div_or_zero, lerp, linear_ranks, shape, QUANTILES};
use super::{Column, ColumnType, FeatureGroup, FlowView, Gate, Group, GroupDef, RowWriter, Value};
use crate::config::Config;
use crate::packet::PacketView;
use smallvec::SmallVec;
use std::sync::Arc;

use ColumnType::{Int, IntList};
const BIDIRECTIONAL_SPLIT: Gate = Gate::on("bidirectional_split", |c| c.bidirectional_split);
/// The per-direction sequences too: gated on `include_raw_sequences` alone.
const RAW_SEQUENCES: Gate = Gate::on("include_raw_sequences", |c| c.include_raw_sequences);
const FLOAT: ColumnType = ColumnType::Float;

/// The `size` columns, in output order.
pub const COLUMNS: &[Column] = &[
    Column::always("pkt_len_mean", FLOAT, "bytes", "Mean IP-level packet length."),
    Column::always("pkt_len_std", FLOAT, "bytes", "Population standard deviation (ddof 0) of the IP-level packet lengths."),
    Column::always("pkt_len_min", Int, "bytes", "Smallest IP-level packet length."),
    Column::always("pkt_len_max", Int, "bytes", "Largest IP-level packet length."),
    Column::always("pkt_len_median", FLOAT, "bytes", "Median (p50) of the IP-level packet lengths, linear interpolation."),
    Column::always("pkt_len_mode", Int, "bytes", "Most frequent IP-level packet length; ties go to the smallest."),
    Column::always("pkt_len_p25", FLOAT, "bytes", "25th percentile of the IP-level packet lengths, linear interpolation (numpy's default)."),
    Column::always("pkt_len_p75", FLOAT, "bytes", "75th percentile of the IP-level packet lengths, linear interpolation."),
    Column::always("pkt_len_p90", FLOAT, "bytes", "90th percentile of the IP-level packet lengths, linear interpolation."),
    Column::always("pkt_len_p95", FLOAT, "bytes", "95th percentile of the IP-level packet lengths, linear interpolation."),
    Column::always("payload_len_mean", FLOAT, "bytes", "Mean payload length (bytes after the transport header) per packet."),
    Column::always("payload_len_std", FLOAT, "bytes", "Population standard deviation of the per-packet payload lengths."),
    Column::always("payload_len_total", Int, "bytes", "Payload bytes in both directions (equals payload_bytes_total)."),
    Column::always("payload_ratio", FLOAT, "", "payload_len_total / total IP-level bytes (0 when there are no bytes)."),
    Column::always("pkt_len_skew", FLOAT, "", "Fisher-Pearson skewness g1 of the packet lengths, no bias correction (0 when their std is 0)."),
    Column::always("pkt_len_kurtosis", FLOAT, "", "Excess kurtosis g2 of the packet lengths, no bias correction (0 when their std is 0)."),
    Column::always("pkt_len_cv", FLOAT, "", "Coefficient of variation pkt_len_std / pkt_len_mean (0 when the mean is 0)."),
    Column::describe("pkt_len_mean_fwd", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Mean IP-level length of initiator-to-responder packets."),
    Column::describe("pkt_len_mean_bwd", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Mean IP-level length of responder-to-initiator packets."),
    Column::describe("pkt_len_std_fwd", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Population standard deviation of the initiator-to-responder packet lengths."),
    Column::describe("pkt_len_std_bwd", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Population standard deviation of the responder-to-initiator packet lengths."),
    Column::describe("pkt_len_sequence", IntList, "bytes", RAW_SEQUENCES, "IP-level lengths of the first max_sequence_length packets, in capture order, unsigned and unpadded."),
    Column::describe("pkt_len_sequence_fwd", IntList, "bytes", RAW_SEQUENCES, "IP-level lengths of the first max_sequence_length initiator-to-responder packets."),
    Column::describe("pkt_len_sequence_bwd", IntList, "bytes", RAW_SEQUENCES, "IP-level lengths of the first max_sequence_length responder-to-initiator packets."),
    // The reference code's columns that the page lacks (names rule 2).
    Column::describe("pkt_len_fwd_min", Int, "bytes", BIDIRECTIONAL_SPLIT, "Smallest IP-level length of initiator-to-responder packets."),
    Column::describe("pkt_len_fwd_max", Int, "bytes", BIDIRECTIONAL_SPLIT, "Largest IP-level length of initiator-to-responder packets."),
    Column::describe("pkt_len_fwd_median", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Median IP-level length of initiator-to-responder packets, linear interpolation."),
    Column::describe("pkt_len_bwd_min", Int, "bytes", BIDIRECTIONAL_SPLIT, "Smallest IP-level length of responder-to-initiator packets; null without such packets.").or_null(),
    Column::describe("pkt_len_bwd_max", Int, "bytes", BIDIRECTIONAL_SPLIT, "Largest IP-level length of responder-to-initiator packets; null without such packets.").or_null(),
    Column::describe("pkt_len_bwd_median", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Median IP-level length of responder-to-initiator packets, linear interpolation (0 without such packets)."),
    Column::always("payload_len_min", Int, "bytes", "Smallest per-packet payload length (0 when a packet has none)."),
    Column::always("payload_len_max", Int, "bytes", "Largest per-packet payload length."),
    Column::describe("payload_len_fwd_mean", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Mean payload length of initiator-to-responder packets."),
    Column::describe("payload_len_fwd_std", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Population standard deviation of the initiator-to-responder payload lengths."),
    Column::describe("payload_len_bwd_mean", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Mean payload length of responder-to-initiator packets (0 without such packets)."),
    Column::describe("payload_len_bwd_std", FLOAT, "bytes", BIDIRECTIONAL_SPLIT, "Population standard deviation of the responder-to-initiator payload lengths."),
    Column::always("packets_with_payload", Int, "packets", "Packets with a payload length above 0."),
    Column::always("packets_with_payload_fwd", Int, "packets", "Initiator-to-responder packets with a payload length above 0."),
    Column::always("packets_with_payload_bwd", Int, "packets", "Responder-to-initiator packets with a payload length above 0."),
    Column::always("header_only_ratio", FLOAT, "", "Share of the flow's packets without payload."),
    Column::always("pkt_len_variance", FLOAT, "bytes^2", "Population variance (ddof 0) of the IP-level packet lengths (pkt_len_std squared)."),
    Column::always("dominant_pkt_ratio", FLOAT, "", "Share of the flow's packets whose IP-level length is the most frequent one (pkt_len_mode)."),
    Column::always("l7_bytes_fwd", Int, "bytes", "Payload bytes from initiator to responder (equals payload_bytes_fwd)."),
    Column::always("l7_bytes_bwd", Int, "bytes", "Payload bytes from responder to initiator (equals payload_bytes_bwd)."),
    Column::nullable("l7_pkt_min_fwd", Int, "bytes", "Smallest payload length of initiator-to-responder packets with payload; null without such packets."),
    Column::nullable("l7_pkt_max_fwd", Int, "bytes", "Largest payload length of initiator-to-responder packets; null without packets with payload."),
    Column::nullable("l7_pkt_min_bwd", Int, "bytes", "Smallest payload length of responder-to-initiator packets with payload; null without such packets."),
    Column::nullable("l7_pkt_max_bwd", Int, "bytes", "Largest payload length of responder-to-initiator packets; null without packets with payload."),
    Column::always("pkt_asymmetry", FLOAT, "", "(packets_fwd - packets_bwd) / (packets_fwd + packets_bwd)."),
    Column::always("byte_asymmetry", FLOAT, "", "(bytes_fwd - bytes_bwd) / (bytes_fwd + bytes_bwd), IP-level bytes (0 without bytes)."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "size",
    summary: "Packet and payload length statistics, mode, payload share, per-direction lengths and raw length sequences.",
    columns: COLUMNS,
    build,
};

fn build(cfg: &Config) -> Arc<dyn Group> {
    Arc::new(Size::from_config(cfg))
}

impl Size {
    /// The group configured by `cfg`.
    pub(crate) fn from_config(cfg: &Config) -> Size {
        Size {
            max_seq: cfg.max_sequence_length,
            keep_raw: cfg.include_raw_sequences,
            split: cfg.bidirectional_split,
        }
    }
}

/// The `size` group configured for a run.
pub(crate) struct Size {
    max_seq: usize,
    keep_raw: bool,
    /// `bidirectional_split`: keep per-direction histograms and payload sums.
    split: bool,
}

impl Size {
    fn state(&self) -> SizeState {
        SizeState {
            hist: SmallVec::new(),
            len: [Sums::default(); 2],
            payload: Sums::default(),
            payload_min: u32::MAX,
            payload_max: 0,
            with_payload: [0; 2],
            l7_min: [u32::MAX; 2],
            l7_max: [0; 2],
            dir: None,
            seq: Vec::new(),
            seq_dir: [Vec::new(), Vec::new()],
        }
    }
}

/// Exact count, sum and sum of squares of small integers.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: u64,
    s1: u128,
    s2: u128,
}

impl Sums {
    fn push(&mut self, x: u32) {
        let x = u128::from(x);
        self.n += 1;
        self.s1 += x;
        self.s2 += x * x;
    }

    fn plus(self, o: Sums) -> Sums {
        Sums {
            n: self.n + o.n,
            s1: self.s1 + o.s1,
            s2: self.s2 + o.s2,
        }
    }

    fn mean(&self) -> f64 {
        div_or_zero(self.s1 as f64, self.n as f64)
    }

    /// Population standard deviation: sqrt((n·Σx² − (Σx)²) / n²), the
    /// numerator in exact integers (it fits for any flow under 2^46
    /// packets; beyond, the same formula in floating point).
    fn std(&self) -> f64 {
        self.var().sqrt()
    }

    /// Population variance (nΣx² − (Σx)²) / n² (0 without values).
    fn var(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let n = u128::from(self.n);
        let nf = self.n as f64;
        let num = match (n.checked_mul(self.s2), self.s1.checked_mul(self.s1)) {
            (Some(a), Some(b)) => a.saturating_sub(b) as f64,
            _ => (nf * self.s2 as f64 - (self.s1 as f64).powi(2)).max(0.0),
        };
        num / (nf * nf)
    }
}

/// Per-flow state of the `size` group. Memory: fixed fields, one
/// `(length, count)` pair per distinct packet length, and the sequences the
/// configuration asks for, each at most `max_sequence_length` long.
pub struct SizeState {
    /// Sparse histogram of IP-level lengths, sorted by length.
    hist: Hist,
    /// IP-level length sums per direction.
    len: [Sums; 2],
    /// Payload length sums, both directions.
    payload: Sums,
    /// Smallest and largest payload length (`u32::MAX` and 0 before the
    /// first packet).
    payload_min: u32,
    payload_max: u32,
    /// Packets with payload per direction.
    with_payload: [u64; 2],
    /// Smallest and largest payload length of the packets with payload,
    /// per direction (`u32::MAX` and 0 before the first).
    l7_min: [u32; 2],
    l7_max: [u32; 2],
    /// Per-direction length histograms and payload sums, only with
    /// `bidirectional_split` (allocated at the first packet).
    dir: Option<Box<DirSizes>>,
    seq: Vec<u32>,
    seq_dir: [Vec<u32>; 2],
}

/// Histogram of lengths: `(length, count)` sorted by length.
type Hist = SmallVec<[(u32, u64); 2]>;

#[inline]
fn hist_add(h: &mut Hist, l: u32) {
    match h.binary_search_by_key(&l, |e| e.0) {
        Ok(i) => h[i].1 += 1,
        Err(i) => h.insert(i, (l, 1)),
    }
}

/// The length of 0-based rank `k` in `h` (`k` < its count).
fn hist_kth(h: &[(u32, u64)], mut k: u64) -> u32 {
    for &(len, c) in h {
        if k < c {
            return len;
        }
        k -= c;
    }
    h.last().map_or(0, |e| e.0)
}

/// Median of the lengths in `h` (`n` of them), linear interpolation; 0
/// without values.
fn hist_median(h: &[(u32, u64)], n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (lo, hi, t) = linear_ranks(n, 0.5);
    lerp(f64::from(hist_kth(h, lo)), f64::from(hist_kth(h, hi)), t)
}

/// What `bidirectional_split` adds per direction: the length histogram and
/// the payload sums.
struct DirSizes {
    hist: [Hist; 2],
    payload: [Sums; 2],
}

impl FeatureGroup for Size {
    type State = SizeState;

    /// The sequence lists at their full length (up to the next power of
    /// two), the per-direction histograms, and the default allowance (a
    /// length histogram past two distinct lengths spills to the heap).
    fn heap_bytes(&self) -> usize {
        use super::group::{ALLOC_OVERHEAD, DEFAULT_HEAP_BYTES};
        let cap = self.max_seq.next_power_of_two();
        let mut n = DEFAULT_HEAP_BYTES;
        if self.keep_raw {
            n += 3 * (cap * std::mem::size_of::<u32>() + ALLOC_OVERHEAD);
        }
        if self.split {
            n += std::mem::size_of::<DirSizes>() + ALLOC_OVERHEAD;
        }
        n
    }

    fn new_state(&self) -> SizeState {
        self.state()
    }

    fn prefetch(&self, st: &SizeState) {
        // The histogram's binary search starts in the middle (most flows
        // have few distinct lengths: one or two cache lines).
        let p = st.hist.as_ptr();
        crate::hint::prefetch(p);
        crate::hint::prefetch(p.wrapping_add(st.hist.len() / 2));
    }

    fn update(&self, st: &mut SizeState, pkt: &PacketView<'_>) {
        let l = pkt.ip_len();
        hist_add(&mut st.hist, l);
        let d = pkt.dir as usize;
        let p = pkt.payload_len();
        st.payload_min = st.payload_min.min(p);
        st.payload_max = st.payload_max.max(p);
        st.len[d].push(l);
        st.payload.push(p);
        if p > 0 {
            st.l7_min[d] = st.l7_min[d].min(p);
            st.l7_max[d] = st.l7_max[d].max(p);
            st.with_payload[d] += 1;
        }
        if self.split {
            let ds = st.dir.get_or_insert_with(|| {
                Box::new(DirSizes {
                    hist: [SmallVec::new(), SmallVec::new()],
                    payload: [Sums::default(); 2],
                })
            });
            hist_add(&mut ds.hist[d], l);
            ds.payload[d].push(p);
        }
        if self.keep_raw {
            if st.seq.len() < self.max_seq {
                st.seq.push(l);
            }
            if st.seq_dir[d].len() < self.max_seq {
                st.seq_dir[d].push(l);
            }
        }
    }

    fn write(&self, flow: &FlowView<'_>, st: &SizeState, out: &mut RowWriter<'_>) {
        self.write_row(flow, st, out);
    }
}

impl SizeState {
    /// The length of 0-based rank `k` (`k` < number of packets).
    fn kth(&self, k: u64) -> u32 {
        hist_kth(&self.hist, k)
    }

    /// The most frequent length, the smallest on ties (0 without packets).
    fn mode(&self) -> u32 {
        let mut best = (0, 0);
        for &(len, c) in &self.hist {
            if c > best.1 {
                best = (len, c);
            }
        }
        best.0
    }

    /// Central sums Σ(x − mean)^k, k = 2, 3, 4, over the histogram.
    fn central_sums(&self, mean: f64) -> (f64, f64, f64) {
        let (mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0);
        for &(len, c) in &self.hist {
            let d = f64::from(len) - mean;
            let d2 = d * d;
            let c = c as f64;
            s2 += c * d2;
            s3 += c * d2 * d;
            s4 += c * d2 * d2;
        }
        (s2, s3, s4)
    }
}

fn int_list(v: &[u32]) -> Value {
    Value::IntList(v.iter().map(|&x| i64::from(x)).collect())
}

impl Size {
    fn write_row(&self, flow: &FlowView<'_>, st: &SizeState, out: &mut RowWriter<'_>) {
        let all = st.len[0].plus(st.len[1]);
        let n = all.n;
        let mean = all.mean();
        let std = all.std();
        out.put(mean);
        out.put(std);
        out.put(i64::from(st.hist.first().map_or(0, |e| e.0)));
        out.put(i64::from(st.hist.last().map_or(0, |e| e.0)));
        let mut p = [0.0; 5];
        if n > 0 {
            for (o, q) in p.iter_mut().zip(QUANTILES) {
                let (lo, hi, t) = linear_ranks(n, q);
                *o = lerp(f64::from(st.kth(lo)), f64::from(st.kth(hi)), t);
            }
        }
        out.put(p[1]);
        out.put(i64::from(st.mode()));
        out.put(p[0]);
        out.put(p[2]);
        out.put(p[3]);
        out.put(p[4]);
        out.put(st.payload.mean());
        out.put(st.payload.std());
        let payload_total = flow.payload[0] + flow.payload[1];
        out.put(payload_total);
        out.put(div_or_zero(payload_total as f64, flow.total_bytes() as f64));
        let (s2, s3, s4) = st.central_sums(mean);
        let (skew, kurtosis) = shape(n as f64, s2, s3, s4);
        out.put(skew);
        out.put(kurtosis);
        out.put(div_or_zero(std, mean));
        out.put(st.len[0].mean());
        out.put(st.len[1].mean());
        out.put(st.len[0].std());
        out.put(st.len[1].std());
        out.put_with(|| int_list(&st.seq));
        out.put_with(|| int_list(&st.seq_dir[0]));
        out.put_with(|| int_list(&st.seq_dir[1]));

        for d in 0..2 {
            let h: &[(u32, u64)] = st.dir.as_ref().map_or(&[], |ds| &ds.hist[d]);
            let ext = |e: Option<&(u32, u64)>| e.map(|e| i64::from(e.0));
            if d == 0 {
                // The initiator always sent the first packet.
                out.put(ext(h.first()).unwrap_or(0));
                out.put(ext(h.last()).unwrap_or(0));
            } else {
                out.put(ext(h.first()));
                out.put(ext(h.last()));
            }
            out.put_with(|| hist_median(h, st.len[d].n));
        }
        out.put(if n == 0 { 0 } else { i64::from(st.payload_min) });
        out.put(i64::from(st.payload_max));
        for d in 0..2 {
            let s = st.dir.as_ref().map_or(Sums::default(), |ds| ds.payload[d]);
            out.put_with(|| s.mean());
            out.put_with(|| s.std());
        }
        let with_payload = st.with_payload[0] + st.with_payload[1];
        out.put(with_payload);
        out.put(st.with_payload[0]);
        out.put(st.with_payload[1]);
        out.put(div_or_zero((n - with_payload) as f64, n as f64));
        out.put(all.var());
        let top = st.hist.iter().map(|e| e.1).max().unwrap_or(0);
        out.put(div_or_zero(top as f64, n as f64));
        out.put(flow.payload[0]);
        out.put(flow.payload[1]);
        for d in 0..2 {
            let has = st.with_payload[d] > 0;
            out.put(has.then(|| i64::from(st.l7_min[d])));
            out.put(has.then(|| i64::from(st.l7_max[d])));
        }
        let asym = |a: u64, b: u64| div_or_zero(a as f64 - b as f64, (a + b) as f64);
        out.put(asym(flow.packets[0], flow.packets[1]));
        out.put(asym(flow.bytes[0], flow.bytes[1]));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{
        assert_row, close, compare_on_captures, feed, get, kurt, mean, obs, pct, pstd, row_of,
        skew, PacketObs, SplitMix,
    };
    use super::*;
    use crate::flow::Direction::{self, Bwd, Fwd};
    use std::collections::BTreeMap;

    // ---- A naive two-pass reference over the full lists.

    /// The full `size` row, computed the slow way.
    fn naive(pkts: &[PacketObs], cfg: &Config) -> Vec<Value> {
        let lens: Vec<f64> = pkts.iter().map(|p| f64::from(p.ip_len)).collect();
        let pay: Vec<f64> = pkts.iter().map(|p| f64::from(p.payload_len)).collect();
        let of = |d: Direction| -> Vec<f64> {
            pkts.iter()
                .filter(|p| p.dir == d)
                .map(|p| f64::from(p.ip_len))
                .collect()
        };
        let (fwd, bwd) = (of(Fwd), of(Bwd));
        let pay_of = |d: Direction| -> Vec<f64> {
            pkts.iter()
                .filter(|p| p.dir == d)
                .map(|p| f64::from(p.payload_len))
                .collect()
        };
        let l7_of =
            |d: Direction| -> Vec<f64> { pay_of(d).into_iter().filter(|&x| x > 0.0).collect() };
        let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
        for p in pkts {
            *counts.entry(p.ip_len).or_default() += 1;
        }
        let top = counts.values().copied().max().unwrap_or(0);
        let mode = counts
            .iter()
            .find(|(_, &c)| c == top)
            .map_or(0, |(&l, _)| l);
        let total_bytes: u64 = pkts.iter().map(|p| u64::from(p.ip_len)).sum();
        let total_pay: u64 = pkts.iter().map(|p| u64::from(p.payload_len)).sum();
        let m = mean(&lens);
        let sd = pstd(&lens);
        let l = cfg.max_sequence_length;
        let seq = |d: Option<Direction>| {
            Value::IntList(
                pkts.iter()
                    .filter(|p| d.is_none_or(|d| p.dir == d))
                    .take(l)
                    .map(|p| i64::from(p.ip_len))
                    .collect(),
            )
        };
        vec![
            Value::Float(m),
            Value::Float(sd),
            Value::Int(pkts.iter().map(|p| i64::from(p.ip_len)).min().unwrap_or(0)),
            Value::Int(pkts.iter().map(|p| i64::from(p.ip_len)).max().unwrap_or(0)),
            Value::Float(pct(&lens, 0.5)),
            Value::Int(i64::from(mode)),
            Value::Float(pct(&lens, 0.25)),
            Value::Float(pct(&lens, 0.75)),
            Value::Float(pct(&lens, 0.9)),
            Value::Float(pct(&lens, 0.95)),
            Value::Float(mean(&pay)),
            Value::Float(pstd(&pay)),
            Value::Int(total_pay as i64),
            Value::Float(if total_bytes == 0 {
                0.0
            } else {
                total_pay as f64 / total_bytes as f64
            }),
            Value::Float(skew(&lens)),
            Value::Float(kurt(&lens)),
            Value::Float(if m == 0.0 { 0.0 } else { sd / m }),
            Value::Float(mean(&fwd)),
            Value::Float(mean(&bwd)),
            Value::Float(pstd(&fwd)),
            Value::Float(pstd(&bwd)),
            seq(None),
            seq(Some(Fwd)),
            seq(Some(Bwd)),
            // The reference code's extra columns.
            int_or(extreme(&fwd, f64::min), Value::Int(0)),
            int_or(extreme(&fwd, f64::max), Value::Int(0)),
            Value::Float(pct(&fwd, 0.5)),
            int_or(extreme(&bwd, f64::min), Value::Null),
            int_or(extreme(&bwd, f64::max), Value::Null),
            Value::Float(pct(&bwd, 0.5)),
            int_or(extreme(&pay, f64::min), Value::Int(0)),
            int_or(extreme(&pay, f64::max), Value::Int(0)),
            Value::Float(mean(&pay_of(Fwd))),
            Value::Float(pstd(&pay_of(Fwd))),
            Value::Float(mean(&pay_of(Bwd))),
            Value::Float(pstd(&pay_of(Bwd))),
            Value::Int(nonzero(&pay) as i64),
            Value::Int(nonzero(&pay_of(Fwd)) as i64),
            Value::Int(nonzero(&pay_of(Bwd)) as i64),
            Value::Float(if pkts.is_empty() {
                0.0
            } else {
                (pkts.len() - nonzero(&pay)) as f64 / pkts.len() as f64
            }),
            Value::Float(sd * sd),
            Value::Float(if pkts.is_empty() {
                0.0
            } else {
                top as f64 / pkts.len() as f64
            }),
            Value::Int(pay_of(Fwd).iter().sum::<f64>() as i64),
            Value::Int(pay_of(Bwd).iter().sum::<f64>() as i64),
            int_or(extreme(&l7_of(Fwd), f64::min), Value::Null),
            int_or(extreme(&l7_of(Fwd), f64::max), Value::Null),
            int_or(extreme(&l7_of(Bwd), f64::min), Value::Null),
            int_or(extreme(&l7_of(Bwd), f64::max), Value::Null),
            Value::Float(asym(fwd.len() as f64, bwd.len() as f64)),
            Value::Float(asym(fwd.iter().sum(), bwd.iter().sum())),
        ]
    }

    fn extreme(v: &[f64], f: fn(f64, f64) -> f64) -> Option<f64> {
        v.iter().copied().reduce(f)
    }

    fn int_or(v: Option<f64>, none: Value) -> Value {
        v.map_or(none, |x| Value::Int(x as i64))
    }

    fn nonzero(v: &[f64]) -> usize {
        v.iter().filter(|&&x| x > 0.0).count()
    }

    fn asym(a: f64, b: f64) -> f64 {
        if a + b == 0.0 {
            0.0
        } else {
            (a - b) / (a + b)
        }
    }

    fn full_cfg(max_seq: usize) -> Config {
        Config {
            include_raw_sequences: true,
            bidirectional_split: true,
            max_sequence_length: max_seq,
            ..Config::default()
        }
    }

    fn check(pkts: &[PacketObs], cfg: &Config) -> Vec<Value> {
        let row = row_of(&DEF, cfg, pkts);
        assert_row(&DEF, &row, &naive(pkts, cfg), &[]);
        row
    }

    fn f(row: &[Value], name: &str) -> f64 {
        match get(&DEF, row, name) {
            Value::Float(x) => *x,
            v => panic!("{name}: {v:?}"),
        }
    }

    fn i(row: &[Value], name: &str) -> i64 {
        match get(&DEF, row, name) {
            Value::Int(x) => *x,
            v => panic!("{name}: {v:?}"),
        }
    }

    /// Packets 1 ms apart with the given (direction, IP length, payload).
    fn pkts_of(v: &[(Direction, u32, u32)]) -> Vec<PacketObs> {
        v.iter()
            .enumerate()
            .map(|(k, &(d, l, p))| obs(1_000_000 + 1000 * k as i64, d, l, p))
            .collect()
    }

    #[test]
    fn no_packets_give_zeros() {
        let row = check(&[], &full_cfg(50));
        assert!(row.iter().all(
            |v| matches!(v, Value::Float(0.0) | Value::Int(0) | Value::Null)
                || matches!(v, Value::IntList(l) if l.is_empty())
        ));
    }

    #[test]
    fn one_packet() {
        let row = check(&pkts_of(&[(Fwd, 60, 6)]), &full_cfg(50));
        for name in [
            "pkt_len_mean",
            "pkt_len_median",
            "pkt_len_p25",
            "pkt_len_p95",
        ] {
            assert_eq!(f(&row, name), 60.0, "{name}");
        }
        for name in ["pkt_len_min", "pkt_len_max", "pkt_len_mode"] {
            assert_eq!(i(&row, name), 60, "{name}");
        }
        assert_eq!(f(&row, "pkt_len_std"), 0.0);
        assert_eq!(f(&row, "pkt_len_skew"), 0.0);
        assert_eq!(f(&row, "pkt_len_kurtosis"), 0.0);
        assert_eq!(f(&row, "pkt_len_cv"), 0.0);
        assert_eq!(f(&row, "payload_ratio"), 0.1);
        assert_eq!(f(&row, "pkt_len_mean_bwd"), 0.0);
    }

    #[test]
    fn two_packets() {
        let row = check(&pkts_of(&[(Fwd, 60, 0), (Bwd, 1500, 1448)]), &full_cfg(50));
        assert_eq!(f(&row, "pkt_len_mean"), 780.0);
        assert_eq!(f(&row, "pkt_len_std"), 720.0);
        assert_eq!(f(&row, "pkt_len_median"), 780.0);
        assert_eq!(f(&row, "pkt_len_p25"), 420.0);
        assert_eq!(f(&row, "pkt_len_p90"), 1356.0);
        // Two values: g1 = 0, g2 = -2.
        assert_eq!(f(&row, "pkt_len_skew"), 0.0);
        assert_eq!(f(&row, "pkt_len_kurtosis"), -2.0);
        // Tie 60 vs 1500, one each: the smaller wins.
        assert_eq!(i(&row, "pkt_len_mode"), 60);
        assert_eq!(i(&row, "payload_len_total"), 1448);
        assert_eq!(f(&row, "payload_len_mean"), 724.0);
        assert_eq!(f(&row, "payload_len_std"), 724.0);
    }

    #[test]
    fn all_equal_sizes() {
        let pkts = pkts_of(&[(Fwd, 576, 536); 9]);
        let row = check(&pkts, &full_cfg(50));
        assert_eq!(f(&row, "pkt_len_std"), 0.0);
        assert_eq!(f(&row, "pkt_len_skew"), 0.0);
        assert_eq!(f(&row, "pkt_len_kurtosis"), 0.0);
        assert_eq!(f(&row, "pkt_len_cv"), 0.0);
        assert_eq!(f(&row, "pkt_len_p95"), 576.0);
        assert_eq!(i(&row, "pkt_len_mode"), 576);
        assert_eq!(f(&row, "payload_len_std"), 0.0);
        assert_eq!(f(&row, "pkt_len_mean_bwd"), 0.0);
    }

    #[test]
    fn mode_ties_go_to_the_smallest() {
        let pkts = pkts_of(&[
            (Fwd, 1500, 0),
            (Fwd, 52, 0),
            (Bwd, 1500, 0),
            (Bwd, 40, 0),
            (Fwd, 52, 0),
            (Bwd, 40, 0),
        ]);
        let row = check(&pkts, &full_cfg(50));
        assert_eq!(i(&row, "pkt_len_mode"), 40);
        assert_eq!(f(&row, "payload_ratio"), 0.0);
    }

    #[test]
    fn bidirectional_split() {
        // Fwd 60, 52, 52 (mean 164/3); Bwd 1500, 1500, 40, 1000 (mean 1010).
        let pkts = pkts_of(&[
            (Fwd, 60, 0),
            (Bwd, 1500, 1448),
            (Fwd, 52, 0),
            (Bwd, 1500, 1448),
            (Bwd, 40, 0),
            (Fwd, 52, 0),
            (Bwd, 1000, 948),
        ]);
        let row = check(&pkts, &full_cfg(50));
        assert!(close(f(&row, "pkt_len_mean_fwd"), 164.0 / 3.0, 1e-15));
        assert_eq!(f(&row, "pkt_len_mean_bwd"), 1010.0);
        let sd_fwd = ((2.0 * (52.0f64 - 164.0 / 3.0).powi(2) + (60.0f64 - 164.0 / 3.0).powi(2))
            / 3.0)
            .sqrt();
        assert!(close(f(&row, "pkt_len_std_fwd"), sd_fwd, 1e-15));
        // Bwd deviations 490, 490, -970, -10: variance (2·490² + 970² + 10²) / 4.
        let sd_bwd = ((2.0 * 490.0f64 * 490.0 + 970.0 * 970.0 + 100.0) / 4.0).sqrt();
        assert!(close(f(&row, "pkt_len_std_bwd"), sd_bwd, 1e-15));
        assert_eq!(
            get(&DEF, &row, "pkt_len_sequence_bwd"),
            &Value::IntList(vec![1500, 1500, 40, 1000])
        );
        // The reference code's columns, by hand.
        assert_eq!(i(&row, "pkt_len_fwd_min"), 52);
        assert_eq!(i(&row, "pkt_len_fwd_max"), 60);
        assert_eq!(f(&row, "pkt_len_fwd_median"), 52.0);
        assert_eq!(i(&row, "pkt_len_bwd_min"), 40);
        assert_eq!(i(&row, "pkt_len_bwd_max"), 1500);
        // Bwd sorted 40, 1000, 1500, 1500: rank 1.5 gives 1250.
        assert_eq!(f(&row, "pkt_len_bwd_median"), 1250.0);
        assert_eq!(i(&row, "payload_len_min"), 0);
        assert_eq!(i(&row, "payload_len_max"), 1448);
        assert_eq!(f(&row, "payload_len_fwd_mean"), 0.0);
        assert_eq!(f(&row, "payload_len_bwd_mean"), 961.0);
        assert_eq!(i(&row, "packets_with_payload"), 3);
        assert_eq!(i(&row, "packets_with_payload_fwd"), 0);
        assert_eq!(i(&row, "packets_with_payload_bwd"), 3);
        assert_eq!(f(&row, "header_only_ratio"), 4.0 / 7.0);
        // 52 and 1500 twice each.
        assert_eq!(f(&row, "dominant_pkt_ratio"), 2.0 / 7.0);
        assert_eq!(i(&row, "l7_bytes_fwd"), 0);
        assert_eq!(i(&row, "l7_bytes_bwd"), 3844);
        assert_eq!(get(&DEF, &row, "l7_pkt_min_fwd"), &Value::Null);
        assert_eq!(get(&DEF, &row, "l7_pkt_max_fwd"), &Value::Null);
        assert_eq!(i(&row, "l7_pkt_min_bwd"), 948);
        assert_eq!(i(&row, "l7_pkt_max_bwd"), 1448);
        assert_eq!(f(&row, "pkt_asymmetry"), -1.0 / 7.0);
        assert_eq!(f(&row, "byte_asymmetry"), -3876.0 / 4204.0);
        let v = f(&row, "pkt_len_std");
        assert!(close(f(&row, "pkt_len_variance"), v * v, 1e-12));
    }

    #[test]
    fn one_direction_has_nulls_for_the_other() {
        let row = check(&pkts_of(&[(Fwd, 60, 8), (Fwd, 52, 0)]), &full_cfg(50));
        assert_eq!(get(&DEF, &row, "pkt_len_bwd_min"), &Value::Null);
        assert_eq!(get(&DEF, &row, "pkt_len_bwd_max"), &Value::Null);
        assert_eq!(f(&row, "pkt_len_bwd_median"), 0.0);
        assert_eq!(i(&row, "l7_pkt_min_fwd"), 8);
        assert_eq!(get(&DEF, &row, "l7_pkt_min_bwd"), &Value::Null);
        assert_eq!(f(&row, "pkt_asymmetry"), 1.0);
        assert_eq!(f(&row, "byte_asymmetry"), 1.0);
    }

    #[test]
    fn sequences_stop_at_max_sequence_length() {
        let v: Vec<(Direction, u32, u32)> = (0..30)
            .map(|k| (if k % 3 == 0 { Bwd } else { Fwd }, 40 + k, 0))
            .collect();
        let row = check(&pkts_of(&v), &full_cfg(4));
        assert_eq!(
            get(&DEF, &row, "pkt_len_sequence"),
            &Value::IntList(vec![40, 41, 42, 43])
        );
        assert_eq!(
            get(&DEF, &row, "pkt_len_sequence_fwd"),
            &Value::IntList(vec![41, 42, 44, 45])
        );
        assert_eq!(
            get(&DEF, &row, "pkt_len_sequence_bwd"),
            &Value::IntList(vec![40, 43, 46, 49])
        );
    }

    #[test]
    fn long_flow_is_exact() {
        // 200 000 packets of random lengths 40..=1540 and payloads: the
        // histogram keeps everything exact; memory is one entry per length.
        let mut rng = SplitMix(42);
        let pkts: Vec<PacketObs> = (0..200_000)
            .map(|k| {
                let l = 40 + (rng.next_u64() % 1501) as u32;
                let d = if rng.unit() < 0.3 { Bwd } else { Fwd };
                obs(k, d, l, l - 40)
            })
            .collect();
        check(&pkts, &full_cfg(50));
        let ext = Size::from_config(&Config::default());
        let st = feed(&ext, &pkts);
        assert!(st.hist.len() <= 1501 && st.seq.is_empty());
    }

    #[test]
    fn jumbo_lengths_keep_exact_integer_sums() {
        // Largest IPv6 lengths (65535 + 40): sums of squares stay exact.
        let pkts = pkts_of(&[(Fwd, 65_575, 65_535), (Bwd, 40, 0), (Fwd, 65_575, 65_535)]);
        check(&pkts, &full_cfg(50));
    }

    /// Every flow of the shared captures (each 5-tuple one flow) equals
    /// the naive reference over its packets read straight from the file,
    /// with the default options and with every option on.
    #[test]
    fn shared_captures_match_the_naive_reference() {
        let mut n = 0;
        for cfg in [Config::default(), full_cfg(50)] {
            n += compare_on_captures(&DEF, &cfg, naive, |_| Vec::new());
        }
        assert!(n >= 2 * 400, "{n} flows");
    }

    // numpy 2.4.6 / scipy 1.17.1 on the lengths of `matches_numpy_and_scipy`.
    const NP: [(&str, f64); 9] = [
        ("pkt_len_mean", NP_MEAN),
        ("pkt_len_std", NP_STD),
        ("pkt_len_median", NP_MEDIAN),
        ("pkt_len_p25", NP_P25),
        ("pkt_len_p75", NP_P75),
        ("pkt_len_p90", NP_P90),
        ("pkt_len_p95", NP_P95),
        ("pkt_len_skew", NP_SKEW),
        ("pkt_len_kurtosis", NP_KURT),
    ];

    const NP_MEAN: f64 = 568.5833333333334;
    const NP_STD: f64 = 639.5204529350272;
    const NP_MEDIAN: f64 = 74.0;
    const NP_P25: f64 = 66.0;
    const NP_P75: f64 = 1434.0;
    const NP_P90: f64 = 1434.0;
    const NP_P95: f64 = 1463.7;
    const NP_SKEW: f64 = 0.5875580812398754;
    const NP_KURT: f64 = -1.5573540462861764;

    #[test]
    fn matches_numpy_and_scipy() {
        let lens = [74u32, 74, 66, 583, 1434, 66, 1434, 1434, 66, 52, 40, 1500];
        let v: Vec<(Direction, u32, u32)> = lens.iter().map(|&l| (Fwd, l, 0)).collect();
        let row = check(&pkts_of(&v), &full_cfg(50));
        for (name, want) in NP {
            assert!(
                close(f(&row, name), want, 1e-12),
                "{name}: {} vs {want}",
                f(&row, name)
            );
        }
        // 66 and 1434 occur 3 times each: the smaller wins.
        assert_eq!(i(&row, "pkt_len_mode"), 66);
    }
}
