//! `padding`: signs of traffic shaped to hide its content — packets of one
//! fixed size (Tor cells, padded VPN tunnels), a constant packet rate
//! (constant-bit-rate codecs, chaff), uniform bursts.
//!
//! Packet sizes are IP-level lengths (as `size`'s `pkt_len_*`), times the
//! packets' capture timestamps in capture order (as `timing`'s IATs). The
//! page's ten columns come first, then the reference code's (names rule 2);
//! the reference's `iat_cv` is `timing`'s column of that name (the same
//! definition), so it is not repeated here. Every threshold is a named
//! constant below and stated in the column's meaning.
//!
//! Memory: a sparse histogram of lengths (one pair per distinct length,
//! inline for two) and a few running sums; the group reads the decoded
//! summary only, so a flow of at most `DEFERRED_PACKETS` packets costs it
//! no state at all (see `group.rs`).

use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, RowWriter};
use crate::config::Config;
use crate::packet::PacketView;
use smallvec::SmallVec;
use std::sync::Arc;

const INT: ColumnType = ColumnType::Int;
const FLOAT: ColumnType = ColumnType::Float;
const BOOL: ColumnType = ColumnType::Bool;
const STR: ColumnType = ColumnType::Str;

/// `is_constant_size`: the most frequent length covers at least this share
/// of the packets.
pub const CONSTANT_SIZE_RATIO: f64 = 0.95;
/// `padding_score`'s second size term: the most frequent length covers more
/// than this share.
pub const DOMINANT_SIZE_RATIO: f64 = 0.8;
/// `is_constant_rate`: the IATs' coefficient of variation is at most this.
pub const CONSTANT_RATE_CV: f64 = 0.1;
/// A rate is judged from at least this many IATs (packets − 1).
pub const MIN_RATE_IATS: u64 = 2;
/// Two consecutive IATs are regular when they differ by at most this share
/// of the larger one (`iat_regularity`).
pub const IAT_REGULARITY_TOLERANCE: f64 = 0.1;
/// IP-level lengths of a Tor cell (512 bytes in a TLS record over TCP/IP).
pub const TOR_CELL_LENS: std::ops::RangeInclusive<u32> = 580..=600;
/// `is_tor_like`: at least this share of the packets are Tor-cell sized…
pub const TOR_CELL_RATIO: f64 = 0.7;
/// …and the lengths' coefficient of variation is below this.
pub const UNIFORM_SIZE_CV: f64 = 0.1;
/// IP-level lengths of full-MTU tunnel packets (`padding_pattern` "mtu").
pub const MTU_LENS: std::ops::RangeInclusive<u32> = 1400..=1500;
/// `padding_pattern` "mtu": the most frequent length is an MTU length and
/// covers more than this share.
pub const MTU_RATIO: f64 = 0.5;
/// `likely_padded` needs at least this many packets…
pub const PADDED_MIN_PACKETS: u64 = 8;
/// …and a `padding_score` of at least this.
pub const PADDED_SCORE: f64 = 0.5;

