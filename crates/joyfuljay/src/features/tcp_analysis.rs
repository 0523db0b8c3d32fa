//! TCP sequence analysis as Wireshark's TCP dissector does it (its
//! `tcp.analysis.*` flags), shared by the `tcp`, `tcp_sequence` and
//! `tcp_rtt` groups. Definitions: `docs/semantics.md#tcp-analysis`.
//!
//! Each packet is classified from the state of its own direction and of the
//! other one, in capture order, by Wireshark's rules (Wireshark 4.0,
//! `epan/dissectors/packet-tcp.c`, `tcp_analyze_sequence_number`; our own
//! code): zero-window probe, keep-alive, duplicate ACK (a segment without
//! data, SYN, FIN or RST repeating its direction's last ACK number and
//! window at the next expected sequence number), and for segments carrying
//! data, SYN or FIN that do not advance the sequence: spurious
//! retransmission (all of it already acknowledged), fast retransmission
//! (after two duplicate ACKs, within 20 ms of the last), out-of-order
//! (within the initial RTT, or 3 ms before it is known, of the highest
//! segment) and otherwise retransmission. Sequence numbers compare modulo
//! 2³² (wraparound); like Wireshark, a stored sequence number 0 means
//! "nothing seen yet". Windows are compared scaled, with the shift from the
//! handshake's window-scale options as Wireshark takes it.
//!
//! A SYN starting a new connection on the same 5-tuple (a different initial
//! sequence number) starts the analysis over, as Wireshark starts a new
//! conversation ([`Conversation`]).
//!
//! [`SeqAnalysis`] holds only scalars (no list): 112 bytes. The ACK RTT
//! samples need the unacknowledged segments of each direction:
//! [`AckRtt`] keeps them (at most [`MAX_UNACKED`] per direction, as
//! Wireshark).

use crate::decode::tcp_flags::{ACK, FIN, RST, SYN};

/// Analysis flags of one packet (a bit set).
pub mod verdict {
    /// `tcp.analysis.retransmission`.
    pub const RETRANSMISSION: u16 = 1;
    /// `tcp.analysis.fast_retransmission`.
    pub const FAST_RETRANSMISSION: u16 = 1 << 1;
    /// `tcp.analysis.spurious_retransmission`.
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 2;
    /// `tcp.analysis.out_of_order`.
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    /// `tcp.analysis.duplicate_ack`.
    pub const DUPLICATE_ACK: u16 = 1 << 4;
    /// `tcp.analysis.keep_alive`.
    pub const KEEP_ALIVE: u16 = 1 << 5;
    /// `tcp.analysis.zero_window_probe`.
    pub const ZERO_WINDOW_PROBE: u16 = 1 << 6;
    /// `tcp.analysis.lost_segment` (a gap before this segment).
    pub const LOST_SEGMENT: u16 = 1 << 7;
    /// `tcp.analysis.ack_lost_segment` (ACKs data not seen).
    pub const ACK_LOST_SEGMENT: u16 = 1 << 8;
    /// `tcp.analysis.keep_alive_ack`.
    pub const KEEP_ALIVE_ACK: u16 = 1 << 9;
    /// `tcp.analysis.zero_window_probe_ack`.
    pub const ZERO_WINDOW_PROBE_ACK: u16 = 1 << 10;
    /// `tcp.analysis.zero_window`.
    pub const ZERO_WINDOW: u16 = 1 << 11;
    /// `tcp.analysis.window_update`.
    pub const WINDOW_UPDATE: u16 = 1 << 12;
    /// Any of the three retransmission kinds.
    pub const ANY_RETRANSMISSION: u16 =
        RETRANSMISSION | FAST_RETRANSMISSION | SPURIOUS_RETRANSMISSION;
}
use verdict::*;

/// Unacknowledged segments kept per direction for the ACK RTT (Wireshark's
/// `TCP_MAX_UNACKED_SEGMENTS`): past it, new segments are not tracked.
pub const MAX_UNACKED: usize = 10_000;

/// Fast retransmission window after the last duplicate ACK, µs.
const FAST_RETRANS_US: u64 = 20_000;
/// Out-of-order window before the initial RTT is known, µs.
const OOO_DEFAULT_US: u64 = 3_000;

