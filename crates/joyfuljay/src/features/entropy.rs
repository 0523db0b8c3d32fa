//! `entropy`: how random a flow's payload bytes are, to tell encrypted,
//! compressed and plaintext traffic apart.
//!
//! The documented columns are statistics of per-packet Shannon entropy
//! (bits per byte, 0–8) of the first `entropy_sample_bytes` captured
//! payload bytes of each packet with payload, kept as streaming moments.
//! The reference package's columns follow: entropy and byte classes of the
//! first `entropy_sample_bytes` payload bytes of each direction, taken in
//! capture order, kept as one byte histogram per direction (allocated at
//! the flow's first payload byte). Packets without captured payload count
//! nowhere; a flow without any has 0 in every column.

use super::stats::ratio;
use super::{Column, ColumnType, FeatureGroup, FlowView, Gate, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::PacketView;
use std::sync::Arc;

/// A packet whose sampled entropy is above this many bits per byte counts
/// in `high_entropy_ratio`.
pub const HIGH_ENTROPY_BITS: f64 = 7.0;

/// `byte_distribution_uniformity` is 0 for samples shorter than this many
/// bytes.
pub const UNIFORMITY_MIN_BYTES: u32 = 256;

const ALWAYS: Gate = Gate::ALWAYS;
const FLOAT: ColumnType = ColumnType::Float;

/// The `entropy` columns, in output order.
pub const COLUMNS: &[Column] = &[
    Column::describe("payload_entropy_mean", FLOAT, "bits", ALWAYS, "Mean over the packets with captured payload of the Shannon entropy (bits per byte, 0-8) of each packet's first entropy_sample_bytes payload bytes; 0 without such packets."),
    Column::describe("payload_entropy_std", FLOAT, "bits", ALWAYS, "Population standard deviation (ddof 0) of those per-packet entropies."),
    Column::describe("payload_entropy_min", FLOAT, "bits", ALWAYS, "Smallest per-packet entropy; 0 without payload packets."),
    Column::describe("payload_entropy_max", FLOAT, "bits", ALWAYS, "Largest per-packet entropy; 0 without payload packets."),
    Column::describe("entropy_consistency", FLOAT, "", ALWAYS, "max(0, 1 - payload_entropy_std / payload_entropy_mean): 1 when every payload packet has the same entropy (also when all are 0); 0 without payload packets."),
    Column::describe("high_entropy_ratio", FLOAT, "", ALWAYS, "Share of the payload packets whose entropy is above HIGH_ENTROPY_BITS = 7.0; 0 without payload packets."),
    Column::describe("entropy_payload", FLOAT, "bits", ALWAYS, "Shannon entropy (bits per byte) of the byte sample: the first entropy_sample_bytes payload bytes of each direction, in capture order, both directions together; 0 when empty."),
    Column::describe("entropy_initiator", FLOAT, "bits", ALWAYS, "Shannon entropy of the initiator's sample (its first entropy_sample_bytes payload bytes); 0 when empty."),
    Column::describe("entropy_responder", FLOAT, "bits", ALWAYS, "Shannon entropy of the responder's sample; 0 when empty."),
    Column::describe("entropy_ratio", FLOAT, "", ALWAYS, "entropy_initiator / entropy_responder (entropy_initiator when entropy_responder is 0)."),
    Column::describe("byte_distribution_uniformity", FLOAT, "", ALWAYS, "For a byte sample of L >= UNIFORMITY_MIN_BYTES = 256 bytes with counts c[v]: max(0, 1 - sum over all 256 values v of (c[v] - L/256)^2 / L^2); 0 for shorter samples."),
    Column::describe("printable_ratio", FLOAT, "", ALWAYS, "Share of the byte sample in 0x20-0x7E or tab, LF, CR; 0 when empty."),
    Column::describe("null_ratio", FLOAT, "", ALWAYS, "Share of the byte sample equal to 0x00; 0 when empty."),
    Column::describe("high_byte_ratio", FLOAT, "", ALWAYS, "Share of the byte sample at or above 0x80; 0 when empty."),
    Column::describe("payload_bytes_sampled", ColumnType::Int, "bytes", ALWAYS, "Bytes in the byte sample (at most 2 x entropy_sample_bytes)."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "entropy",
    summary: "Shannon entropy of payload bytes: per-packet statistics, per-direction samples and byte classes.",
    columns: COLUMNS,
    build,
};

fn build(cfg: &Config) -> Arc<dyn Group> {
    Arc::new(Entropy {
        sample: cfg.entropy_sample_bytes.max(1),
    })
}

/// The `entropy` group configured for a run.
pub(crate) struct Entropy {
    /// `entropy_sample_bytes`.
    sample: u32,
}

/// Byte counts of each direction's sample.
type Histograms = [[u32; 256]; 2];

/// Per-flow state: moments of the per-packet entropies and the direction
/// samples' histograms.
#[derive(Debug, Default)]
pub(crate) struct EntropyState {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    high: u64,
    /// Bytes sampled per direction.
    sampled: [u32; 2],
    hist: Option<Box<Histograms>>,
}

/// Shannon entropy in bits of byte counts summing to `total` (0 when empty).
fn shannon(counts: impl Iterator<Item = f64>, total: f64) -> f64 {
    if total == 0.0 {
        return 0.0;
    }
    -counts
        .filter(|&c| c > 0.0)
        .map(|c| {
            let p = c / total;
            p * p.log2()
        })
        .sum::<f64>()
}

/// Counts of a histogram, as floats.
fn counts(h: &[u32; 256]) -> impl Iterator<Item = f64> + '_ {
    h.iter().map(|&c| f64::from(c))
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
        let mut table = [0u32; 256];
        for &b in cut {
            table[b as usize] += 1;
        }
        let h = shannon(counts(&table), cut.len() as f64);
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
        let dir = pkt.dir as usize;
        let room = (self.sample - st.sampled[dir]) as usize;
        if room > 0 {
            let hist = &mut st.hist.get_or_insert_with(|| Box::new([[0; 256]; 2]))[dir];
            let take = &payload[..payload.len().min(room)];
            for &b in take {
                hist[b as usize] += 1;
            }
            st.sampled[dir] += take.len() as u32;
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

        let zero = [[0u32; 256]; 2];
        let hist = st.hist.as_deref().unwrap_or(&zero);
        let mut both = [0f64; 256];
        for (v, c) in both.iter_mut().enumerate() {
            *c = f64::from(hist[0][v]) + f64::from(hist[1][v]);
        }
        let total = u64::from(st.sampled[0]) + u64::from(st.sampled[1]);
        let l = total as f64;
        let (fwd, bwd) = (
            shannon(counts(&hist[0]), f64::from(st.sampled[0])),
            shannon(counts(&hist[1]), f64::from(st.sampled[1])),
        );
        out.put(shannon(both.iter().copied(), l));
        out.put(fwd);
        out.put(bwd);
        out.put(ratio(fwd, bwd));
        out.put(if total >= u64::from(UNIFORMITY_MIN_BYTES) {
            let e = l / 256.0;
            let dev: f64 = both.iter().map(|&c| (c - e).powi(2)).sum();
            (1.0 - dev / (l * l)).max(0.0)
        } else {
            0.0
        });
        let share = |f: fn(usize) -> bool| {
            let k: f64 = (0..256).filter(|&v| f(v)).map(|v| both[v]).sum();
            if total == 0 {
                0.0
            } else {
                k / l
            }
        };
        out.put(share(|v| {
            (0x20..=0x7e).contains(&v) || matches!(v, 0x09 | 0x0a | 0x0d)
        }));
        out.put(share(|v| v == 0));
        out.put(share(|v| v >= 0x80));
        out.put(total as i64);
    }
}
