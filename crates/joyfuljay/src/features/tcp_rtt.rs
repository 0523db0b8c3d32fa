//! `tcp_rtt`: round-trip times of a TCP connection: Wireshark's initial RTT
//! (handshake), RTT samples from the timestamps option (TSval/TSecr) and
//! Wireshark's ACK RTT samples. All in seconds. Definitions:
//! `docs/semantics.md#tcp_rtt`.
//!
//! Per-flow state: a pointer (8 bytes), null until the flow's first TCP
//! packet; then one allocation holding the initial-RTT times, streaming
//! statistics of both sample kinds, and two lists: each direction's unacknowledged segments
//! (at most [`MAX_UNACKED`] each, 16 bytes per segment, as Wireshark) and
//! each direction's last [`TS_KEPT`] distinct TSvals with the time they were
//! last sent. Non-TCP flows allocate nothing.

use super::lazy::Lazy;
pub use super::tcp_analysis::MAX_UNACKED;
use super::tcp_analysis::{AckRtt, Conversation, InitialRtt, Segment};
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::PacketView;
use std::sync::Arc;

/// Distinct TSvals kept per direction for matching echoes: an echo of an
/// older TSval gives no sample (documented difference from an unbounded
/// map).
pub const TS_KEPT: usize = 16;

/// Timestamp-option RTT samples of at least this are dropped, µs (60 s, as
/// the reference).
pub const TS_RTT_MAX_US: i64 = 60_000_000;

use ColumnType::{Float, Int};

/// The `tcp_rtt` columns, in output order (the reference code's).
pub const COLUMNS: &[Column] = &[
    Column::nullable("tcp_rtt_handshake", Float, "s", "Wireshark's initial RTT: from the most recent SYN without ACK to the first later packet with ACK and without SYN (null if none)."),
    Column::nullable("tcp_rtt_min", Float, "s", "Smallest timestamp-option RTT sample (null without samples)."),
    Column::nullable("tcp_rtt_max", Float, "s", "Largest timestamp-option RTT sample (null without samples)."),
    Column::nullable("tcp_rtt_mean", Float, "s", "Mean timestamp-option RTT sample: a packet whose TSecr (non-zero) echoes a TSval the other direction sent gives its time minus the time that TSval was last sent, kept if between 0 and 60 s exclusive (null without samples)."),
    Column::always("tcp_rtt_samples", Int, "samples", "Number of timestamp-option RTT samples."),
    Column::nullable("tcp_rtt_std", Float, "s", "Population standard deviation of the timestamp-option RTT samples (null without samples)."),
    Column::nullable("tcp_rtt_jitter_avg", Float, "s", "Mean absolute difference of consecutive timestamp-option RTT samples (null with fewer than 2)."),
    Column::nullable("tcp_rtt_ack_min", Float, "s", "Smallest of Wireshark's ACK RTT samples (tcp.analysis.ack_rtt), both directions (null without samples)."),
    Column::nullable("tcp_rtt_ack_max", Float, "s", "Largest ACK RTT sample (null without samples)."),
    Column::nullable("tcp_rtt_ack_mean", Float, "s", "Mean ACK RTT sample: a packet whose acknowledgment number equals the next sequence number of an unacknowledged segment (data, SYN or FIN) of the other direction gives its time minus that segment's (null without samples)."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "tcp_rtt",
    summary: "Round-trip times: Wireshark's initial (handshake) RTT, timestamp-option RTT samples and Wireshark's ACK RTT samples, in seconds.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(TcpRtt) },
};

struct TcpRtt;

/// Streaming min, max, mean and M2 of samples in µs.
#[derive(Debug, Clone, Copy, Default)]
struct Samples {
    n: u32,
    min: i64,
    max: i64,
    mean: f64,
    m2: f64,
    last: i64,
    jitter_sum: i64,
}

impl Samples {
    fn add(&mut self, x: i64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
            self.jitter_sum += (x - self.last).abs();
        }
        self.n += 1;
        let xf = x as f64;
        let d = xf - self.mean;
        self.mean += d / f64::from(self.n);
        self.m2 += d * (xf - self.mean);
        self.last = x;
    }
    fn get(&self, f: impl Fn(&Samples) -> f64) -> Option<f64> {
        (self.n > 0).then(|| f(self) / 1e6)
    }
}

/// Per-flow state of `tcp_rtt`.
#[derive(Debug, Clone, Default)]
pub struct RttState {
    conv: Conversation,
    initial: InitialRtt,
    ack: AckRtt,
    ack_samples: Samples,
    ts_samples: Samples,
    /// Per direction: (TSval, time it was last sent, µs), at most
    /// [`TS_KEPT`] each.
    ts_sent: [Vec<(u32, i64)>; 2],
}

impl FeatureGroup for TcpRtt {
    type State = Lazy<RttState>;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> Lazy<RttState> {
        Lazy::NONE
    }