/// `a` after `b` in sequence space.
#[inline]
fn gt(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}
/// `a` before `b` in sequence space.
#[inline]
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
/// `a` before or at `b` in sequence space.
#[inline]
fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// One TCP segment as the analysis reads it.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// Timestamp, µs.
    pub ts_us: i64,
    /// 0: from the initiator, 1: from the responder.
    pub dir: usize,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (as written, whether ACK is set or not).
    pub ack: u32,
    /// Payload bytes (from the IP length).
    pub len: u32,
    /// Flags byte.
    pub flags: u8,
    /// Window field, raw.
    pub window: u16,
    /// Window scale option's shift (SYN segments only).
    pub wscale: Option<u8>,
}

impl Segment {
    /// The segment of a TCP packet, `None` for other packets (and for a
    /// later IP fragment, which has no TCP header).
    #[inline]
    pub fn of(pkt: &crate::packet::PacketView<'_>) -> Option<Segment> {
        if pkt.proto() != 6 {
            return None;
        }
        let t = pkt.tcp()?;
        let wscale = if t.flags & SYN != 0 {
            t.options().window_scale
        } else {
            None
        };
        Some(Segment {
            ts_us: pkt.ts_us,
            dir: pkt.dir as usize,
            seq: t.seq,
            ack: t.ack,
            len: pkt.payload_len(),
            flags: t.flags,
            window: t.window,
            wscale,
        })
    }
}

/// One direction's analysis state.
#[derive(Debug, Clone, Copy)]
struct Side {
    /// Highest next sequence number seen (0: none yet).
    nextseq: u32,
    /// Highest contiguous sequence number to be acknowledged (0: none).
    maxseqtobeacked: u32,
    /// Last acknowledgment number sent.
    lastack: u32,
    /// Last window sent, scaled (`u32::MAX`: none yet).
    window: u32,
    /// Duplicate ACKs in a row (−1: neutralised by an ACK of unseen data).
    dupacknum: i32,
    /// When `nextseq` was last advanced, µs.
    nextseq_us: i64,
    /// When `lastack` was last set, µs.
    lastack_us: i64,
    /// Window scale shift: −1 unknown, −2 not used, else the shift.
    win_scale: i8,
    /// The last segment's keep-alive / zero-window-probe flags.
    last_flags: u8,
}

const LAST_KEEP_ALIVE: u8 = 1;
const LAST_ZWP: u8 = 2;

impl Side {
    const NEW: Side = Side {
        nextseq: 0,
        maxseqtobeacked: 0,
        lastack: 0,
        window: u32::MAX,
        dupacknum: 0,
        nextseq_us: 0,
        lastack_us: 0,
        win_scale: -1,
        last_flags: 0,
    };
}

/// The initial RTT (`tcp.analysis.initial_rtt`): from the most recent SYN
/// without ACK to the first segment after it with ACK and without SYN, in
/// either direction (16 bytes). Like Wireshark, a time or RTT of exactly 0
/// counts as "not yet".
#[derive(Debug, Clone, Copy, Default)]
pub struct InitialRtt {
    /// Time of the most recent SYN without ACK, µs (0: none).
    mru_syn_us: i64,
    /// Initial RTT, µs (0: not known).
    first_rtt_us: i64,
}

impl InitialRtt {
    /// The state before any packet.
    pub const NEW: InitialRtt = InitialRtt {
        mru_syn_us: 0,
        first_rtt_us: 0,
    };

    /// The initial RTT, µs.
    pub fn get_us(&self) -> Option<i64> {
        (self.first_rtt_us != 0).then_some(self.first_rtt_us)
    }

    /// Account a segment (after its sequence analysis).
    #[inline]
    pub fn segment(&mut self, flags: u8, now: i64) {
        if flags & (SYN | ACK) == ACK && self.mru_syn_us != 0 && self.first_rtt_us == 0 {
            self.first_rtt_us = now - self.mru_syn_us;
        }
        if flags & (SYN | ACK) == SYN {
            self.mru_syn_us = now;
        }
    }
}

/// Each side's base sequence number, to tell a new connection on the same
/// 5-tuple (12 bytes). As Wireshark: a side's base is the sequence number of
/// its first segment (minus 1 unless it is a SYN), or the acknowledgment
/// number − 1 of the other side's first segment with ACK; a SYN without ACK
/// whose sequence number differs from its side's base starts a new
/// connection ("port numbers reused"): the analysis starts over.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conversation {
    base: [u32; 2],
    /// Bit d: side d's base is set.
    set: u8,
}

