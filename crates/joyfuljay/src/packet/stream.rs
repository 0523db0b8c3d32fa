//! TCP stream start reassembly: the first bytes of each direction in
//! sequence order.
//!
//! Parsers of connection openings (TLS, SSH, HTTP/2) need the first bytes
//! one side of a TCP connection sent, in order, whatever the capture did to
//! the segments carrying them: loss, retransmission, reordering, a snaplen
//! cut. A [`StreamStart`] collects them for one direction; a flow keeps
//! one per direction and feeds it every TCP segment of that direction with
//! [`StreamStart::push`]. How many bytes are wanted (the *budget*) is
//! passed to each call rather than stored, so the per-flow state carries
//! no configuration; callers pass the same budget every time.
//!
//! # Semantics
//!
//! - **Start of the stream.** A SYN's sequence number is the initial
//!   sequence number (ISN). The SYN takes up one sequence number, so the
//!   stream's first byte is at ISN + 1, and data carried by the SYN itself
//!   (TCP Fast Open) counts from there. Without a SYN, the first segment
//!   that carries data *anchors* the start at its own sequence number: the
//!   capture began in the middle of the connection, and
//!   [`StreamStart::anchored_by_syn`] says so. Data seen later that lies
//!   before the anchor is dropped (the part of a segment before the anchor;
//!   the rest of it is used as any other data), so a mid-stream start never
//!   moves back.
//! - **A SYN seen after the start is known.** If its data would start at
//!   the current start, it confirms it (typically a SYN captured after the
//!   first data segment, or a retransmitted SYN), and the start becomes
//!   SYN-anchored. Otherwise, if no byte is held yet (which happens only
//!   when the start came from an earlier SYN whose connection carried no
//!   data so far), the new SYN moves the start: the latest connection
//!   attempt wins. Otherwise the SYN belongs to another incarnation of the
//!   connection, or is bogus: the whole segment, payload included, is
//!   ignored and the bytes held are kept.
//! - **Sequence arithmetic** is modulo 2^32. A segment whose sequence
//!   number lies less than 2^31 after the start is ahead of it, anything
//!   else is before it; streams cross the wraparound like any other point.
//! - **Retransmissions and overlaps.** A byte once held is never replaced:
//!   the first copy wins, and only the part of a segment not held yet is
//!   taken, whatever the other bytes of the segment say.
//! - **Reordering.** Data ahead of the contiguous end is held at its place
//!   and joins the contiguous bytes when the hole before it fills. Held
//!   data beyond the contiguous end forms at most [`MAX_PIECES`] separate
//!   pieces (segments that touch or overlap merge into one piece); a
//!   segment that would make one more is dropped whole (a later
//!   retransmission of it is taken normally if there is room then).
//! - **Bounds.** Only the bytes at the first `budget` positions of the
//!   stream are kept; the rest of a segment is ignored. Nothing is
//!   allocated until a byte is held. Held bytes live at their place in one
//!   buffer that grows with the furthest byte held and never beyond
//!   `budget` bytes, so a hole before a held piece costs its size in
//!   memory until it fills. A budget above [`MAX_BUDGET`] acts as
//!   [`MAX_BUDGET`] (beyond half the sequence space, sequence numbers no
//!   longer tell ahead from behind). A budget that changes between calls
//!   never panics, and bytes already held are kept.
//! - **Snaplen.** A payload is used as captured: a segment cut short by the
//!   snaplen contributes the bytes it has, and the missing rest is a hole
//!   like a lost segment's.
//! - **Cost.** Once `budget` contiguous bytes are held, [`StreamStart::push`]
//!   returns at once for segments without SYN (a SYN still goes through the
//!   few comparisons of the rules above, so that a late SYN confirming the
//!   start is recorded); callers may also stop feeding
//!   ([`StreamStart::is_complete`]). Segments without payload and without
//!   SYN (pure ACKs) return at once too.
//!
//! No input makes it panic.

/// At most this many pieces of data are held beyond the contiguous bytes
/// (separated by holes); a segment that would make one more is dropped.
pub const MAX_PIECES: usize = 16;

/// The largest budget that has an effect: half the sequence space. A larger
/// budget acts as this one.
pub const MAX_BUDGET: usize = 1 << 31;

