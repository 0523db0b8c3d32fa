//! `timing`: inter-arrival times (IATs) between the packets of a flow, their
//! distribution and shape, burst structure, per-direction IATs and, on
//! request, the raw IAT sequences and SPLT (Sequence of Packet Lengths and
//! Times, from Cisco Joy: McGrew & Anderson, "Enhanced Telemetry for
//! Encrypted Threat Analytics", ICNP 2016). Definitions:
//! `docs/semantics.md#timing`.
//!
//! Packets are taken in capture order and an IAT is the signed difference
//! of consecutive timestamps (negative when a capture's clock steps back).
//! Memory per flow is bounded: mean, std, skewness and kurtosis are exact
//! streaming moments (Pébay, "Formulas for Robust, One-Pass Parallel
//! Computation of Covariances and Arbitrary-Order Statistical Moments",
//! SAND2008-6212, as in Terriberry's update); min and max are exact; the
//! first [`EXACT_IATS`] IATs are kept exactly for the percentiles, and past
//! that every IAT goes to a DDSketch (Masson, Rim & Lee, VLDB 2019) of
//! relative accuracy [`SKETCH_ALPHA`].

use super::stats::{div_or_zero, lerp, linear_ranks, shape, QUANTILES};
use super::{Column, ColumnType, FeatureGroup, FlowView, Gate, Group, GroupDef, RowWriter, Value};
use crate::config::Config;
use crate::packet::PacketView;
use smallvec::SmallVec;
use std::sync::Arc;

/// IATs kept exactly per flow (8 KiB); percentiles of flows with more IATs
/// come from the sketch.
pub const EXACT_IATS: usize = 1024;

/// Relative accuracy α of the IAT sketch: each order statistic it returns
/// is within α·|v| of the true value v. A percentile, which interpolates
/// between two order statistics `v_lo ≤ v_hi`, is within
/// α·max(|v_lo|, |v_hi|) of the exact one, so within α (1 %) relative error
/// when the IATs are not negative (timestamps in order).
pub const SKETCH_ALPHA: f64 = 0.01;

use ColumnType::{FloatList, Int, IntList, PairList};
const BIDIRECTIONAL_SPLIT: Gate = Gate::on("bidirectional_split", |c| c.bidirectional_split);
/// The per-direction sequences too: gated on `include_raw_sequences` alone.
const RAW_SEQUENCES: Gate = Gate::on("include_raw_sequences", |c| c.include_raw_sequences);
const SPLT: Gate = Gate::on("include_splt", |c| c.include_splt);
const FLOAT: ColumnType = ColumnType::Float;