    #[inline]
    fn update(&self, st: &mut Lazy<RttState>, pkt: &PacketView<'_>) {
        if pkt.proto() != 6 {
            return;
        }
        let Some(s) = Segment::of(pkt) else {
            return;
        };
        let st = st.get_or_default();
        if st.conv.segment(&s) {
            // A new connection on the same 5-tuple: Wireshark's unacked
            // segments and initial RTT start over (the samples stay).
            st.ack = AckRtt::default();
            st.initial = InitialRtt::NEW;
        }
        if let Some(r) = st.ack.segment(&s) {
            st.ack_samples.add(r);
        }
        st.initial.segment(s.flags, s.ts_us);
        if let Some(ts) = pkt.tcp().and_then(|t| t.options().timestamps) {
            st.timestamps(s.dir & 1, ts.val, ts.ecr, s.ts_us);
        }
    }

    fn write(&self, _flow: &FlowView<'_>, st: &Lazy<RttState>, out: &mut RowWriter<'_>) {
        let none = RttState::default();
        let st = st.or(&none);
        out.put(st.initial.get_us().map(|r| r as f64 / 1e6));
        let t = &st.ts_samples;
        out.put(t.get(|s| s.min as f64));
        out.put(t.get(|s| s.max as f64));
        out.put(t.get(|s| s.mean));
        out.put(i64::from(t.n));
        out.put(t.get(|s| (s.m2 / f64::from(s.n)).max(0.0).sqrt()));
        out.put((t.n >= 2).then(|| t.jitter_sum as f64 / f64::from(t.n - 1) / 1e6));
        let a = &st.ack_samples;
        out.put(a.get(|s| s.min as f64));
        out.put(a.get(|s| s.max as f64));
        out.put(a.get(|s| s.mean));
    }
}

impl RttState {
    fn timestamps(&mut self, d: usize, val: u32, ecr: u32, now: i64) {
        let sent = &mut self.ts_sent[d];
        match sent.iter_mut().find(|e| e.0 == val) {
            Some(e) => e.1 = now,
            None => {
                if sent.len() == TS_KEPT {
                    // Forget the TSval sent longest ago.
                    let old = (0..sent.len()).min_by_key(|&i| sent[i].1).unwrap_or(0);
                    sent.swap_remove(old);
                }
                sent.push((val, now));
            }
        }
        if ecr != 0 {
            if let Some(&(_, t)) = self.ts_sent[1 - d].iter().find(|e| e.0 == ecr) {
                let r = now - t;
                if r > 0 && r < TS_RTT_MAX_US {
                    self.ts_samples.add(r);
                }
            }
        }
    }
}

// The size the documentation states (the lists' elements are apart).
const _: () = assert!(std::mem::size_of::<RttState>() == 240);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_samples_and_the_kept_tsvals() {
        let mut st = RttState::default();
        // The initiator sends TSvals 1..=20, 1 ms apart.
        for v in 1..=20u32 {
            st.timestamps(0, v, 0, i64::from(v) * 1000);
        }
        // An echo of TSval 2 (forgotten: only the last 16 are kept).
        st.timestamps(1, 500, 2, 30_000);
        assert_eq!(st.ts_samples.n, 0);
        // Echoes of 20 and 19: 10 ms and 12 ms.
        st.timestamps(1, 501, 20, 30_000);
        st.timestamps(1, 502, 19, 31_000);
        assert_eq!(st.ts_samples.n, 2);
        assert_eq!((st.ts_samples.min, st.ts_samples.max), (10_000, 12_000));
        assert_eq!(st.ts_samples.jitter_sum, 2_000);
        // A TSval sent again moves its time: the echo measures from the
        // last send.
        st.timestamps(0, 20, 0, 40_000);
        st.timestamps(1, 503, 20, 41_000);
        assert_eq!(st.ts_samples.min, 1_000);
        // Echo 0 and RTTs not in (0, 60 s) give nothing.
        st.timestamps(1, 504, 0, 42_000);
        st.timestamps(1, 505, 20, 40_000);
        st.timestamps(1, 506, 20, 40_000 + TS_RTT_MAX_US);
        assert_eq!(st.ts_samples.n, 3);
        assert!(st.ts_sent.iter().all(|v| v.len() <= TS_KEPT));
    }

    #[test]
    fn sample_statistics_equal_a_naive_computation() {
        let xs = [5i64, 1, 9, 9, 2, 40, 3];
        let mut s = Samples::default();
        for &x in &xs {
            s.add(x);
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<i64>() as f64 / n;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!((s.mean - mean).abs() < 1e-12);
        assert!((s.m2 / n - var).abs() < 1e-9);
        let jit: i64 = xs.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
        assert_eq!(s.jitter_sum, jit);
        assert_eq!((s.min, s.max), (1, 40));
    }
}