/// What the start of the stream was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Anchor {
    /// Nothing yet: no SYN and no data seen.
    #[default]
    None,
    /// The first data segment seen (mid-stream capture).
    Data,
    /// A SYN: the start is its sequence number plus one.
    Syn,
}

/// The first `budget` bytes of one direction of a TCP connection, in
/// sequence order.
///
/// Fed every segment of that direction with [`push`](Self::push); the
/// bytes from the start of the stream up to the first hole are
/// [`bytes`](Self::bytes). See the [module documentation](self) for how
/// the start is found and what happens on loss, retransmission and
/// reordering.
#[derive(Debug, Clone, Default)]
pub struct StreamStart {
    /// Held bytes, each at its offset from the start; the bytes of holes
    /// are zeros. Its length is the end of the furthest piece held.
    data: Vec<u8>,
    /// Pieces held beyond the contiguous bytes, as offset ranges
    /// `[start, end)`: sorted, each starting after the previous one's end
    /// plus one (they neither overlap nor touch), the first starting after
    /// `contig`. At most [`MAX_PIECES`].
    pieces: Vec<(u32, u32)>,
    /// Sequence number of the stream's first byte (meaningful once
    /// `anchor` is not `Anchor::None`).
    start: u32,
    /// Length of the contiguous bytes from the start (at most `data.len()`).
    contig: u32,
    /// What `start` came from.
    anchor: Anchor,
    /// No reader wants more: the bytes are freed and nothing is taken.
    closed: bool,
}

impl StreamStart {
    /// An empty stream start; allocates nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accounts one segment of this direction: its sequence number `seq`,
    /// whether it has the SYN flag, and its payload bytes as captured
    /// (possibly fewer than the segment carried). Keeps what falls within
    /// the first `budget` bytes of the stream and is not held yet.
    pub fn push(&mut self, budget: usize, seq: u32, syn: bool, payload: &[u8]) {
        if self.closed {
            return;
        }
        let budget = budget.min(MAX_BUDGET);
        let first = if syn {
            let data_start = seq.wrapping_add(1);
            if self.anchor == Anchor::None || self.start == data_start || self.is_empty() {
                self.start = data_start;
                self.anchor = Anchor::Syn;
            } else {
                // Another incarnation of the connection (or a bogus SYN):
                // its payload does not belong to the stream held.
                return;
            }
            data_start
        } else {
            if payload.is_empty() || self.contig as usize >= budget {
                return;
            }
            if self.anchor == Anchor::None {
                self.start = seq;
                self.anchor = Anchor::Data;
            }
            seq
        };
        if payload.is_empty() || self.contig as usize >= budget {
            return;
        }
        let rel = first.wrapping_sub(self.start);
        let (off, payload) = if rel < 1 << 31 {
            (rel as usize, payload)
        } else {
            // Before the start: only the part from the start on is used.
            let behind = rel.wrapping_neg() as usize;
            match payload.get(behind..) {
                Some(rest) if !rest.is_empty() => (0, rest),
                _ => return,
            }
        };
        if off >= budget {
            return;
        }
        let end = off + payload.len().min(budget - off);
        self.take(budget, off, end, payload);
    }

    /// The contiguous bytes from the start of the stream: at most the
    /// budget, fewer while a hole (or the end of what was seen so far)
    /// stops them.
    pub fn bytes(&self) -> &[u8] {
        // `contig` never exceeds the buffer's length; `get` keeps this
        // free of any panic path all the same.
        self.data.get(..self.contig as usize).unwrap_or(&[])
    }

    /// True when `budget` contiguous bytes are held: further segments
    /// change no byte (only a late SYN may still confirm the start), and
    /// callers may stop feeding.
    pub fn is_complete(&self, budget: usize) -> bool {
        self.closed || self.contig as usize >= budget.min(MAX_BUDGET)
    }

    /// Free the bytes held and take no more: every reader is done with
    /// this direction. Afterwards [`bytes`](Self::bytes) is empty and
    /// [`push`](Self::push) does nothing.
    pub fn close(&mut self) {
        *self = StreamStart {
            closed: true,
            ..StreamStart::default()
        };
    }