impl Conversation {
    /// The state before any packet.
    pub const NEW: Conversation = Conversation {
        base: [0; 2],
        set: 0,
    };

    /// Account a segment; true when it starts a new connection (the caller
    /// resets its analysis state before analysing it).
    #[inline]
    pub fn segment(&mut self, s: &Segment) -> bool {
        let (d, r) = (s.dir & 1, 1 - (s.dir & 1));
        let reused =
            s.flags & (SYN | ACK) == SYN && self.set & (1 << d) != 0 && s.seq != self.base[d];
        if reused {
            *self = Conversation::NEW;
        }
        if self.set & (1 << d) == 0 {
            self.base[d] = if s.flags & SYN != 0 {
                s.seq
            } else {
                s.seq.wrapping_sub(1)
            };
            self.set |= 1 << d;
        }
        if self.set & (1 << r) == 0 && s.flags & ACK != 0 {
            self.base[r] = s.ack.wrapping_sub(1);
            self.set |= 1 << r;
        }
        reused
    }
}

/// Wireshark's per-connection sequence analysis state (112 bytes).
#[derive(Debug, Clone, Copy)]
pub struct SeqAnalysis {
    side: [Side; 2],
    rtt: InitialRtt,
    conv: Conversation,
}

// The size the documentation states.
const _: () = assert!(std::mem::size_of::<SeqAnalysis>() == 112);

impl Default for SeqAnalysis {
    fn default() -> Self {
        SeqAnalysis::NEW
    }
}

impl SeqAnalysis {
    /// The state before any packet.
    pub const NEW: SeqAnalysis = SeqAnalysis {
        side: [Side::NEW; 2],
        rtt: InitialRtt::NEW,
        conv: Conversation::NEW,
    };

    /// The initial RTT, µs.
    pub fn initial_rtt_us(&self) -> Option<i64> {
        self.rtt.get_us()
    }