/// The `timing` columns, in output order.
pub const COLUMNS: &[Column] = &[
    Column::always("iat_mean", FLOAT, "s", "Mean inter-arrival time between consecutive packets of the flow in capture order (0 with fewer than 2 packets)."),
    Column::always("iat_std", FLOAT, "s", "Population standard deviation (ddof 0) of the inter-arrival times."),
    Column::always("iat_min", FLOAT, "s", "Smallest inter-arrival time."),
    Column::always("iat_max", FLOAT, "s", "Largest inter-arrival time."),
    Column::always("iat_median", FLOAT, "s", "Median (p50) of the inter-arrival times, linear interpolation; from the sketch (within 1 %) past 1024 IATs."),
    Column::always("iat_p25", FLOAT, "s", "25th percentile of the inter-arrival times, linear interpolation; from the sketch (within 1 %) past 1024 IATs."),
    Column::always("iat_p75", FLOAT, "s", "75th percentile of the inter-arrival times, linear interpolation; from the sketch (within 1 %) past 1024 IATs."),
    Column::always("iat_p90", FLOAT, "s", "90th percentile of the inter-arrival times, linear interpolation; from the sketch (within 1 %) past 1024 IATs."),
    Column::always("iat_p95", FLOAT, "s", "95th percentile of the inter-arrival times, linear interpolation; from the sketch (within 1 %) past 1024 IATs."),
    Column::always("iat_skew", FLOAT, "", "Fisher-Pearson skewness g1 of the inter-arrival times, no bias correction (0 when their std is 0)."),
    Column::always("iat_kurtosis", FLOAT, "", "Excess kurtosis g2 of the inter-arrival times, no bias correction (0 when their std is 0)."),
    Column::always("iat_cv", FLOAT, "", "Coefficient of variation iat_std / iat_mean (0 when the mean is 0)."),
    Column::always("burst_count", Int, "bursts", "Bursts: the packets split at every inter-arrival time of at least burst_threshold_ms (1 + number of such gaps)."),
    Column::always("burst_mean_size", FLOAT, "packets", "Mean number of packets per burst."),
    Column::always("burst_mean_duration", FLOAT, "s", "Mean over bursts of the time from the burst's first to its last packet."),
    Column::always("inter_burst_gap_mean", FLOAT, "s", "Mean of the inter-arrival times of at least burst_threshold_ms (0 if none)."),
    Column::describe("iat_mean_fwd", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Mean time between consecutive initiator-to-responder packets."),
    Column::describe("iat_mean_bwd", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Mean time between consecutive responder-to-initiator packets."),
    Column::describe("iat_std_fwd", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Population standard deviation of the times between consecutive initiator-to-responder packets."),
    Column::describe("iat_std_bwd", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Population standard deviation of the times between consecutive responder-to-initiator packets."),
    Column::describe("iat_sequence", FloatList, "s", RAW_SEQUENCES, "The first max_sequence_length inter-arrival times, in capture order, unpadded."),
    Column::describe("iat_sequence_fwd", FloatList, "s", RAW_SEQUENCES, "The first max_sequence_length times between consecutive initiator-to-responder packets."),
    Column::describe("iat_sequence_bwd", FloatList, "s", RAW_SEQUENCES, "The first max_sequence_length times between consecutive responder-to-initiator packets."),
    Column::describe("splt", PairList, "(bytes, s)", SPLT, "For the first max_sequence_length packets: (IP-level length, time since the flow's previous packet, 0 for the first)."),
    // The reference code's columns that the page lacks (names rule 2).
    Column::always("iat_sum", FLOAT, "s", "Sum of the inter-arrival times: last minus first packet timestamp in capture order (0 with fewer than 2 packets)."),
    Column::always("iat_p99", FLOAT, "s", "99th percentile of the inter-arrival times, linear interpolation; from the sketch (within 1 %) past 1024 IATs."),
    Column::describe("iat_fwd_min", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Smallest time between consecutive initiator-to-responder packets (0 with fewer than 2)."),
    Column::describe("iat_fwd_max", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Largest time between consecutive initiator-to-responder packets (0 with fewer than 2)."),
    Column::describe("iat_fwd_median", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Median of the times between consecutive initiator-to-responder packets, linear interpolation; from the sketch (within 1 %) past 1024."),
    Column::describe("iat_bwd_min", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Smallest time between consecutive responder-to-initiator packets (0 with fewer than 2)."),
    Column::describe("iat_bwd_max", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Largest time between consecutive responder-to-initiator packets (0 with fewer than 2)."),
    Column::describe("iat_bwd_median", FLOAT, "s", BIDIRECTIONAL_SPLIT, "Median of the times between consecutive responder-to-initiator packets, linear interpolation; from the sketch (within 1 %) past 1024."),
    Column::describe("burstiness_index_fwd", FLOAT, "", BIDIRECTIONAL_SPLIT, "Coefficient of variation iat_std_fwd / iat_mean_fwd (0 when the mean is 0)."),
    Column::describe("burstiness_index_bwd", FLOAT, "", BIDIRECTIONAL_SPLIT, "Coefficient of variation iat_std_bwd / iat_mean_bwd (0 when the mean is 0)."),
    Column::always("max_burst_packets", Int, "packets", "Packets in the largest burst (0 without packets)."),
    Column::always("idle_count", Int, "gaps", "Idle periods: inter-arrival times of at least burst_threshold_ms (burst_count - 1 for a flow with packets)."),
    Column::always("max_idle_duration", FLOAT, "s", "Largest inter-arrival time of at least burst_threshold_ms (0 if none)."),
    Column::nullable("first_response_time", FLOAT, "s", "Time from the flow's first packet to the first responder-to-initiator packet; null when the responder sent nothing."),
    Column::describe("timestamp_sequence", FloatList, "s", RAW_SEQUENCES, "Times of the first max_sequence_length packets since the flow's first packet in capture order (0.0 first), unpadded."),
    Column::describe("splt_directions", IntList, "", SPLT, "Directions of the packets of splt: 1 initiator to responder, -1 responder to initiator."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "timing",
    summary:
        "Inter-arrival time statistics, bursts, per-direction IATs, raw IAT sequences and SPLT.",
    columns: COLUMNS,
    build,
};

fn build(cfg: &Config) -> Arc<dyn Group> {
    Arc::new(Timing::from_config(cfg))
}

impl Timing {
    /// The group configured by `cfg`.
    pub(crate) fn from_config(cfg: &Config) -> Timing {
        Timing {
            threshold_us: cfg.burst_threshold_ms * 1000.0,
            max_seq: cfg.max_sequence_length,
            keep_raw: cfg.include_raw_sequences,
            keep_splt: cfg.include_splt,
            split: cfg.bidirectional_split,
        }
    }
}

/// The `timing` group configured for a run.
pub(crate) struct Timing {
    /// `burst_threshold_ms` in microseconds.
    threshold_us: f64,
    max_seq: usize,
    keep_raw: bool,
    keep_splt: bool,
    /// `bidirectional_split`: keep the per-direction order statistics.
    split: bool,
}

impl Timing {
    fn state(&self) -> TimingState {
        TimingState {
            packets: 0,
            last_us: 0,
            last_dir_us: [None; 2],
            iat: Moments::default(),
            quant: Quantiles::Exact(SmallVec::new()),
            gaps: 0,
            gap_sum_us: 0,
            max_gap_us: 0,
            burst_len: 0,
            max_burst: 0,
            first_bwd_us: 0,
            dir: [MeanStd::default(); 2],
            dir_order: None,
            seq: Vec::new(),
            seq_dir: [Vec::new(), Vec::new()],
            splt: Vec::new(),
        }
    }
}

/// Microseconds to seconds.
fn secs(us: f64) -> f64 {
    us / 1e6
}

/// Exact streaming moments of integer values (µs): count, exact sum, min,
/// max, and the central sums M2..M4 by the one-pass update of Pébay /
/// Terriberry, which never subtracts large nearly equal numbers. Count,
/// sum, mean and M2 are a [`MeanStd`]'s.
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    base: MeanStd,
    min: i64,
    max: i64,
    m3: f64,
    m4: f64,
}

impl Moments {
    fn push(&mut self, x: i64) {
        if self.base.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        // M3 and M4 are updated from the previous M2 and M3.
        let m2 = self.base.m2;
        let (n, dn, term1) = self.base.push(x);
        let dn2 = dn * dn;
        self.m4 += term1 * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * m2 - 4.0 * dn * self.m3;
        self.m3 += term1 * dn * (n - 2.0) - 3.0 * dn * m2;
    }
}

/// Count, exact sum, mean and the second central sum M2 (the per-direction
/// IATs report mean and std only; [`Moments`] adds the rest).
#[derive(Debug, Clone, Copy, Default)]
struct MeanStd {
    n: u64,
    sum: i128,
    mean: f64,
    m2: f64,
}

impl MeanStd {
    /// Add `x`; returns the new count, the mean's step `δ/n` and M2's step
    /// `δ²(n−1)/n`, which the higher moments' update reads.
    fn push(&mut self, x: i64) -> (f64, f64, f64) {
        self.sum += i128::from(x);
        let n1 = self.n as f64;
        self.n += 1;
        let n = self.n as f64;
        let delta = x as f64 - self.mean;
        let dn = delta / n;
        let term1 = delta * dn * n1;
        self.mean += dn;
        self.m2 += term1;
        (n, dn, term1)
    }

    /// Mean in µs, from the exact sum (0 without values).
    fn mean_us(&self) -> f64 {
        div_or_zero(self.sum as f64, self.n as f64)
    }

    /// Population standard deviation in µs.
    fn std_us(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2.max(0.0) / self.n as f64).sqrt()
        }
    }
}

/// The IATs behind the percentiles: exact while few, then a sketch.
enum Quantiles {
    /// Inline up to four IATs (short flows allocate nothing).
    Exact(SmallVec<[i64; 4]>),
    Sketch(Box<DdSketch>),
}

impl Quantiles {
    fn push(&mut self, x: i64) {
        match self {
            Quantiles::Exact(v) if v.len() < EXACT_IATS => v.push(x),
            Quantiles::Exact(v) => {
                let mut s = DdSketch::new();
                for &y in v.iter() {
                    s.add(y);
                }
                s.add(x);
                *self = Quantiles::Sketch(Box::new(s));
            }
            Quantiles::Sketch(s) => s.add(x),
        }
    }

    /// The percentiles `qs` (fractions) in seconds, given the exact count,
    /// min and max (µs); zeros without values.
    fn percentiles<const N: usize>(&self, qs: [f64; N], n: u64, min: i64, max: i64) -> [f64; N] {
        let mut out = [0.0; N];
        if n == 0 {
            return out;
        }
        match self {
            Quantiles::Exact(v) => {
                let mut sorted = v.clone();
                sorted.sort_unstable();
                let at = |k: u64| secs(sorted[k as usize] as f64);
                for (o, q) in out.iter_mut().zip(qs) {
                    let (lo, hi, t) = linear_ranks(n, q);
                    *o = lerp(at(lo), at(hi), t);
                }
            }
            Quantiles::Sketch(s) => {
                // Clamping to the exact range never moves an estimate away
                // from the true order statistic, which lies in that range.
                let at = |k: u64| secs(s.value_at_rank(k).clamp(min as f64, max as f64));
                for (o, q) in out.iter_mut().zip(qs) {
                    let (lo, hi, t) = linear_ranks(n, q);
                    *o = lerp(at(lo), at(hi), t);
                }
            }
        }
        out
    }
}

/// γ = (1 + α) / (1 − α): bucket `i` holds magnitudes in (γ^(i-1), γ^i].
const GAMMA: f64 = (1.0 + SKETCH_ALPHA) / (1.0 - SKETCH_ALPHA);

/// A DDSketch over integer microseconds: zeros counted apart, positive and
/// negative values in log-spaced buckets of their magnitude. Magnitudes are
/// ≥ 1 µs and below 2^63 µs, so bucket indices lie in 0..2200 and each
/// store holds fewer than 2200 counters (17 KiB). Mergeable by adding
/// counters bucket by bucket.
#[derive(Debug, Clone)]
struct DdSketch {
    inv_ln_gamma: f64,
    pos: Store,
    neg: Store,
    zeros: u64,
}

/// Dense bucket counters from index `offset` on.
#[derive(Debug, Clone, Default)]
struct Store {
    offset: i32,
    counts: Vec<u64>,
}

impl Store {
    fn add(&mut self, i: i32) {
        if self.counts.is_empty() {
            self.offset = i;
            self.counts.push(1);
            return;
        }
        if i < self.offset {
            let grow = (self.offset - i) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = i;
        }
        let k = (i - self.offset) as usize;
        if k >= self.counts.len() {
            self.counts.resize(k + 1, 0);
        }
        self.counts[k] += 1;
    }
}

impl DdSketch {
    fn new() -> Self {
        DdSketch {
            inv_ln_gamma: 1.0 / GAMMA.ln(),
            pos: Store::default(),
            neg: Store::default(),
            zeros: 0,
        }
    }

    fn index(&self, magnitude: f64) -> i32 {
        (magnitude.ln() * self.inv_ln_gamma).ceil() as i32
    }

    /// The value that represents bucket `i`: within α of everything in it.
    fn value(i: i32) -> f64 {
        2.0 * GAMMA.powi(i) / (GAMMA + 1.0)
    }

    fn add(&mut self, x: i64) {
        match x {
            0 => self.zeros += 1,
            x if x > 0 => {
                let i = self.index(x as f64);
                self.pos.add(i);
            }
            x => {
                let i = self.index((x as f64).abs());
                self.neg.add(i);
            }
        }
    }

    /// Estimate (µs) of the order statistic of 0-based rank `k`.
    fn value_at_rank(&self, mut k: u64) -> f64 {
        for (j, &c) in self.neg.counts.iter().enumerate().rev() {
            if k < c {
                return -Self::value(self.neg.offset + j as i32);
            }
            k -= c;
        }
        if k < self.zeros {
            return 0.0;
        }
        k -= self.zeros;
        for (j, &c) in self.pos.counts.iter().enumerate() {
            if k < c {
                return Self::value(self.pos.offset + j as i32);
            }
            k -= c;
        }
        // Rank past the end: the largest bucket.
        match self.pos.counts.len() {
            0 => 0.0,
            len => Self::value(self.pos.offset + len as i32 - 1),
        }
    }
}

/// Per-flow state of the `timing` group. Memory: fixed fields, at most
/// [`EXACT_IATS`] exact IATs or one sketch, and the sequences the
/// configuration asks for, each at most `max_sequence_length` long.
pub struct TimingState {
    packets: u64,
    /// Timestamp of the previous packet (capture order).
    last_us: i64,
    /// Timestamp of the previous packet per direction.
    last_dir_us: [Option<i64>; 2],
    /// All IATs (µs).
    iat: Moments,
    quant: Quantiles,
    /// IATs of at least the burst threshold: count, exact sum and the
    /// largest (µs; 0 while there is none).
    gaps: u64,
    gap_sum_us: i128,
    max_gap_us: i64,
    /// Packets in the current burst and in the largest so far.
    burst_len: u64,
    max_burst: u64,
    /// Timestamp of the first responder packet (meaningful once
    /// `last_dir_us[1]` is set).
    first_bwd_us: i64,
    /// Per-direction IATs (µs).
    dir: [MeanStd; 2],
    /// Per-direction min, max and percentile store, only with
    /// `bidirectional_split` (allocated at the first per-direction IAT).
    dir_order: Option<Box<DirOrder>>,
    seq: Vec<i64>,
    seq_dir: [Vec<i64>; 2],
    /// (IP length, direction ±1, IAT µs) of the first packets.
    splt: Vec<(u32, i8, i64)>,
}

/// Order statistics of the per-direction IATs (µs): min, max and the
/// values behind the median, as for all IATs.
struct DirOrder {
    min: [i64; 2],
    max: [i64; 2],
    quant: [Quantiles; 2],
}

impl DirOrder {
    fn push(&mut self, d: usize, n_before: u64, iat: i64) {
        if n_before == 0 {
            self.min[d] = iat;
            self.max[d] = iat;
        } else {
            self.min[d] = self.min[d].min(iat);
            self.max[d] = self.max[d].max(iat);
        }
        self.quant[d].push(iat);
    }
}

/// The percentiles of [`QUANTILES`] and p99.
const IAT_QUANTILES: [f64; 6] = [
    QUANTILES[0],
    QUANTILES[1],
    QUANTILES[2],
    QUANTILES[3],
    QUANTILES[4],
    0.99,
];

impl FeatureGroup for Timing {
    type State = TimingState;

    fn new_state(&self) -> TimingState {
        self.state()
    }

    /// The sequence lists at their full length (a growing list may hold
    /// up to the next power of two), the per-direction order statistics,
    /// and the default allowance; not the exact IAT store of flows past
    /// four IATs (up to `EXACT_IATS` values, then a sketch), which few
    /// flows reach.
    fn heap_bytes(&self) -> usize {
        use super::group::{ALLOC_OVERHEAD, DEFAULT_HEAP_BYTES};
        let cap = self.max_seq.next_power_of_two();
        let mut n = DEFAULT_HEAP_BYTES;
        if self.keep_raw {
            n += 3 * (cap * std::mem::size_of::<i64>() + ALLOC_OVERHEAD);
        }
        if self.keep_splt {
            n += cap * std::mem::size_of::<(u32, i8, i64)>() + ALLOC_OVERHEAD;
        }
        if self.split {
            n += std::mem::size_of::<DirOrder>() + ALLOC_OVERHEAD;
        }
        n
    }

    fn prefetch(&self, st: &TimingState) {
        if let Quantiles::Exact(v) = &st.quant {
            // Where the next IAT goes.
            crate::hint::prefetch(v.as_ptr().wrapping_add(v.len()));
        }
    }

    fn update(&self, st: &mut TimingState, pkt: &PacketView<'_>) {
        let iat = if st.packets == 0 {
            None
        } else {
            Some(pkt.ts_us.saturating_sub(st.last_us))
        };
        if let Some(iat) = iat {
            st.iat.push(iat);
            st.quant.push(iat);
            if iat as f64 >= self.threshold_us {
                // Gaps are positive (the threshold is), so 0 is a floor.
                st.max_gap_us = st.max_gap_us.max(iat);
                st.gaps += 1;
                st.gap_sum_us += i128::from(iat);
                st.burst_len = 1;
            } else {
                st.burst_len += 1;
            }
            if self.keep_raw && st.seq.len() < self.max_seq {
                st.seq.push(iat);
            }
        } else {
            st.burst_len = 1;
        }
        st.max_burst = st.max_burst.max(st.burst_len);
        if self.keep_splt && st.splt.len() < self.max_seq {
            let dir = if pkt.dir == crate::packet::Direction::Fwd {
                1
            } else {
                -1
            };
            st.splt.push((pkt.ip_len(), dir, iat.unwrap_or(0)));
        }
        let d = pkt.dir as usize;
        if let Some(prev) = st.last_dir_us[d] {
            let iat = pkt.ts_us.saturating_sub(prev);
            if self.split {
                let n_before = st.dir[d].n;
                st.dir_order
                    .get_or_insert_with(|| {
                        Box::new(DirOrder {
                            min: [0; 2],
                            max: [0; 2],
                            quant: [
                                Quantiles::Exact(SmallVec::new()),
                                Quantiles::Exact(SmallVec::new()),
                            ],
                        })
                    })
                    .push(d, n_before, iat);
            }
            st.dir[d].push(iat);
            if self.keep_raw && st.seq_dir[d].len() < self.max_seq {
                st.seq_dir[d].push(iat);
            }
        } else if d == 1 {
            st.first_bwd_us = pkt.ts_us;
        }
        st.last_dir_us[d] = Some(pkt.ts_us);
        st.last_us = pkt.ts_us;
        st.packets += 1;
    }

    fn write(&self, flow: &FlowView<'_>, st: &TimingState, out: &mut RowWriter<'_>) {
        self.write_row(flow, st, out);
    }
}

fn seconds_list(v: &[i64]) -> Value {
    Value::FloatList(v.iter().map(|&x| secs(x as f64)).collect())
}

/// The first `max_seq` packets' times since the first packet, from the
/// IATs kept in capture order (the i-th time is the sum of the first i
/// IATs: exact, in µs, until converted). Only the IATs kept count: with
/// `include_raw_sequences` off none are, and the column is not written.
fn timestamps(seq: &[i64], max_seq: usize, packets: u64) -> Value {
    let n = packets.min(max_seq as u64).min(seq.len() as u64 + 1) as usize;
    let mut t = 0i64;
    let mut out = Vec::with_capacity(n);
    out.extend((n > 0).then_some(0.0));
    for &iat in seq.iter().take(n.saturating_sub(1)) {
        t = t.saturating_add(iat);
        out.push(secs(t as f64));
    }
    Value::FloatList(out)
}

impl Timing {
    fn write_row(&self, flow: &FlowView<'_>, st: &TimingState, out: &mut RowWriter<'_>) {
        let m = &st.iat;
        let b = &m.base;
        let mean = secs(b.mean_us());
        let std = secs(b.std_us());
        out.put(mean);
        out.put(std);
        out.put(secs(m.min as f64));
        out.put(secs(m.max as f64));
        let p = st.quant.percentiles(IAT_QUANTILES, b.n, m.min, m.max);
        out.put(p[1]);
        out.put(p[0]);
        out.put(p[2]);
        out.put(p[3]);
        out.put(p[4]);
        let (skew, kurtosis) = shape(b.n as f64, b.m2, m.m3, m.m4);
        out.put(skew);
        out.put(kurtosis);
        out.put(div_or_zero(std, mean));

        let bursts = if st.packets == 0 { 0 } else { st.gaps + 1 };
        out.put(bursts);
        out.put(div_or_zero(st.packets as f64, bursts as f64));
        // A burst lasts the sum of the IATs inside it; those are all the
        // IATs except the gaps.
        let inside_us = b.sum - st.gap_sum_us;
        out.put(secs(div_or_zero(inside_us as f64, bursts as f64)));
        out.put(secs(div_or_zero(st.gap_sum_us as f64, st.gaps as f64)));

        let [fwd, bwd] = &st.dir;
        out.put(secs(fwd.mean_us()));
        out.put(secs(bwd.mean_us()));
        out.put(secs(fwd.std_us()));
        out.put(secs(bwd.std_us()));

        out.put_with(|| seconds_list(&st.seq));
        out.put_with(|| seconds_list(&st.seq_dir[0]));
        out.put_with(|| seconds_list(&st.seq_dir[1]));
        out.put_with(|| {
            Value::PairList(
                st.splt
                    .iter()
                    .map(|&(len, _, iat)| (i64::from(len), secs(iat as f64)))
                    .collect(),
            )
        });

        out.put(secs(b.sum as f64));
        out.put(p[5]);
        for d in 0..2 {
            let n = st.dir[d].n;
            match &st.dir_order {
                Some(o) if n > 0 => {
                    out.put(secs(o.min[d] as f64));
                    out.put(secs(o.max[d] as f64));
                    out.put_with(|| o.quant[d].percentiles([0.5], n, o.min[d], o.max[d])[0]);
                }
                _ => {
                    out.put(0.0);
                    out.put(0.0);
                    out.put(0.0);
                }
            }
        }
        for d in &st.dir {
            out.put_with(|| div_or_zero(secs(d.std_us()), secs(d.mean_us())));
        }
        out.put(st.max_burst);
        out.put(st.gaps);
        out.put(secs(st.max_gap_us as f64));
        out.put(
            st.last_dir_us[1].map(|_| secs(st.first_bwd_us.saturating_sub(flow.first_us) as f64)),
        );
        out.put_with(|| timestamps(&st.seq, self.max_seq, st.packets));
        out.put_with(|| Value::IntList(st.splt.iter().map(|&(_, d, _)| i64::from(d)).collect()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{
        assert_row, close, compare_on_captures, feed, get, kurt, mean, obs, pct, pstd, row_of,
        skew, PacketObs, SplitMix,
    };
    use super::*;
    use crate::flow::Direction::{Bwd, Fwd};

    // ---- A naive two-pass reference over the full lists, independent of
    // ---- the streaming code above.

    /// numpy.percentile(v, 100 q), method "linear".
    /// IATs in µs (whole numbers, so sums of equal values stay exact).
    fn diffs_us(ts: &[i64]) -> Vec<f64> {
        ts.windows(2).map(|w| (w[1] - w[0]) as f64).collect()
    }

    fn diffs(ts: &[i64]) -> Vec<f64> {
        diffs_us(ts).iter().map(|x| x / 1e6).collect()
    }

    /// The full `timing` row, computed the slow way.
    fn naive(pkts: &[PacketObs], cfg: &Config) -> Vec<Value> {
        let ts: Vec<i64> = pkts.iter().map(|p| p.ts_us).collect();
        let iat = diffs(&ts);
        let dir_ts = |d| -> Vec<i64> {
            pkts.iter()
                .filter(|p| p.dir == d)
                .map(|p| p.ts_us)
                .collect()
        };
        let (fwd, bwd) = (diffs(&dir_ts(Fwd)), diffs(&dir_ts(Bwd)));
        // Cut the packets into bursts at every IAT >= threshold.
        let thr_s = cfg.burst_threshold_ms / 1000.0;
        let mut bursts: Vec<Vec<i64>> = Vec::new();
        let mut gaps = Vec::new();
        for (i, &t) in ts.iter().enumerate() {
            if i == 0 || iat[i - 1] >= thr_s {
                if i > 0 {
                    gaps.push(iat[i - 1]);
                }
                bursts.push(Vec::new());
            }
            bursts.last_mut().unwrap().push(t);
        }
        let sizes: Vec<f64> = bursts.iter().map(|b| b.len() as f64).collect();
        let durations: Vec<f64> = bursts
            .iter()
            .map(|b| (b[b.len() - 1] - b[0]) as f64 / 1e6)
            .collect();
        let min = iat.iter().copied().fold(f64::INFINITY, f64::min);
        let max = iat.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // Moments over the µs values, then scaled to seconds.
        let us = diffs_us(&ts);
        let m = mean(&us) / 1e6;
        let sd = pstd(&us) / 1e6;
        let l = cfg.max_sequence_length;
        let first = |v: &[f64]| Value::FloatList(v.iter().take(l).copied().collect());
        let mut splt = Vec::new();
        for (i, p) in pkts.iter().take(l).enumerate() {
            let gap = if i == 0 { 0.0 } else { iat[i - 1] };
            splt.push((i64::from(p.ip_len), gap));
        }
        vec![
            Value::Float(m),
            Value::Float(sd),
            Value::Float(if iat.is_empty() { 0.0 } else { min }),
            Value::Float(if iat.is_empty() { 0.0 } else { max }),
            Value::Float(pct(&iat, 0.5)),
            Value::Float(pct(&iat, 0.25)),
            Value::Float(pct(&iat, 0.75)),
            Value::Float(pct(&iat, 0.9)),
            Value::Float(pct(&iat, 0.95)),
            Value::Float(skew(&us)),
            Value::Float(kurt(&us)),
            Value::Float(if m == 0.0 { 0.0 } else { sd / m }),
            Value::Int(bursts.len() as i64),
            Value::Float(mean(&sizes)),
            Value::Float(mean(&durations)),
            Value::Float(mean(&gaps)),
            Value::Float(mean(&fwd)),
            Value::Float(mean(&bwd)),
            Value::Float(pstd(&fwd)),
            Value::Float(pstd(&bwd)),
            first(&iat),
            first(&fwd),
            first(&bwd),
            Value::PairList(splt),
            // The reference code's extra columns.
            Value::Float(us.iter().sum::<f64>() / 1e6),
            Value::Float(pct(&iat, 0.99)),
            Value::Float(lo(&fwd)),
            Value::Float(hi(&fwd)),
            Value::Float(pct(&fwd, 0.5)),
            Value::Float(lo(&bwd)),
            Value::Float(hi(&bwd)),
            Value::Float(pct(&bwd, 0.5)),
            Value::Float(cv(&fwd)),
            Value::Float(cv(&bwd)),
            Value::Int(sizes.iter().map(|&x| x as i64).max().unwrap_or(0)),
            Value::Int(gaps.len() as i64),
            Value::Float(hi(&gaps)),
            match pkts.iter().find(|p| p.dir == Bwd) {
                Some(p) => Value::Float((p.ts_us - ts[0]) as f64 / 1e6),
                None => Value::Null,
            },
            Value::FloatList(
                ts.iter()
                    .take(l)
                    .map(|t| (t - ts[0]) as f64 / 1e6)
                    .collect(),
            ),
            Value::IntList(
                pkts.iter()
                    .take(l)
                    .map(|p| if p.dir == Bwd { -1 } else { 1 })
                    .collect(),
            ),
        ]
    }

    /// Smallest and largest value, 0 for none; coefficient of variation.
    fn lo(v: &[f64]) -> f64 {
        v.iter().copied().reduce(f64::min).unwrap_or(0.0)
    }

    fn hi(v: &[f64]) -> f64 {
        v.iter().copied().reduce(f64::max).unwrap_or(0.0)
    }

    fn cv(v: &[f64]) -> f64 {
        let m = mean(v);
        if m == 0.0 {
            0.0
        } else {
            pstd(v) / m
        }
    }

    fn full_cfg(max_seq: usize) -> Config {
        Config {
            include_raw_sequences: true,
            include_splt: true,
            bidirectional_split: true,
            max_sequence_length: max_seq,
            ..Config::default()
        }
    }

    /// Check every column against the naive reference; returns the row.
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

    const T0: i64 = 1_700_000_000_000_000;

    /// Packets at `T0 + ms[i]` milliseconds, alternating Fwd/Bwd, lengths 100 + i.
    fn at_ms(ms: &[i64]) -> Vec<PacketObs> {
        ms.iter()
            .enumerate()
            .map(|(i, &m)| {
                let d = if i % 2 == 0 { Fwd } else { Bwd };
                obs(T0 + m * 1000, d, 100 + i as u32, i as u32)
            })
            .collect()
    }

    #[test]
    fn no_packets_give_zeros() {
        let row = check(&[], &full_cfg(50));
        assert_eq!(i(&row, "burst_count"), 0);
        assert_eq!(f(&row, "burst_mean_size"), 0.0);
        assert_eq!(get(&DEF, &row, "splt"), &Value::PairList(vec![]));
    }

    #[test]
    fn one_packet() {
        let pkts = [obs(T0, Fwd, 60, 0)];
        let row = check(&pkts, &full_cfg(50));
        assert_eq!(get(&DEF, &row, "first_response_time"), &Value::Null);
        for c in COLUMNS.iter().filter(|c| c.ty == FLOAT && !c.nullable) {
            let want = if c.name == "burst_mean_size" {
                1.0
            } else {
                0.0
            };
            assert_eq!(f(&row, c.name), want, "{}", c.name);
        }
        assert_eq!(i(&row, "burst_count"), 1);
        assert_eq!(i(&row, "max_burst_packets"), 1);
        assert_eq!(get(&DEF, &row, "iat_sequence"), &Value::FloatList(vec![]));
        assert_eq!(get(&DEF, &row, "splt"), &Value::PairList(vec![(60, 0.0)]));
    }

    #[test]
    fn two_packets() {
        // One IAT of 1.5 ms, below the 50 ms threshold: one burst.
        let pkts = [obs(T0, Fwd, 60, 0), obs(T0 + 1500, Bwd, 1500, 1460)];
        let row = check(&pkts, &full_cfg(50));
        for name in ["iat_mean", "iat_min", "iat_max", "iat_median", "iat_p95"] {
            assert_eq!(f(&row, name), 0.0015, "{name}");
        }
        assert_eq!(f(&row, "iat_std"), 0.0);
        assert_eq!(f(&row, "iat_skew"), 0.0);
        assert_eq!(f(&row, "iat_kurtosis"), 0.0);
        assert_eq!(i(&row, "burst_count"), 1);
        assert_eq!(f(&row, "burst_mean_size"), 2.0);
        assert_eq!(f(&row, "burst_mean_duration"), 0.0015);
        assert_eq!(f(&row, "iat_mean_fwd"), 0.0);
        assert_eq!(f(&row, "first_response_time"), 0.0015);
        assert_eq!(f(&row, "iat_sum"), 0.0015);
        assert_eq!(i(&row, "max_burst_packets"), 2);
        // One direction only: nothing to report.
        let one_way = [obs(T0, Fwd, 60, 0), obs(T0 + 1500, Fwd, 60, 0)];
        let one_way_row = check(&one_way, &full_cfg(50));
        assert_eq!(get(&DEF, &one_way_row, "first_response_time"), &Value::Null);
        assert_eq!(
            get(&DEF, &row, "splt"),
            &Value::PairList(vec![(60, 0.0), (1500, 0.0015)])
        );
    }

    #[test]
    fn equal_iats_have_no_shape() {
        let ms: Vec<i64> = (0..20).map(|k| k * 10).collect();
        let row = check(&at_ms(&ms), &full_cfg(50));
        assert_eq!(f(&row, "iat_std"), 0.0);
        assert_eq!(f(&row, "iat_skew"), 0.0);
        assert_eq!(f(&row, "iat_kurtosis"), 0.0);
        assert_eq!(f(&row, "iat_cv"), 0.0);
        assert_eq!(f(&row, "iat_p90"), 0.01);
        // Per direction the IATs are 20 ms, all equal too.
        assert_eq!(f(&row, "iat_mean_fwd"), 0.02);
        assert_eq!(f(&row, "iat_std_bwd"), 0.0);
    }

    #[test]
    fn bursts_drawn_on_paper() {
        // Threshold 50 ms. Packets at (ms):
        //
        //   0  10  20 | 100 105 | 300 | 350 351
        //   \_burst1_/ \burst2_/ \_3_/ \_burst4_/
        //          gap 80    gap 195  gap 50 (= threshold: splits)
        //
        // IATs: 10 10 80 5 195 50 1; gaps >= 50 ms: 80, 195, 50.
        // 4 bursts of 3, 2, 1, 2 packets: mean size 8/4 = 2.
        // Durations 20, 5, 0, 1 ms: mean 26/4 = 6.5 ms.
        // Gap mean (80 + 195 + 50) / 3 = 108.333… ms.
        let pkts = at_ms(&[0, 10, 20, 100, 105, 300, 350, 351]);
        let row = check(&pkts, &full_cfg(50));
        assert_eq!(i(&row, "burst_count"), 4);
        assert_eq!(f(&row, "burst_mean_size"), 2.0);
        assert!(close(f(&row, "burst_mean_duration"), 0.0065, 1e-12));
        assert!(close(f(&row, "inter_burst_gap_mean"), 0.325 / 3.0, 1e-12));
        assert!(close(f(&row, "iat_mean"), 0.351 / 7.0, 1e-12));
        // Sorted IATs 1 5 10 10 50 80 195 (ms): median = 10, p25 at rank
        // 1.5 = 7.5, p75 at rank 4.5 = 65, p90 at 5.4 = 126, p95 at 5.7 = 160.5.
        assert!(close(f(&row, "iat_median"), 0.010, 1e-12));
        assert!(close(f(&row, "iat_p25"), 0.0075, 1e-12));
        assert!(close(f(&row, "iat_p75"), 0.065, 1e-12));
        assert!(close(f(&row, "iat_p90"), 0.126, 1e-12));
        assert!(close(f(&row, "iat_p95"), 0.1605, 1e-12));
        assert_eq!(f(&row, "iat_min"), 0.001);
        assert_eq!(f(&row, "iat_max"), 0.195);

        // The reference code's columns, by hand. Largest burst 3 packets;
        // 3 gaps, the largest 195 ms; the first Bwd packet at 10 ms; IATs
        // sum to 351 ms; p99 at rank 0.99·6 = 5.94: 80 + 0.94·115 = 188.1.
        assert_eq!(i(&row, "max_burst_packets"), 3);
        assert_eq!(i(&row, "idle_count"), 3);
        assert_eq!(f(&row, "max_idle_duration"), 0.195);
        assert_eq!(f(&row, "first_response_time"), 0.010);
        assert!(close(f(&row, "iat_sum"), 0.351, 1e-12));
        assert!(close(f(&row, "iat_p99"), 0.1881, 1e-12));
        // Fwd at 0, 20, 105, 350 ms: IATs 20, 85, 245. Bwd at 10, 100, 300,
        // 351: IATs 90, 200, 51.
        assert_eq!(f(&row, "iat_fwd_min"), 0.020);
        assert_eq!(f(&row, "iat_fwd_max"), 0.245);
        assert_eq!(f(&row, "iat_fwd_median"), 0.085);
        assert_eq!(f(&row, "iat_bwd_min"), 0.051);
        assert_eq!(f(&row, "iat_bwd_max"), 0.200);
        assert_eq!(f(&row, "iat_bwd_median"), 0.090);
        let m = 350.0 / 3.0;
        let sd = (((20.0 - m) * (20.0 - m) + (85.0 - m) * (85.0 - m) + (245.0 - m) * (245.0 - m))
            / 3.0f64)
            .sqrt();
        assert!(close(f(&row, "burstiness_index_fwd"), sd / m, 1e-12));

        // A threshold above every IAT: one burst spanning the flow.
        let cfg = Config {
            burst_threshold_ms: 1000.0,
            ..full_cfg(50)
        };
        let row = check(&pkts, &cfg);
        assert_eq!(i(&row, "burst_count"), 1);
        assert_eq!(i(&row, "max_burst_packets"), 8);
        assert_eq!(i(&row, "idle_count"), 0);
        assert_eq!(f(&row, "max_idle_duration"), 0.0);
        assert_eq!(f(&row, "burst_mean_size"), 8.0);
        assert!(close(f(&row, "burst_mean_duration"), 0.351, 1e-12));
        assert_eq!(f(&row, "inter_burst_gap_mean"), 0.0);
    }

    #[test]
    fn bidirectional_split() {
        // Fwd at 0, 10, 40 ms; Bwd at 5, 6, 30, 31 ms.
        // Fwd IATs 10, 30: mean 20 ms, std 10 ms.
        // Bwd IATs 1, 24, 1: mean 26/3 ms, std sqrt(((1-m)^2*2 + (24-m)^2)/3).
        let pkts = [
            obs(T0, Fwd, 60, 0),
            obs(T0 + 5_000, Bwd, 60, 0),
            obs(T0 + 6_000, Bwd, 1500, 1448),
            obs(T0 + 10_000, Fwd, 52, 0),
            obs(T0 + 30_000, Bwd, 1500, 1448),
            obs(T0 + 31_000, Bwd, 40, 0),
            obs(T0 + 40_000, Fwd, 52, 0),
        ];
        let row = check(&pkts, &full_cfg(50));
        assert!(close(f(&row, "iat_mean_fwd"), 0.020, 1e-12));
        assert!(close(f(&row, "iat_std_fwd"), 0.010, 1e-12));
        let m: f64 = 26.0 / 3.0;
        let sd = ((2.0 * (1.0 - m) * (1.0 - m) + (24.0 - m) * (24.0 - m)) / 3.0).sqrt();
        assert!(close(f(&row, "iat_mean_bwd"), m / 1000.0, 1e-12));
        assert!(close(f(&row, "iat_std_bwd"), sd / 1000.0, 1e-12));
        assert_eq!(
            get(&DEF, &row, "iat_sequence_fwd"),
            &Value::FloatList(vec![0.01, 0.03])
        );
        assert_eq!(
            get(&DEF, &row, "iat_sequence_bwd"),
            &Value::FloatList(vec![0.001, 0.024, 0.001])
        );
    }

    #[test]
    fn sequences_stop_at_max_sequence_length() {
        let ms: Vec<i64> = (0..40).map(|k| k * k).collect();
        let row = check(&at_ms(&ms), &full_cfg(3));
        assert_eq!(
            get(&DEF, &row, "iat_sequence"),
            &Value::FloatList(vec![0.001, 0.003, 0.005])
        );
        // Fwd packets at k = 0, 2, 4, 6: IATs 4, 12, 20 ms.
        assert_eq!(
            get(&DEF, &row, "iat_sequence_fwd"),
            &Value::FloatList(vec![0.004, 0.012, 0.020])
        );
        // Bwd packets at k = 1, 3, 5, 7: IATs 8, 16, 24 ms.
        assert_eq!(
            get(&DEF, &row, "iat_sequence_bwd"),
            &Value::FloatList(vec![0.008, 0.016, 0.024])
        );
        let st = stateful(&at_ms(&ms), &full_cfg(3));
        assert!(st.seq.len() == 3 && st.seq_dir.iter().all(|v| v.len() == 3));
        assert_eq!(st.splt.len(), 3);
    }

    #[test]
    fn splt_pairs_lengths_with_gaps() {
        // SPLT of the first 4 packets: (length, time since previous packet).
        let pkts = [
            obs(T0, Fwd, 74, 0),
            obs(T0 + 20_000, Bwd, 74, 0),
            obs(T0 + 20_250, Fwd, 66, 0),
            obs(T0 + 21_000, Fwd, 583, 517),
            obs(T0 + 45_000, Bwd, 1434, 1368),
            obs(T0 + 45_001, Bwd, 66, 0),
        ];
        let row = check(&pkts, &full_cfg(4));
        assert_eq!(
            get(&DEF, &row, "splt"),
            &Value::PairList(vec![(74, 0.0), (74, 0.02), (66, 0.00025), (583, 0.00075)])
        );
        // Without the options, nothing is stored.
        let st = stateful(&pkts, &Config::default());
        assert!(st.seq.is_empty() && st.splt.is_empty());
    }

    #[test]
    fn out_of_order_timestamps_give_negative_iats() {
        // Capture order 0, 30, 20, 100 ms: IATs 30, -10, 80.
        let pkts = at_ms(&[0, 30, 20, 100]);
        let row = check(&pkts, &full_cfg(50));
        assert_eq!(f(&row, "iat_min"), -0.010);
        assert_eq!(i(&row, "burst_count"), 2);
    }

    /// Every flow of the shared captures (each 5-tuple one flow) equals
    /// the naive reference over its packets read straight from the file,
    /// with the default options and with every option on. Percentiles of
    /// flows past the exact limit come from the sketch (tested above).
    #[test]
    fn shared_captures_match_the_naive_reference() {
        let sketched = |pkts: &[PacketObs]| {
            if pkts.len() > EXACT_IATS + 1 {
                sketched()
            } else {
                Vec::new()
            }
        };
        let mut n = 0;
        for cfg in [Config::default(), full_cfg(50)] {
            n += compare_on_captures(&DEF, &cfg, naive, sketched);
        }
        assert!(n >= 2 * 400, "{n} flows");
    }

    fn stateful(pkts: &[PacketObs], cfg: &Config) -> TimingState {
        feed(&Timing::from_config(cfg), pkts)
    }

    /// Packets whose IATs come from a seeded PRNG: 5 % zeros, the rest
    /// log-uniform between 1 µs and 10 s; directions at random.
    fn random_flow(n_iats: usize, seed: u64, with_negative: bool) -> Vec<PacketObs> {
        let mut rng = SplitMix(seed);
        let mut t = T0;
        let mut pkts = vec![obs(t, Fwd, 60, 0)];
        for _ in 0..n_iats {
            let r = rng.unit();
            let mut iat = if r < 0.05 {
                0
            } else {
                (rng.unit() * 1e7f64.ln()).exp().floor() as i64
            };
            if with_negative && rng.unit() < 0.1 {
                iat = -iat / 3;
            }
            t += iat;
            let d = if rng.unit() < 0.5 { Fwd } else { Bwd };
            pkts.push(obs(t, d, 40 + (rng.next_u64() % 1461) as u32, 0));
        }
        pkts
    }

    const PCTS: [(&str, f64); 6] = [
        ("iat_p25", 0.25),
        ("iat_median", 0.5),
        ("iat_p75", 0.75),
        ("iat_p90", 0.9),
        ("iat_p95", 0.95),
        ("iat_p99", 0.99),
    ];

    /// The per-direction medians (from their own sketches past the limit).
    const DIR_MEDIANS: [&str; 2] = ["iat_fwd_median", "iat_bwd_median"];

    /// Percentile columns, which come from sketches past the limit.
    fn sketched() -> Vec<&'static str> {
        PCTS.iter().map(|p| p.0).chain(DIR_MEDIANS).collect()
    }

    /// The sorted IATs and the neighbours numpy interpolates between.
    fn neighbours(sorted: &[f64], q: f64) -> (f64, f64) {
        let r = q * (sorted.len() - 1) as f64;
        let lo = r.floor() as usize;
        (sorted[lo], sorted[(lo + 1).min(sorted.len() - 1)])
    }

    #[test]
    fn exact_percentiles_up_to_the_limit_then_the_sketch() {
        let cfg = full_cfg(50);
        // EXACT_IATS IATs: still exact.
        let pkts = random_flow(EXACT_IATS, 7, false);
        check(&pkts, &cfg);
        assert!(matches!(stateful(&pkts, &cfg).quant, Quantiles::Exact(_)));
        // One more: the sketch, everything else still exact.
        let pkts = random_flow(EXACT_IATS + 1, 7, false);
        let row = row_of(&DEF, &cfg, &pkts);
        let skip = sketched();
        assert_row(&DEF, &row, &naive(&pkts, &cfg), &skip);
        assert!(matches!(stateful(&pkts, &cfg).quant, Quantiles::Sketch(_)));
    }

    #[test]
    fn long_flow_percentiles_stay_within_the_sketch_bound() {
        let cfg = full_cfg(50);
        let pkts = random_flow(200_000, 0x5EED, false);
        let row = row_of(&DEF, &cfg, &pkts);
        let want = naive(&pkts, &cfg);
        let skip = sketched();
        // Moments, min, max, bursts, per-direction and sequences: exact.
        assert_row(&DEF, &row, &want, &skip);
        for name in PCTS.iter().map(|p| p.0).chain(DIR_MEDIANS) {
            let (got, exact) = (f(&row, name), f(&want, name));
            assert!(
                (got - exact).abs() <= SKETCH_ALPHA * exact.abs() * (1.0 + 1e-9) + 1e-12,
                "{name}: sketch {got}, exact {exact}"
            );
        }
        // Memory stays bounded: the exact buffer is gone, the sketch small.
        let st = stateful(&pkts, &cfg);
        match &st.quant {
            Quantiles::Sketch(s) => {
                assert!(s.pos.counts.len() < 2200 && s.neg.counts.is_empty());
                assert!(s.zeros > 0);
            }
            Quantiles::Exact(_) => panic!("still exact"),
        }
    }

    #[test]
    fn sketch_bound_with_negative_iats() {
        let cfg = full_cfg(50);
        let pkts = random_flow(20_000, 99, true);
        let row = row_of(&DEF, &cfg, &pkts);
        let want = naive(&pkts, &cfg);
        let skip = sketched();
        assert_row(&DEF, &row, &want, &skip);
        let ts: Vec<i64> = pkts.iter().map(|p| p.ts_us).collect();
        let mut sorted = diffs(&ts);
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert!(sorted[0] < 0.0);
        for (name, q) in PCTS {
            let (lo, hi) = neighbours(&sorted, q);
            let bound = SKETCH_ALPHA * lo.abs().max(hi.abs());
            let (got, exact) = (f(&row, name), f(&want, name));
            assert!(
                (got - exact).abs() <= bound * (1.0 + 1e-9) + 1e-12,
                "{name}: sketch {got}, exact {exact}"
            );
        }
    }

    #[test]
    fn sketch_order_statistics_within_alpha() {
        // Every single order statistic of 1..=100 000 µs, one value each.
        let mut s = DdSketch::new();
        for x in 1..=100_000i64 {
            s.add(x);
        }
        for k in (0..100_000u64).step_by(97) {
            let exact = (k + 1) as f64;
            let est = s.value_at_rank(k);
            assert!((est - exact).abs() <= SKETCH_ALPHA * exact * (1.0 + 1e-9));
        }
    }

    // numpy 2.4.6 / scipy 1.17.1 on the IATs of `matches_numpy_and_scipy`.
    const NP_MEAN: f64 = 0.07837500000000001;
    const NP_STD: f64 = 0.16059260373690937;
    const NP_MEDIAN: f64 = 0.012;
    const NP_P25: f64 = 0.0035;
    const NP_P75: f64 = 0.04;
    const NP_P90: f64 = 0.19479999999999992;
    const NP_P95: f64 = 0.34739999999999976;
    const NP_SKEW: f64 = 2.20131636399098;
    const NP_KURT: f64 = 2.966212479466699;

    #[test]
    fn matches_numpy_and_scipy() {
        // IATs 1, 2, 4, 8, 16, 32, 64 and 500 ms, threshold 50 ms. Reference
        // values from numpy / scipy (np.percentile, np.std,
        // scipy.stats.skew, scipy.stats.kurtosis) on np.diff(ts_us) / 1e6.
        let pkts = at_ms(&[0, 1, 3, 7, 15, 31, 63, 127, 627]);
        let row = check(&pkts, &full_cfg(50));
        let numpy = [
            ("iat_mean", NP_MEAN),
            ("iat_std", NP_STD),
            ("iat_median", NP_MEDIAN),
            ("iat_p25", NP_P25),
            ("iat_p75", NP_P75),
            ("iat_p90", NP_P90),
            ("iat_p95", NP_P95),
            ("iat_skew", NP_SKEW),
            ("iat_kurtosis", NP_KURT),
        ];
        for (name, v) in numpy {
            assert!(
                close(f(&row, name), v, 1e-12),
                "{name}: {} vs {v}",
                f(&row, name)
            );
        }
    }
}