/// The `padding` columns, in output order.
pub const COLUMNS: &[Column] = &[
    Column::always("fixed_size_ratio", FLOAT, "", "Share of the flow's packets whose IP-level length is fixed_size_value."),
    Column::always("fixed_size_count", INT, "packets", "Packets whose IP-level length is fixed_size_value."),
    Column::always("fixed_size_value", INT, "bytes", "The most frequent IP-level packet length (the smallest on ties; equals size's pkt_len_mode)."),
    Column::always("size_variance_ratio", FLOAT, "", "Population variance of the IP-level lengths divided by their squared mean (pkt_size_cv squared): 0 when every packet has the same length."),
    Column::nullable("constant_rate_score", FLOAT, "", "1 / (1 + iat_cv) over the flow's inter-arrival times (capture order, both directions): 1 for a perfectly constant rate; null with fewer than MIN_RATE_IATS = 2 IATs."),
    Column::nullable("iat_regularity", FLOAT, "", "Share of consecutive IAT pairs that differ by at most IAT_REGULARITY_TOLERANCE = 10 % of the larger one (two zero IATs count as regular); null with fewer than 2 IATs."),
    Column::nullable("burst_uniformity", FLOAT, "", "1 / (1 + coefficient of variation of the bursts' packet counts), bursts split at inter-arrival times of at least burst_threshold_ms (as timing's burst_count; default 50 ms): 1 when every burst has as many packets; null with fewer than 2 bursts."),
    Column::always("likely_padded", BOOL, "", "At least PADDED_MIN_PACKETS = 8 packets and padding_score >= PADDED_SCORE = 0.5."),
    Column::nullable("padding_pattern", STR, "", "For a likely_padded flow: tor_cell (is_tor_like), else mtu (fixed_size_value in MTU_LENS 1400-1500 with fixed_size_ratio > 0.5), else constant_rate (is_constant_rate), else fixed_size; null otherwise."),
    Column::nullable("chaff_score", FLOAT, "", "fixed_size_ratio x constant_rate_score: near 1 for fixed-size packets at a constant rate (cover traffic); null when constant_rate_score is."),
    Column::always("pkt_size_variance", FLOAT, "bytes^2", "Population variance (ddof 0) of the IP-level packet lengths."),
    Column::always("pkt_size_cv", FLOAT, "", "Coefficient of variation (population standard deviation / mean) of the IP-level lengths; 0 when the mean is 0."),
    Column::always("is_constant_size", BOOL, "", "fixed_size_ratio >= CONSTANT_SIZE_RATIO = 0.95."),
    Column::always("dominant_size_mode", INT, "bytes", "The most frequent IP-level length: the feature index's name for fixed_size_value (always equal)."),
    Column::always("dominant_size_ratio", FLOAT, "", "Share of packets at dominant_size_mode: the feature index's name for fixed_size_ratio (always equal)."),
    Column::always("unique_size_count", INT, "count", "Distinct IP-level packet lengths in the flow."),
    Column::always("size_entropy", FLOAT, "", "Shannon entropy of the length distribution divided by log2(unique_size_count): 0-1, 0 with one distinct length."),
    Column::always("iat_variance", FLOAT, "s^2", "Population variance (ddof 0) of the inter-arrival times in capture order; 0 with fewer than 2 packets."),
    Column::always("is_constant_rate", BOOL, "", "At least MIN_RATE_IATS = 2 IATs and their coefficient of variation (timing's iat_cv) <= CONSTANT_RATE_CV = 0.1."),
    Column::always("tor_cell_count", INT, "packets", "Packets whose IP-level length is in TOR_CELL_LENS = 580-600 (a 512-byte Tor cell in a TLS record)."),
    Column::always("tor_cell_ratio", FLOAT, "", "tor_cell_count / packets."),
    Column::always("is_tor_like", BOOL, "", "tor_cell_ratio >= TOR_CELL_RATIO = 0.7 and pkt_size_cv < UNIFORM_SIZE_CV = 0.1."),
    Column::always("burst_padding_ratio", FLOAT, "", "Header bytes (IP-level minus payload) as a share of the flow's IP-level bytes; 0 without bytes."),
    Column::always("burst_overhead_bytes", INT, "bytes", "Header bytes of the flow: IP-level bytes minus payload bytes, over all its bursts."),
    Column::always("avg_burst_payload_efficiency", FLOAT, "", "Mean over the bursts (split as for burst_uniformity) of payload bytes / IP-level bytes of the burst."),
    Column::always("padding_score", FLOAT, "", "0.3 if is_constant_size + 0.2 if fixed_size_ratio > DOMINANT_SIZE_RATIO = 0.8 + 0.2 if is_constant_rate + 0.3 if is_tor_like, at most 1."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "padding",
    summary: "Padding and traffic shaping: fixed packet sizes, constant rate, Tor-cell sizes, burst overhead.",
    columns: COLUMNS,
    build: |cfg: &Config| -> Arc<dyn Group> {
        Arc::new(Padding {
            gap_us: cfg.burst_threshold_ms * 1000.0,
        })
    },
};

/// The group configured for a run.
struct Padding {
    /// `burst_threshold_ms` in microseconds: an inter-arrival time at
    /// least this long starts a new burst (as `timing`'s bursts).
    gap_us: f64,
}

/// Sparse histogram of IP-level lengths: `(length, count)` sorted by length.
type Hist = SmallVec<[(u32, u64); 2]>;

/// Per-flow state, 160 bytes: the length histogram, IAT moments, the
/// regularity counts and the burst sums.
#[derive(Debug, Default)]
pub(crate) struct PaddingState {
    hist: Hist,
    /// Timestamp of the previous packet (µs); meaningful once a packet was
    /// seen (the histogram is not empty).
    last_us: i64,
    /// The previous IAT (µs), for the regularity of pairs; meaningful once
    /// `iats` > 0.
    last_iat: i64,
    /// IATs seen, their mean and sum of squared deviations (Welford, µs).
    iats: u64,
    iat_mean: f64,
    iat_m2: f64,
    /// Consecutive IAT pairs, and those within the tolerance.
    pairs: u64,
    regular: u64,
    bursts: Bursts,
}

/// Bursts: the open one and sums over the closed ones.
#[derive(Debug, Default, Clone, Copy)]
struct Bursts {
    /// The open burst: packets, IP-level and payload bytes.
    pkts: u64,
    bytes: u64,
    payload: u64,
    /// Closed bursts: count, sums of packet counts and of their squares,
    /// and the sum of their payload efficiencies.
    count: u64,
    sum: u64,
    sq: f64,
    efficiency_sum: f64,
}

impl Bursts {
    fn close(&mut self) {
        if self.pkts == 0 {
            return;
        }
        self.count += 1;
        self.sum += self.pkts;
        self.sq += (self.pkts as f64) * (self.pkts as f64);
        if self.bytes > 0 {
            self.efficiency_sum += self.payload as f64 / self.bytes as f64;
        }
        (self.pkts, self.bytes, self.payload) = (0, 0, 0);
    }
}

/// Whether two IATs are within [`IAT_REGULARITY_TOLERANCE`] of the larger.
fn regular(a: i64, b: i64) -> bool {
    let (a, b) = (a.unsigned_abs(), b.unsigned_abs());
    (a.abs_diff(b) as f64) <= IAT_REGULARITY_TOLERANCE * a.max(b) as f64
}

impl FeatureGroup for Padding {
    type State = PaddingState;

    fn new_state(&self) -> PaddingState {
        PaddingState::default()
    }

    fn update(&self, st: &mut PaddingState, pkt: &PacketView<'_>) {
        let l = pkt.ip_len();
        let first = st.hist.is_empty();
        match st.hist.binary_search_by_key(&l, |e| e.0) {
            Ok(i) => st.hist[i].1 += 1,
            Err(i) => st.hist.insert(i, (l, 1)),
        }
        if !first {
            let iat = pkt.ts_us.saturating_sub(st.last_us);
            st.iats += 1;
            let x = iat as f64;
            let d = x - st.iat_mean;
            st.iat_mean += d / st.iats as f64;
            st.iat_m2 += d * (x - st.iat_mean);
            if st.iats > 1 {
                st.pairs += 1;
                st.regular += u64::from(regular(st.last_iat, iat));
            }
            st.last_iat = iat;
            if iat as f64 >= self.gap_us {
                st.bursts.close();
            }
        }
        st.last_us = pkt.ts_us;
        st.bursts.pkts += 1;
        st.bursts.bytes += u64::from(l);
        st.bursts.payload += u64::from(pkt.payload_len());
    }

    fn write(&self, flow: &FlowView<'_>, st: &PaddingState, out: &mut RowWriter<'_>) {
        let n: u64 = st.hist.iter().map(|e| e.1).sum();
        let nf = n.max(1) as f64;
        // The mode: the smallest of the most frequent lengths.
        let (mode, mode_count) =
            st.hist.iter().fold(
                (0, 0),
                |best, &(l, c)| if c > best.1 { (l, c) } else { best },
            );
        let fixed_ratio = mode_count as f64 / nf;
        let sum: f64 = st.hist.iter().map(|&(l, c)| f64::from(l) * c as f64).sum();
        let mean = sum / nf;
        let var = st
            .hist
            .iter()
            .map(|&(l, c)| (f64::from(l) - mean).powi(2) * c as f64)
            .sum::<f64>()
            / nf;
        let size_cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
        let unique = st.hist.len();
        let size_entropy = if unique > 1 {
            let h: f64 = st
                .hist
                .iter()
                .map(|&(_, c)| {
                    let p = c as f64 / nf;
                    -p * p.log2()
                })
                .sum();
            h / (unique as f64).log2()
        } else {
            0.0
        };
        let iat_var = if st.iats == 0 {
            0.0
        } else {
            (st.iat_m2 / st.iats as f64).max(0.0)
        };
        let iat_cv = if st.iat_mean > 0.0 {
            iat_var.sqrt() / st.iat_mean
        } else {
            0.0
        };
        let rate_judged = st.iats >= MIN_RATE_IATS;
        let constant_rate = rate_judged && iat_cv <= CONSTANT_RATE_CV;
        let rate_score = rate_judged.then(|| 1.0 / (1.0 + iat_cv));
        let regularity = (st.pairs > 0).then(|| st.regular as f64 / st.pairs as f64);

        // Bursts, the open one included.
        let mut b = st.bursts;
        b.close();
        let burst_uniformity = (b.count >= 2).then(|| {
            let k = b.count as f64;
            let m = b.sum as f64 / k;
            let v = (b.sq / k - m * m).max(0.0);
            1.0 / (1.0 + v.sqrt() / m)
        });
        let efficiency = if b.count == 0 {
            1.0
        } else {
            b.efficiency_sum / b.count as f64
        };

        let tor_cells: u64 = st
            .hist
            .iter()
            .filter(|e| TOR_CELL_LENS.contains(&e.0))
            .map(|e| e.1)
            .sum();
        let tor_ratio = tor_cells as f64 / nf;
        let tor_like = tor_ratio >= TOR_CELL_RATIO && size_cv < UNIFORM_SIZE_CV;
        let constant_size = fixed_ratio >= CONSTANT_SIZE_RATIO;
        let score: f64 = [
            (constant_size, 0.3),
            (fixed_ratio > DOMINANT_SIZE_RATIO, 0.2),
            (constant_rate, 0.2),
            (tor_like, 0.3),
        ]
        .iter()
        .filter(|t| t.0)
        .map(|t| t.1)
        .sum::<f64>()
        .min(1.0);
        let padded = n >= PADDED_MIN_PACKETS && score >= PADDED_SCORE;
        let pattern = padded.then(|| {
            if tor_like {
                "tor_cell"
            } else if MTU_LENS.contains(&mode) && fixed_ratio > MTU_RATIO {
                "mtu"
            } else if constant_rate {
                "constant_rate"
            } else {
                "fixed_size"
            }
        });
        let bytes = flow.bytes[0] + flow.bytes[1];
        let overhead = bytes.saturating_sub(flow.payload[0] + flow.payload[1]);

        out.put(fixed_ratio);
        out.put(mode_count);
        out.put(mode);
        out.put(if mean > 0.0 { var / (mean * mean) } else { 0.0 });
        out.put(rate_score);
        out.put(regularity);
        out.put(burst_uniformity);
        out.put(padded);
        out.put(pattern);
        out.put(rate_score.map(|r| fixed_ratio * r));
        out.put(var);
        out.put(size_cv);
        out.put(constant_size);
        out.put(mode);
        out.put(fixed_ratio);
        out.put(unique as u64);
        out.put(size_entropy);
        out.put(iat_var / 1e12);
        out.put(constant_rate);
        out.put(tor_cells);
        out.put(tor_ratio);
        out.put(tor_like);
        out.put(if bytes > 0 {
            overhead as f64 / bytes as f64
        } else {
            0.0
        });
        out.put(overhead);
        out.put(efficiency);
        out.put(score);
    }
}

#[cfg(test)]
mod tests;