    /// Heap bytes held (the byte buffer's and the piece list's capacity),
    /// for the memory budget.
    pub fn heap_bytes(&self) -> usize {
        self.data.capacity() + self.pieces.capacity() * std::mem::size_of::<(u32, u32)>()
    }

    /// True once [`close`](Self::close)d.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// True when a hole (a lost segment, or one not seen yet) stops the
    /// contiguous bytes while data after it is held.
    pub fn has_gap(&self) -> bool {
        !self.pieces.is_empty()
    }

    /// True when the start of the stream came from a SYN, false when it
    /// came from the first data segment seen (a capture that began in the
    /// middle of the connection) or is not known yet.
    pub fn anchored_by_syn(&self) -> bool {
        self.anchor == Anchor::Syn
    }

    /// True when no byte is held, contiguous or not.
    fn is_empty(&self) -> bool {
        self.contig == 0 && self.pieces.is_empty()
    }

    /// Takes the range `[off, end)` of stream offsets, whose bytes are
    /// `payload[..end - off]` (`off < end <= budget`), keeping the bytes
    /// already held.
    fn take(&mut self, budget: usize, off: usize, end: usize, payload: &[u8]) {
        let contig = self.contig as usize;
        let from = off.max(contig);
        if from >= end {
            return;
        }
        // The pieces the new range overlaps or touches: `first..last`.
        let first = self.pieces.partition_point(|&(_, e)| (e as usize) < from);
        let last = self.pieces.partition_point(|&(s, _)| (s as usize) <= end);
        let (merged_start, merged_end) = if first < last {
            (
                from.min(self.pieces[first].0 as usize),
                end.max(self.pieces[last - 1].1 as usize),
            )
        } else {
            (from, end)
        };
        // Every piece starts after `contig`, so the merged range joins the
        // contiguous bytes only when the new data starts right there (and
        // then `first` is 0).
        let joins = merged_start == contig;
        let count = self.pieces.len() - (last - first) + usize::from(!joins);
        if count > MAX_PIECES {
            return;
        }
        self.grow(end, budget);
        // Copy what lies in the holes between the touched pieces.
        let mut at = from;
        for k in first..last {
            let (s, e) = self.pieces[k];
            let (s, e) = (s as usize, e as usize);
            if s > at {
                self.copy(at, s, off, payload);
            }
            at = at.max(e);
        }
        if at < end {
            self.copy(at, end, off, payload);
        }
        // Offsets fit in u32: they stay below the largest budget used,
        // which is at most MAX_BUDGET.
        if joins {
            self.pieces.drain(..last);
            self.contig = merged_end as u32;
        } else if first == last {
            self.pieces
                .insert(first, (merged_start as u32, merged_end as u32));
        } else {
            self.pieces[first] = (merged_start as u32, merged_end as u32);
            self.pieces.drain(first + 1..last);
        }
    }

    /// Copies the stream offsets `[from, to)` from `payload`, whose first
    /// byte is at offset `off`, into the buffer (already long enough).
    fn copy(&mut self, from: usize, to: usize, off: usize, payload: &[u8]) {
        if let (Some(dst), Some(src)) = (
            self.data.get_mut(from..to),
            payload.get(from - off..to - off),
        ) {
            dst.copy_from_slice(src);
        }
    }