    /// Classify one segment and update the state; returns its
    /// [`verdict`] flags.
    pub fn segment(&mut self, s: &Segment) -> u16 {
        if self.conv.segment(s) {
            let conv = self.conv;
            *self = SeqAnalysis::NEW;
            self.conv = conv;
        }
        let d = s.dir & 1;
        let flags = s.flags;
        let now = s.ts_us;
        let seglen = s.len;
        let (seq, ack) = (s.seq, s.ack);

        // Window scaling from the handshake (SYNs are never scaled).
        let window = if flags & SYN != 0 {
            u32::from(s.window)
        } else if self.side[d].win_scale >= 0 {
            u32::from(s.window) << self.side[d].win_scale
        } else {
            u32::from(s.window)
        };

        let mut v: u16 = 0;
        let (fwd, rev) = if d == 0 {
            let (a, b) = self.side.split_at_mut(1);
            (&mut a[0], &mut b[0])
        } else {
            let (a, b) = self.side.split_at_mut(1);
            (&mut b[0], &mut a[0])
        };
        let no_syn_fin_rst = flags & (SYN | FIN | RST) == 0;

        'fwd: {
            // Zero-window probe.
            if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
                v |= ZERO_WINDOW_PROBE;
                break 'fwd;
            }
            if window == 0 && no_syn_fin_rst {
                v |= ZERO_WINDOW;
            }
            // A gap before this segment.
            if fwd.nextseq != 0 && gt(seq, fwd.nextseq) && flags & RST == 0 {
                v |= LOST_SEGMENT;
            }
            // Keep-alive: 0 or 1 byte one before the next sequence number.
            if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && no_syn_fin_rst {
                v |= KEEP_ALIVE;
            }
            if seglen == 0
                && window != 0
                && window != fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && no_syn_fin_rst
            {
                v |= WINDOW_UPDATE;
            }
            let repeats = seglen == 0 && seq == fwd.nextseq && ack == fwd.lastack && no_syn_fin_rst;
            if repeats
                && window != 0
                && window == fwd.window
                && rev.last_flags & LAST_KEEP_ALIVE != 0
            {
                v |= KEEP_ALIVE_ACK;
                break 'fwd;
            }
            if repeats && window == 0 && window == fwd.window && rev.last_flags & LAST_ZWP != 0 {
                v |= ZERO_WINDOW_PROBE_ACK;
                break 'fwd;
            }
            if repeats && window != 0 && window == fwd.window {
                fwd.dupacknum = if fwd.dupacknum == -1 {
                    1
                } else {
                    fwd.dupacknum + 1
                };
                v |= DUPLICATE_ACK;
            }
        }
        // A new acknowledgment number ends a run of duplicate ACKs.
        if ack != fwd.lastack {
            fwd.dupacknum = 0;
        }

        // ACK of data not seen.
        if rev.maxseqtobeacked != 0 && gt(ack, rev.maxseqtobeacked) && flags & ACK != 0 {
            if rev.maxseqtobeacked > rev.nextseq {
                rev.maxseqtobeacked = rev.nextseq;
                v |= ACK_LOST_SEGMENT;
            } else {
                if rev.dupacknum == 0 {
                    v |= ACK_LOST_SEGMENT;
                }
                rev.dupacknum = -1;
            }
        }

        // Retransmission, fast retransmission, spurious retransmission,
        // out-of-order.
        if (seglen > 0 || flags & (SYN | FIN) != 0) && v & KEEP_ALIVE == 0 {
            let mut not_advanced = fwd.nextseq != 0 && lt(seq, fwd.nextseq);
            if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
                not_advanced = false;
            }
            let syn_fin = u32::from(flags & (SYN | FIN) != 0);
            if seglen > 0 && rev.lastack != 0 && le(seq.wrapping_add(seglen), rev.lastack) {
                v |= SPURIOUS_RETRANSMISSION;
            } else if not_advanced
                && rev.dupacknum >= 2
                && rev.lastack == seq
                && (now.wrapping_sub(rev.lastack_us) as u64) < FAST_RETRANS_US
            {
                v |= FAST_RETRANSMISSION;
            } else if not_advanced
                && (now.wrapping_sub(fwd.nextseq_us) as u64)
                    < match self.rtt.get_us() {
                        None => OOO_DEFAULT_US,
                        Some(r) => r as u64,
                    }
                && fwd.nextseq != seq.wrapping_add(seglen).wrapping_add(syn_fin)
            {
                v |= OUT_OF_ORDER;
            } else if not_advanced {
                v |= RETRANSMISSION;
            }
        }

        let mut nextseq = seq.wrapping_add(seglen);
        if seglen > 0 || flags & (SYN | FIN) != 0 {
            nextseq = nextseq.wrapping_add(u32::from(flags & (SYN | FIN) != 0));
        }
        let zwp = v & ZERO_WINDOW_PROBE != 0;
        if (gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !zwp {
            fwd.nextseq = nextseq;
            fwd.nextseq_us = now;
        }
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && !zwp {
            fwd.maxseqtobeacked = fwd.nextseq;
        }
        fwd.window = window;
        fwd.lastack = ack;
        fwd.lastack_us = now;
        fwd.last_flags = if v & KEEP_ALIVE != 0 {
            LAST_KEEP_ALIVE
        } else {
            0
        } | if zwp { LAST_ZWP } else { 0 };

        // Window scaling, from the SYN's option (applies to later segments).
        if flags & SYN != 0 {
            if let Some(ws) = s.wscale {
                fwd.win_scale = ws.min(14) as i8;
            }
            if fwd.win_scale == -1 {
                fwd.win_scale = -2;
                rev.win_scale = -2;
            } else if flags & ACK != 0 && rev.win_scale == -2 {
                fwd.win_scale = -2;
            }
        }

        self.rtt.segment(flags, now);
        v
    }
}

/// The ACK RTT samples (`tcp.analysis.ack_rtt`): each direction's
/// unacknowledged segments (data, SYN or FIN) as (next sequence number,
/// time); a segment whose acknowledgment number equals a kept segment's
/// next sequence number is an ACK of it, and its RTT sample is the time
/// since the earliest such segment (a zero RTT is no sample, as Wireshark
/// shows none). Acknowledged and older segments are dropped.
#[derive(Debug, Default, Clone)]
pub struct AckRtt {
    unacked: [Vec<(u32, i64)>; 2],
}

impl AckRtt {
    /// Account a segment; returns its ACK RTT sample in µs, if any.
    pub fn segment(&mut self, s: &Segment) -> Option<i64> {
        let (d, r) = (s.dir & 1, 1 - (s.dir & 1));
        let carries = s.len > 0 || s.flags & (SYN | FIN) != 0;
        if carries && self.unacked[d].len() < MAX_UNACKED {
            let next = s
                .seq
                .wrapping_add(s.len)
                .wrapping_add(u32::from(s.flags & (SYN | FIN) != 0));
            self.unacked[d].push((next, s.ts_us));
        }
        let ack = s.ack;
        let mut acked: Option<i64> = None;
        let list = &mut self.unacked[r];
        if list.is_empty() {
            return None;
        }
        list.retain(|&(next, ts)| {
            if next == ack {
                if acked.is_none() {
                    acked = Some(ts);
                }
                false
            } else {
                gt(next, ack)
            }
        });
        match acked {
            Some(t) if s.ts_us != t => Some(s.ts_us - t),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(ts: i64, dir: usize, seq: u32, ack: u32, len: u32, flags: u8) -> Segment {
        Segment {
            ts_us: ts,
            dir,
            seq,
            ack,
            len,
            flags,
            window: 1000,
            wscale: None,
        }
    }

    const A: u8 = ACK;
    const PA: u8 = ACK | crate::decode::tcp_flags::PSH;

    /// A handshake from ISNs 999 (initiator) and 4999 (responder), 1 s
    /// apart per step; returns the analysis and the verdicts.
    fn handshake(a: &mut SeqAnalysis) -> [u16; 3] {
        [
            a.segment(&seg(1_000_000, 0, 999, 0, 0, SYN)),
            a.segment(&seg(1_010_000, 1, 4999, 1000, 0, SYN | ACK)),
            a.segment(&seg(1_020_000, 0, 1000, 5000, 0, A)),
        ]
    }

    #[test]
    fn clean_connection_flags_nothing() {
        let mut a = SeqAnalysis::default();
        assert_eq!(handshake(&mut a), [0, 0, 0]);
        // Initial RTT: SYN at 1.000 s to the ACK at 1.020 s.
        assert_eq!(a.initial_rtt_us(), Some(20_000));
        assert_eq!(a.segment(&seg(1_030_000, 0, 1000, 5000, 100, PA)), 0);
        assert_eq!(a.segment(&seg(1_040_000, 1, 5000, 1100, 0, A)), 0);
        assert_eq!(a.segment(&seg(1_050_000, 0, 1100, 5000, 0, A | FIN)), 0);
        assert_eq!(a.segment(&seg(1_060_000, 1, 5000, 1101, 0, A | FIN)), 0);
        assert_eq!(a.segment(&seg(1_070_000, 0, 1101, 5001, 0, A)), 0);
    }

    #[test]
    fn syn_retransmission() {
        let mut a = SeqAnalysis::default();
        assert_eq!(a.segment(&seg(1_000_000, 0, 999, 0, 0, SYN)), 0);
        assert_eq!(
            a.segment(&seg(2_000_000, 0, 999, 0, 0, SYN)),
            RETRANSMISSION
        );
        // The initial RTT runs from the most recent SYN.
        a.segment(&seg(2_010_000, 1, 4999, 1000, 0, SYN | ACK));
        a.segment(&seg(2_030_000, 0, 1000, 5000, 0, A));
        assert_eq!(a.initial_rtt_us(), Some(30_000));
    }

    #[test]
    fn keep_alives_are_not_retransmissions() {
        let mut a = SeqAnalysis::default();
        handshake(&mut a);
        a.segment(&seg(1_030_000, 0, 1000, 5000, 100, PA));
        a.segment(&seg(1_040_000, 1, 5000, 1100, 0, A));
        // 0 and 1 byte one before the next sequence number, seconds later.
        assert_eq!(a.segment(&seg(60_000_000, 0, 1099, 5000, 0, A)), KEEP_ALIVE);
        let v = a.segment(&seg(60_001_000, 1, 5000, 1100, 0, A));
        assert_eq!(v, KEEP_ALIVE_ACK);
        assert_eq!(
            a.segment(&seg(120_000_000, 0, 1099, 5000, 1, A)),
            KEEP_ALIVE
        );
    }

    #[test]
    fn zero_window_probes() {
        let mut a = SeqAnalysis::default();
        handshake(&mut a);
        a.segment(&seg(1_030_000, 0, 1000, 5000, 100, PA));
        let mut zero = seg(1_040_000, 1, 5000, 1100, 0, A);
        zero.window = 0;
        assert_eq!(a.segment(&zero), ZERO_WINDOW);
        // 1-byte probes at the next sequence number, repeated: probes,
        // never retransmissions (they do not advance the sequence).
        assert_eq!(
            a.segment(&seg(2_000_000, 0, 1100, 5000, 1, A)),
            ZERO_WINDOW_PROBE
        );
        let mut ack = seg(2_001_000, 1, 5000, 1100, 0, A);
        ack.window = 0;
        assert_eq!(a.segment(&ack), ZERO_WINDOW | ZERO_WINDOW_PROBE_ACK);
        assert_eq!(
            a.segment(&seg(4_000_000, 0, 1100, 5000, 1, A)),
            ZERO_WINDOW_PROBE
        );
    }

    #[test]
    fn duplicate_acks_then_fast_retransmission_then_spurious() {
        let mut a = SeqAnalysis::default();
        handshake(&mut a);
        for (i, s) in [1000u32, 1100, 1200].into_iter().enumerate() {
            assert_eq!(
                a.segment(&seg(1_030_000 + i as i64 * 1000, 0, s, 5000, 100, PA)),
                0
            );
        }
        assert_eq!(a.segment(&seg(1_040_000, 1, 5000, 1100, 0, A)), 0);
        for i in 0..3 {
            let v = a.segment(&seg(1_041_000 + i * 1000, 1, 5000, 1100, 0, A));
            assert_eq!(v, DUPLICATE_ACK, "dup ack {i}");
        }
        // Within 20 ms of the third duplicate ACK.
        assert_eq!(
            a.segment(&seg(1_050_000, 0, 1100, 5000, 100, PA)),
            FAST_RETRANSMISSION
        );
        // A new ACK number is no duplicate.
        assert_eq!(a.segment(&seg(1_060_000, 1, 5000, 1300, 0, A)), 0);
        // All of it acknowledged already: spurious.
        assert_eq!(
            a.segment(&seg(1_500_000, 0, 1000, 5000, 100, PA)),
            SPURIOUS_RETRANSMISSION
        );
        // Data not yet acknowledged sent again long after: retransmission.
        a.segment(&seg(1_510_000, 0, 1300, 5000, 100, PA));
        assert_eq!(
            a.segment(&seg(3_000_000, 0, 1300, 5000, 100, PA)),
            RETRANSMISSION
        );
    }

    #[test]
    fn out_of_order_and_gap() {
        let mut a = SeqAnalysis::default();
        handshake(&mut a);
        assert_eq!(a.segment(&seg(1_030_000, 0, 1000, 5000, 100, PA)), 0);
        // 1100..1200 missing: a gap.
        assert_eq!(
            a.segment(&seg(1_031_000, 0, 1200, 5000, 100, PA)),
            LOST_SEGMENT
        );
        // It arrives 1 ms later: within the initial RTT (20 ms).
        assert_eq!(
            a.segment(&seg(1_032_000, 0, 1100, 5000, 100, PA)),
            OUT_OF_ORDER
        );
        // Without a handshake the window is 3 ms.
        let mut b = SeqAnalysis::default();
        b.segment(&seg(1_000_000, 0, 1000, 5000, 100, PA));
        b.segment(&seg(1_001_000, 0, 1200, 5000, 100, PA));
        assert_eq!(
            b.segment(&seg(1_002_000, 0, 1100, 5000, 100, PA)),
            OUT_OF_ORDER
        );
        b.segment(&seg(1_003_000, 0, 1400, 5000, 100, PA));
        assert_eq!(
            b.segment(&seg(1_008_000, 0, 1300, 5000, 100, PA)),
            RETRANSMISSION
        );
    }

    #[test]
    fn sequence_wraparound() {
        let isn = u32::MAX - 50;
        let mut a = SeqAnalysis::default();
        assert_eq!(a.segment(&seg(1_000_000, 0, isn, 0, 0, SYN)), 0);
        a.segment(&seg(1_010_000, 1, 4999, isn.wrapping_add(1), 0, SYN | ACK));
        a.segment(&seg(1_020_000, 0, isn.wrapping_add(1), 5000, 0, A));
        // 100 bytes across 2^32, then the next segment starting at 50.
        assert_eq!(
            a.segment(&seg(1_030_000, 0, isn.wrapping_add(1), 5000, 100, PA)),
            0
        );
        assert_eq!(a.segment(&seg(1_040_000, 0, 50, 5000, 100, PA)), 0);
        assert_eq!(a.segment(&seg(1_050_000, 1, 5000, 150, 0, A)), 0);
        // The first one again, long after: all acknowledged, spurious.
        let v = a.segment(&seg(2_000_000, 0, isn.wrapping_add(1), 5000, 100, PA));
        assert_eq!(v, SPURIOUS_RETRANSMISSION);
        // A segment before the wrap not yet acknowledged: retransmission.
        let mut b = SeqAnalysis::default();
        b.segment(&seg(1_000_000, 0, isn, 0, 100, PA));
        b.segment(&seg(1_001_000, 0, isn.wrapping_add(100), 0, 100, PA));
        assert_eq!(
            b.segment(&seg(2_000_000, 0, isn, 0, 100, PA)),
            RETRANSMISSION
        );
    }

    #[test]
    fn window_scaling_from_the_handshake() {
        // With scaling agreed, a raw window equal to the SYN-ACK's is a
        // different (scaled) window: the ACK after it is a window update,
        // no duplicate.
        let mut a = SeqAnalysis::default();
        let mut syn = seg(1_000_000, 0, 999, 0, 0, SYN);
        syn.wscale = Some(7);
        a.segment(&syn);
        let mut sa = seg(1_010_000, 1, 4999, 1000, 0, SYN | ACK);
        sa.wscale = Some(7);
        a.segment(&sa);
        a.segment(&seg(1_020_000, 0, 1000, 5000, 0, A));
        assert_eq!(
            a.segment(&seg(1_030_000, 1, 5000, 1000, 0, A)),
            WINDOW_UPDATE
        );
        assert_eq!(
            a.segment(&seg(1_040_000, 1, 5000, 1000, 0, A)),
            DUPLICATE_ACK
        );
        // Without scaling the same sequence is a duplicate ACK at once.
        let mut b = SeqAnalysis::default();
        handshake(&mut b);
        assert_eq!(
            b.segment(&seg(1_030_000, 1, 5000, 1000, 0, A)),
            DUPLICATE_ACK
        );
    }

    #[test]
    fn ack_rtt_samples() {
        let mut r = AckRtt::default();
        assert_eq!(r.segment(&seg(1_000_000, 0, 999, 0, 0, SYN)), None);
        // The SYN-ACK acknowledges the SYN (next sequence 1000).
        assert_eq!(
            r.segment(&seg(1_010_000, 1, 4999, 1000, 0, SYN | ACK)),
            Some(10_000)
        );
        assert_eq!(
            r.segment(&seg(1_020_000, 0, 1000, 5000, 0, A)),
            Some(10_000)
        );
        r.segment(&seg(1_030_000, 0, 1000, 5000, 100, PA));
        r.segment(&seg(1_031_000, 0, 1100, 5000, 100, PA));
        // A partial ACK (inside a segment) gives no sample.
        assert_eq!(r.segment(&seg(1_040_000, 1, 5000, 1050, 0, A)), None);
        // Acknowledging the second segment: the sample is the second's;
        // the first is dropped.
        assert_eq!(
            r.segment(&seg(1_050_000, 1, 5000, 1200, 0, A)),
            Some(19_000)
        );
        assert_eq!(r.segment(&seg(1_060_000, 1, 5000, 1200, 0, A)), None);
        // A retransmitted segment: the sample runs from the first copy.
        r.segment(&seg(1_070_000, 0, 1200, 5000, 10, PA));
        r.segment(&seg(1_080_000, 0, 1200, 5000, 10, PA));
        assert_eq!(
            r.segment(&seg(1_090_000, 1, 5000, 1210, 0, A)),
            Some(20_000)
        );
    }

    #[test]
    fn sequence_compare_wraps() {
        assert!(gt(5, u32::MAX - 5));
        assert!(lt(u32::MAX - 5, 5));
        assert!(le(7, 7));
        assert!(!gt(7, 7));
    }
}