    /// Makes the buffer at least `end` bytes long, zero-filled, growing
    /// its capacity by doubling but never past `budget` (or `end`, if
    /// more).
    fn grow(&mut self, end: usize, budget: usize) {
        let len = self.data.len();
        if end <= len {
            return;
        }
        let cap = self.data.capacity();
        if end > cap {
            let target = cap.saturating_mul(2).max(end).min(budget.max(end));
            self.data.reserve_exact(target - len);
        }
        self.data.resize(end, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use joyfuljay_testkit::SplitMix64;
    use proptest::prelude::*;

    /// Feeds `segments` (sequence number, SYN, payload) in order.
    fn feed(budget: usize, segments: &[(u32, bool, &[u8])]) -> StreamStart {
        let mut s = StreamStart::new();
        for &(seq, syn, payload) in segments {
            s.push(budget, seq, syn, payload);
        }
        s
    }

    #[test]
    fn new_is_empty_and_allocates_nothing() {
        let s = StreamStart::new();
        assert_eq!(s.bytes(), b"");
        assert!(!s.has_gap());
        assert!(!s.anchored_by_syn());
        assert!(!s.is_complete(10));
        assert!(s.is_complete(0));
        assert_eq!(s.data.capacity(), 0);
        assert_eq!(s.pieces.capacity(), 0);
    }

    #[test]
    fn in_order_with_syn() {
        let s = feed(
            100,
            &[
                (1000, true, b""),
                (1001, false, b"hello "),
                (1007, false, b""),
                (1007, false, b"world"),
            ],
        );
        assert_eq!(s.bytes(), b"hello world");
        assert!(s.anchored_by_syn());
        assert!(!s.has_gap());
        assert!(!s.is_complete(100));
        assert!(s.is_complete(11));
    }

    #[test]
    fn syn_alone_allocates_nothing() {
        let s = feed(100, &[(5, true, b""), (6, false, b"")]);
        assert!(s.anchored_by_syn());
        assert_eq!(s.bytes(), b"");
        assert_eq!(s.data.capacity(), 0);
    }

    #[test]
    fn data_on_syn_counts_from_isn_plus_one() {
        // TCP Fast Open: the SYN carries the first bytes.
        let s = feed(100, &[(41, true, b"abc"), (45, false, b"def")]);
        assert_eq!(s.bytes(), b"abcdef");
        assert!(s.anchored_by_syn());
    }

    #[test]
    fn without_syn_the_first_data_anchors() {
        let s = feed(
            100,
            &[
                // A pure ACK anchors nothing.
                (7, false, b""),
                (500, false, b"mid"),
                (503, false, b"dle"),
            ],
        );
        assert_eq!(s.bytes(), b"middle");
        assert!(!s.anchored_by_syn());
    }

    #[test]
    fn data_before_a_data_anchor_is_dropped() {
        let s = feed(
            100,
            &[
                (500, false, b"cd"),
                // Wholly before the anchor: dropped.
                (497, false, b"xyz"),
                // Straddling it: only the part from the anchor is used,
                // and it overlaps what is held (first copy wins).
                (498, false, b"abCDef"),
            ],
        );
        assert_eq!(s.bytes(), b"cdef");
        assert!(!s.has_gap());
    }

    #[test]
    fn late_syn_confirms_a_matching_data_anchor() {
        let s = feed(
            100,
            &[(11, false, b"ab"), (10, true, b""), (13, false, b"c")],
        );
        assert_eq!(s.bytes(), b"abc");
        assert!(s.anchored_by_syn());
    }

    #[test]
    fn late_syn_elsewhere_is_ignored_once_data_is_held() {
        // After a data anchor.
        let s = feed(
            100,
            &[(11, false, b"ab"), (3, true, b"zz"), (13, false, b"c")],
        );
        assert_eq!(s.bytes(), b"abc");
        assert!(!s.anchored_by_syn());
        // After a SYN anchor with data held (even only out of order).
        let mut s = feed(
            100,
            &[(10, true, b""), (13, false, b"cd"), (90, true, b"zz")],
        );
        assert!(s.has_gap());
        s.push(100, 11, false, b"ab");
        assert_eq!(s.bytes(), b"abcd");
        assert!(s.anchored_by_syn());
    }

    #[test]
    fn new_syn_moves_the_start_while_nothing_is_held() {
        let s = feed(
            100,
            &[
                (10, true, b""),
                (90, true, b""),
                (11, false, b"old"),
                (91, false, b"new"),
            ],
        );
        assert_eq!(s.bytes(), b"new");
        assert!(s.anchored_by_syn());
    }

    #[test]
    fn retransmission_with_different_bytes_first_copy_wins() {
        let s = feed(
            100,
            &[
                (0, true, b""),
                (1, false, b"abcd"),
                (1, false, b"WXYZ"),
                (5, false, b"e"),
            ],
        );
        assert_eq!(s.bytes(), b"abcde");
        // Also for data held beyond a hole.
        let s = feed(
            100,
            &[
                (0, true, b""),
                (5, false, b"ef"),
                (5, false, b"EFG"),
                (1, false, b"ABCD"),
            ],
        );
        assert_eq!(s.bytes(), b"ABCDefG");
    }

    #[test]
    fn partial_overlap_takes_only_the_new_part() {
        let s = feed(
            100,
            &[
                (0, true, b""),
                (1, false, b"abcd"),
                (3, false, b"CDEF"),
                (7, false, b"g"),
            ],
        );
        assert_eq!(s.bytes(), b"abcdEFg");
        // A segment spanning two held pieces fills the holes only.
        let s = feed(
            100,
            &[
                (0, true, b""),
                (3, false, b"c"),
                (6, false, b"f"),
                (1, false, b"ABCDEFGH"),
            ],
        );
        assert_eq!(s.bytes(), b"ABcDEfGH");
        assert!(!s.has_gap());
    }

    #[test]
    fn out_of_order_then_fill() {
        let mut s = feed(
            100,
            &[
                (100, true, b""),
                (107, false, b"world"),
                (104, false, b"lo "),
            ],
        );
        assert_eq!(s.bytes(), b"");
        assert!(s.has_gap());
        assert_eq!(s.pieces, vec![(3, 11)]);
        s.push(100, 101, false, b"hel");
        assert_eq!(s.bytes(), b"hello world");
        assert!(!s.has_gap());
    }

    #[test]
    fn loss_leaves_a_gap() {
        let s = feed(
            100,
            &[
                (0, true, b""),
                (1, false, b"ab"),
                (5, false, b"ef"),
                (7, false, b"gh"),
            ],
        );
        assert_eq!(s.bytes(), b"ab");
        assert!(s.has_gap());
        assert_eq!(s.pieces, vec![(4, 8)]);
    }

    #[test]
    fn wraparound_across_2_pow_32() {
        // SYN at the last sequence number: the data starts at 0.
        let s = feed(
            100,
            &[(u32::MAX, true, b""), (0, false, b"ab"), (2, false, b"c")],
        );
        assert_eq!(s.bytes(), b"abc");
        // A segment crossing the wrap, another after it, out of order.
        let s = feed(
            100,
            &[
                (u32::MAX - 3, true, b""),
                (2, false, b"fg"),
                (u32::MAX - 2, false, b"abcde"),
            ],
        );
        assert_eq!(s.bytes(), b"abcdefg");
        // Data before a data anchor across the wrap is dropped.
        let s = feed(100, &[(1, false, b"xy"), (u32::MAX, false, b"abcdef")]);
        assert_eq!(s.bytes(), b"xyef");
    }

    #[test]
    fn budget_cuts_mid_segment() {
        let mut s = feed(
            5,
            &[(0, true, b""), (1, false, b"abc"), (4, false, b"defgh")],
        );
        assert_eq!(s.bytes(), b"abcde");
        assert!(s.is_complete(5));
        assert!(s.data.capacity() <= 5);
        // Complete: nothing changes any more.
        s.push(5, 0, true, b"zz");
        s.push(5, 9, false, b"zz");
        assert_eq!(s.bytes(), b"abcde");
        // Data wholly beyond the budget is not held, not even as a piece.
        let s = feed(5, &[(0, true, b""), (6, false, b"zz"), (1, false, b"ab")]);
        assert_eq!(s.bytes(), b"ab");
        assert!(!s.has_gap());
    }

    #[test]
    fn budget_zero_holds_nothing() {
        let s = feed(0, &[(0, true, b""), (1, false, b"abc")]);
        assert_eq!(s.bytes(), b"");
        assert!(s.is_complete(0));
        assert_eq!(s.data.capacity(), 0);
    }

    #[test]
    fn zero_length_segments_change_nothing() {
        let s = feed(
            100,
            &[
                (0, false, b""),
                (50, false, b""),
                (10, true, b""),
                (11, false, b""),
                (30, false, b""),
                (11, false, b"a"),
                (12, false, b""),
            ],
        );
        assert_eq!(s.bytes(), b"a");
        assert!(!s.has_gap());
    }

    #[test]
    fn truncated_payload_leaves_a_hole() {
        // The second segment carried 4 bytes, the capture kept 2.
        let mut s = feed(
            100,
            &[
                (0, true, b""),
                (1, false, b"ab"),
                (3, false, b"cd"),
                (7, false, b"gh"),
            ],
        );
        assert_eq!(s.bytes(), b"abcd");
        assert!(s.has_gap());
        // A retransmission fills the hole.
        s.push(100, 3, false, b"cdef");
        assert_eq!(s.bytes(), b"abcdefgh");
    }

    #[test]
    fn piece_limit() {
        let budget = 1000;
        let mut s = feed(budget, &[(0, true, b"")]);
        // MAX_PIECES separate pieces, one byte each with one-byte holes.
        for k in 0..MAX_PIECES as u32 {
            s.push(budget, 3 + 2 * k, false, b"x");
        }
        assert_eq!(s.pieces.len(), MAX_PIECES);
        // One more separate piece is dropped.
        let far = 3 + 2 * MAX_PIECES as u32 + 10;
        s.push(budget, far, false, b"y");
        assert_eq!(s.pieces.len(), MAX_PIECES);
        assert!(!s.pieces.iter().any(|&(a, _)| a == far - 1));
        // Data touching a piece merges into it and is taken.
        let after_last = 3 + 2 * (MAX_PIECES as u32 - 1) + 1;
        s.push(budget, after_last, false, b"z");
        assert_eq!(s.pieces.len(), MAX_PIECES);
        // Filling one hole merges two pieces: room for one more.
        s.push(budget, 4, false, b"-");
        assert_eq!(s.pieces.len(), MAX_PIECES - 1);
        s.push(budget, far, false, b"y");
        assert_eq!(s.pieces.len(), MAX_PIECES);
        // Data joining the contiguous bytes is always taken.
        s.push(budget, 1, false, b"ab");
        assert_eq!(s.bytes(), b"abx-x");
        assert_eq!(s.pieces.len(), MAX_PIECES - 1);
        // Fill every hole up to the dropped-then-retaken piece.
        let mut expected = b"abx-x".to_vec();
        for k in 2..MAX_PIECES as u32 {
            s.push(budget, 2 + 2 * k, false, b"-");
            expected.extend_from_slice(b"-x");
        }
        expected.push(b'z');
        assert_eq!(s.bytes(), &expected[..]);
        assert_eq!(s.pieces.len(), 1);
    }

    #[test]
    fn late_syn_is_recorded_even_when_complete() {
        let s = feed(3, &[(11, false, b"abcd"), (10, true, b"")]);
        assert!(s.is_complete(3));
        assert_eq!(s.bytes(), b"abc");
        assert!(s.anchored_by_syn());
        let s = feed(0, &[(10, true, b""), (11, false, b"ab")]);
        assert!(s.anchored_by_syn());
        assert_eq!(s.bytes(), b"");
    }

    #[test]
    fn huge_or_changing_budgets_do_not_panic() {
        let mut s = StreamStart::new();
        s.push(usize::MAX, 0, true, b"");
        s.push(usize::MAX, 1, false, b"abc");
        // 2^31 after the start counts as before it.
        s.push(usize::MAX, 1 + (1 << 31), false, b"far");
        // Two bytes before the start: the rest is used.
        s.push(usize::MAX, u32::MAX, false, b"zzabcD");
        assert_eq!(s.bytes(), b"abcD");
        assert!(!s.is_complete(usize::MAX));
        assert!(s.data.capacity() < 64);
        // The budget shrinks below what is held, then grows again.
        s.push(2, 5, false, b"e");
        assert!(s.is_complete(2));
        assert_eq!(s.bytes(), b"abcD");
        s.push(20, 15, false, b"op");
        s.push(10, 5, false, b"efghijklmn");
        s.push(12, 11, false, b"klmn");
        assert_eq!(s.bytes(), b"abcDefghijkl");
        assert!(s.has_gap());
        s.push(20, 13, false, b"mn");
        assert_eq!(s.bytes(), b"abcDefghijklmnop");
        assert!(!s.has_gap());
    }

    /// Cuts a stream of `len` bytes at `cuts` (offsets modulo `len + 1`,
    /// any order) into `(offset, len)` segments, none empty.
    fn segments(len: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
        let mut points: Vec<usize> = cuts.iter().map(|&c| c % (len + 1)).collect();
        points.push(0);
        points.push(len);
        points.sort_unstable();
        points.dedup();
        points.windows(2).map(|w| (w[0], w[1] - w[0])).collect()
    }

    /// The byte-by-byte model: one optional byte per stream position below
    /// the budget, the same anchoring rules, and the piece limit counted as
    /// runs of held bytes after the first hole.
    struct Model {
        start: Option<u32>,
        by_syn: bool,
        cells: Vec<Option<u8>>,
    }

    impl Model {
        fn new(budget: usize) -> Self {
            Model {
                start: None,
                by_syn: false,
                cells: vec![None; budget],
            }
        }

        fn contig(&self) -> usize {
            self.cells
                .iter()
                .position(Option::is_none)
                .unwrap_or(self.cells.len())
        }

        fn runs_after_contig(&self) -> usize {
            let c = self.contig();
            let mut runs = 0;
            let mut prev = false;
            for cell in &self.cells[c..] {
                if cell.is_some() && !prev {
                    runs += 1;
                }
                prev = cell.is_some();
            }
            runs
        }

        fn push(&mut self, seq: u32, syn: bool, payload: &[u8]) {
            let complete = self.contig() >= self.cells.len();
            if complete && !syn {
                return;
            }
            let first = if syn {
                let ds = seq.wrapping_add(1);
                let nothing_held = self.cells.iter().all(Option::is_none);
                if self.start.is_none() || self.start == Some(ds) || nothing_held {
                    self.start = Some(ds);
                    self.by_syn = true;
                } else {
                    return;
                }
                ds
            } else {
                if payload.is_empty() {
                    return;
                }
                if self.start.is_none() {
                    self.start = Some(seq);
                }
                seq
            };
            if complete {
                return;
            }
            let start = self.start.unwrap();
            let before = self.cells.clone();
            for (i, &b) in payload.iter().enumerate() {
                let rel = first.wrapping_add(i as u32).wrapping_sub(start) as usize;
                if let Some(cell) = self.cells.get_mut(rel) {
                    cell.get_or_insert(b);
                }
            }
            if self.runs_after_contig() > MAX_PIECES {
                self.cells = before;
            }
        }

        fn bytes(&self) -> Vec<u8> {
            self.cells[..self.contig()]
                .iter()
                .map(|c| c.unwrap())
                .collect()
        }
    }

    proptest! {
        /// No loss: every segment arrives at least once, shuffled, some
        /// twice, with the SYN first or without SYN. With at most
        /// `MAX_PIECES + 1` segments the piece limit never bites, so the
        /// result is the true stream from the anchor, up to the budget.
        #[test]
        fn lossless_feeds_give_the_stream_prefix(
            stream in prop::collection::vec(any::<u8>(), 0..300),
            cuts in prop::collection::vec(any::<usize>(), 0..=MAX_PIECES),
            isn in prop_oneof![any::<u32>(), (u32::MAX - 400)..=u32::MAX],
            with_syn in any::<bool>(),
            fast_open in any::<bool>(),
            budget in 0usize..350,
            seed in any::<u64>(),
        ) {
            let mut rng = SplitMix64(seed);
            let segs = segments(stream.len(), &cuts);
            let mut order: Vec<(usize, usize)> = segs.clone();
            for &seg in &segs {
                if rng.below(4) == 0 {
                    order.push(seg);
                }
            }
            rng.shuffle(&mut order);
            // Pure ACKs scattered anywhere.
            for _ in 0..rng.below(3) {
                let at = rng.below(order.len() + 1);
                order.insert(at, (rng.below(stream.len() + 1), 0));
            }
            let data_start = isn.wrapping_add(1);
            let mut s = StreamStart::new();
            if with_syn {
                let tfo: &[u8] = match segs.first() {
                    Some(&(0, len)) if fast_open => &stream[..len],
                    _ => b"",
                };
                s.push(budget, isn, true, tfo);
            }
            for &(off, len) in &order {
                s.push(budget, data_start.wrapping_add(off as u32), false, &stream[off..off + len]);
            }
            let anchor = if with_syn {
                0
            } else {
                order.iter().find(|&&(_, len)| len > 0).map_or(0, |&(off, _)| off)
            };
            let rest = &stream[anchor..];
            let expected = &rest[..rest.len().min(budget)];
            prop_assert_eq!(s.bytes(), expected);
            prop_assert!(!s.has_gap());
            prop_assert_eq!(s.anchored_by_syn(), with_syn);
            prop_assert_eq!(s.is_complete(budget), rest.len() >= budget);
            prop_assert!(s.data.len() <= budget);
        }

        /// With drops, duplicates and many segments: the contiguous bytes
        /// are always a prefix of the true stream from the anchor, within
        /// the budget, and held data never exceeds it.
        #[test]
        fn lossy_feeds_give_a_prefix(
            stream in prop::collection::vec(any::<u8>(), 0..400),
            cuts in prop::collection::vec(any::<usize>(), 0..60),
            isn in any::<u32>(),
            with_syn in any::<bool>(),
            budget in 0usize..450,
            seed in any::<u64>(),
        ) {
            let mut rng = SplitMix64(seed);
            let segs = segments(stream.len(), &cuts);
            let mut order = Vec::new();
            for &seg in &segs {
                for _ in 0..rng.below(3) {
                    order.push(seg);
                }
            }
            rng.shuffle(&mut order);
            let data_start = isn.wrapping_add(1);
            let mut s = StreamStart::new();
            if with_syn {
                s.push(budget, isn, true, b"");
            }
            for (n, &(off, len)) in order.iter().enumerate() {
                s.push(budget, data_start.wrapping_add(off as u32), false, &stream[off..off + len]);
                let anchor = if with_syn {
                    0
                } else {
                    order[..=n].iter().find(|&&(_, len)| len > 0).map_or(0, |&(off, _)| off)
                };
                let got = s.bytes();
                prop_assert!(got.len() <= budget);
                prop_assert!(stream[anchor..].starts_with(got));
                prop_assert!(s.data.len() <= budget);
                prop_assert!(s.pieces.len() <= MAX_PIECES);
            }
        }

        /// Arbitrary segments (any sequence numbers near a random base,
        /// SYNs anywhere, conflicting bytes, beyond the budget, before the
        /// start): never a panic, and exactly what the byte-by-byte model
        /// holds.
        #[test]
        fn matches_the_byte_model(
            base in any::<u32>(),
            segs in prop::collection::vec(
                (-40i64..260, prop::bool::weighted(0.1), prop::collection::vec(any::<u8>(), 0..40)),
                0..80,
            ),
            budget in 0usize..200,
        ) {
            check_against_model(base, &segs, budget)?;
        }

        /// Many small segments after a SYN, scattered over the budget, so
        /// that the piece limit is often reached: exactly what the
        /// byte-by-byte model holds.
        #[test]
        fn matches_the_byte_model_at_the_piece_limit(
            base in any::<u32>(),
            segs in prop::collection::vec(
                (0i64..200, Just(false), prop::collection::vec(any::<u8>(), 1..4)),
                20..150,
            ),
            budget in 150usize..200,
        ) {
            let mut all = vec![(-1, true, Vec::new())];
            all.extend(segs);
            check_against_model(base, &all, budget)?;
        }
    }

    /// Feeds `segs` (sequence number relative to `base`, SYN, payload) to a
    /// [`StreamStart`] and to the [`Model`], comparing after each segment:
    /// the bytes, the anchor, the gap, the pieces (sorted, apart, after the
    /// contiguous bytes, each the model's run of held bytes).
    fn check_against_model(
        base: u32,
        segs: &[(i64, bool, Vec<u8>)],
        budget: usize,
    ) -> Result<(), TestCaseError> {
        let mut s = StreamStart::new();
        let mut m = Model::new(budget);
        for (delta, syn, payload) in segs {
            let seq = base.wrapping_add(*delta as u32);
            s.push(budget, seq, *syn, payload);
            m.push(seq, *syn, payload);
            prop_assert_eq!(s.bytes(), &m.bytes()[..]);
            prop_assert_eq!(s.anchored_by_syn(), m.by_syn);
            prop_assert_eq!(s.has_gap(), m.runs_after_contig() > 0);
            prop_assert_eq!(s.pieces.len(), m.runs_after_contig());
            prop_assert!(s.pieces.len() <= MAX_PIECES);
            prop_assert!(s.data.len() <= budget);
            let mut prev_end = s.contig;
            for &(a, b) in &s.pieces {
                prop_assert!(a > prev_end && b > a);
                prev_end = b;
                for k in a..b {
                    prop_assert_eq!(Some(s.data[k as usize]), m.cells[k as usize]);
                }
            }
        }
        Ok(())
    }
}
