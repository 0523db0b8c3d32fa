//! Expiry: the queues that find idle flows, the sweep clock, and the
//! in-place sort that puts flows ending together in output order.

use super::record::Flow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Idle flows are swept at most this often (packet time).
const SWEEP_INTERVAL_US: i64 = 1_000_000;

/// An expiry-queue entry: the flow (its first packet index, which
/// identifies it among the live flows, and its key's hash, to find it) and
/// a time no later than its last packet when it was queued. Ordered by that
/// time (then by flow). 24 bytes: there is one per live flow.
#[derive(Clone, Copy)]
pub(super) struct Due {
    pub(super) stamp_us: i64,
    pub(super) first_index: u64,
    pub(super) hash: u64,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.stamp_us, self.first_index) == (o.stamp_us, o.first_index)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.stamp_us, self.first_index).cmp(&(o.stamp_us, o.first_index))
    }
}

/// A min-queue of [`Due`] entries. Flows are queued in packet-time order
/// almost always, so entries go to a FIFO while their stamps do not
/// decrease (O(1)), and to a min-heap otherwise (out-of-order timestamps,
/// re-queued flows); the least entry is the smaller of both fronts.
#[derive(Default)]
pub(super) struct DueQueue {
    fifo: VecDeque<Due>,
    heap: BinaryHeap<Reverse<Due>>,
}

impl DueQueue {
    pub(super) fn push(&mut self, d: Due) {
        if self.fifo.back().is_none_or(|b| *b <= d) {
            self.fifo.push_back(d);
        } else {
            self.heap.push(Reverse(d));
        }
    }

    /// The least entry, and whether it is the FIFO's.
    pub(super) fn least(&self) -> Option<(Due, bool)> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(f), Some(Reverse(h))) if h < f => Some((*h, false)),
            (Some(f), _) => Some((*f, true)),
            (None, Some(Reverse(h))) => Some((*h, false)),
            (None, None) => None,
        }
    }

    pub(super) fn peek(&self) -> Option<Due> {
        self.least().map(|(d, _)| d)
    }

    pub(super) fn pop(&mut self) -> Option<Due> {
        let (_, in_fifo) = self.least()?;
        if in_fifo {
            self.fifo.pop_front()
        } else {
            self.heap.pop().map(|Reverse(d)| d)
        }
    }

    pub(super) fn clear(&mut self) {
        self.fifo.clear();
        self.heap.clear();
    }

    /// Entries queued.
    pub(super) fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
    }

    /// Keep only the entries for which `keep` holds (order kept).
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Due) -> bool) {
        self.fifo.retain(|d| keep(d));
        self.heap.retain(|Reverse(d)| keep(d));
        self.fifo.shrink_to(self.fifo.len() * 2);
        self.heap.shrink_to(self.heap.len() * 2);
    }
}

/// Sort `v[start..]` by first packet index (distinct within a table) in
/// place: the order is computed on (index, position) pairs, then applied
/// by following its cycles, so each 192-byte flow moves a fixed number of
/// times and no second copy of the flows is needed (at the end of input
/// that would double the memory of every live flow).
///
/// `also(i, j)` is called for every swap of `v[start + i]` and
/// `v[start + j]`, so that what lies beside the flows (their group states)
/// follows them.
pub(super) fn sort_by_first_index(
    v: &mut [Flow],
    start: usize,
    mut also: impl FnMut(usize, usize),
) {
    let v = &mut v[start..];
    if v.len() < 2 {
        return;
    }
    let mut order: Vec<(u64, usize)> = v
        .iter()
        .enumerate()
        .map(|(i, f)| (f.first_index, i))
        .collect();
    order.sort_unstable();
    // Position i receives the flow now at order[i].1.
    let mut placed = vec![false; v.len()];
    for i in 0..v.len() {
        if placed[i] {
            continue;
        }
        let mut j = i;
        loop {
            placed[j] = true;
            let k = order[j].1;
            if k == i {
                break;
            }
            v.swap(j, k);
            also(j, k);
            j = k;
        }
    }
}

/// The positions of `flows` in the order [`sort_by_first_index`] puts
/// them.
pub(super) fn output_order(flows: &[Flow]) -> Vec<usize> {
    let mut order: Vec<(u64, usize)> = flows
        .iter()
        .enumerate()
        .map(|(i, f)| (f.first_index, i))
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, i)| i).collect()
}

/// Rows written in an [`output_order`] read their flows at random: start
/// loading the flow `AHEAD` places after place `k` (its three cache lines).
#[inline]
pub(crate) fn prefetch_ahead(flows: &[Flow], order: &[usize], k: usize) {
    const AHEAD: usize = 8;
    if let Some(&i) = order.get(k + AHEAD) {
        let p = (&raw const flows[i]).cast::<u8>();
        crate::hint::prefetch(p);
        crate::hint::prefetch(p.wrapping_add(64));
        crate::hint::prefetch(p.wrapping_add(128));
    }
}

/// When idle flows are swept: at the first packet, then at the first packet
/// at least `SWEEP_INTERVAL_US` (1 s) after the previous sweep (packet time).
#[derive(Debug, Clone)]
pub struct SweepClock {
    next_us: i64,
}

impl Default for SweepClock {
    fn default() -> Self {
        SweepClock { next_us: i64::MIN }
    }
}

impl SweepClock {
    /// Whether a packet at `ts_us` triggers a sweep (and if so, schedule the next).
    #[inline]
    pub(crate) fn due(&mut self, ts_us: i64) -> bool {
        if ts_us >= self.next_us {
            self.next_us = ts_us.saturating_add(SWEEP_INTERVAL_US);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use joyfuljay_testkit::XorShift64;

    fn due(stamp_us: i64, first_index: u64) -> Due {
        Due {
            stamp_us,
            first_index,
            hash: first_index.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
    }

    /// The output order read through positions is the in-place sort's.
    #[test]
    fn output_order_reads_as_the_sort_writes() {
        let mut rng = XorShift64(0x0dd_ba11_cafe_f00d);
        for n in [0usize, 1, 2, 5, 1000] {
            let mut v: Vec<Flow> = (0..n as u64)
                .map(|i| {
                    let mut f = Flow::blank();
                    f.first_index = (rng.next_u64() % 1_000_000) * 1000 + i;
                    f.last_index = i;
                    f
                })
                .collect();
            let order = output_order(&v);
            let read: Vec<(u64, u64)> = order
                .iter()
                .map(|&i| (v[i].first_index, v[i].last_index))
                .collect();
            sort_by_first_index(&mut v, 0, |_, _| {});
            let sorted: Vec<(u64, u64)> = v.iter().map(|f| (f.first_index, f.last_index)).collect();
            assert_eq!(read, sorted);
            assert!(sorted.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    /// In-place sorting by first index keeps every flow once, in order,
    /// and leaves the prefix alone.
    #[test]
    fn flows_sort_by_first_index_in_place() {
        let mut rng = XorShift64(0x1234_5678_9abc_def1);
        for n in [0usize, 1, 2, 3, 10, 257] {
            let mut firsts: Vec<u64> = (0..n as u64).map(|i| i * 7 + 3).collect();
            for i in (1..firsts.len()).rev() {
                firsts.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            let flow = |first: u64| {
                let mut f = Flow::blank();
                f.first_index = first;
                f.last_index = first.wrapping_mul(2);
                f
            };
            let mut v: Vec<Flow> = [u64::MAX, 0].into_iter().map(flow).collect();
            v.extend(firsts.iter().map(|&x| flow(x)));
            let mut swaps = Vec::new();
            sort_by_first_index(&mut v, 2, |i, j| swaps.push((i, j)));
            // Replaying the reported swaps on the original order gives the
            // same order.
            let mut replay: Vec<u64> = firsts.clone();
            for (i, j) in swaps {
                replay.swap(i, j);
            }
            assert!(replay.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(v[0].first_index, u64::MAX);
            assert_eq!(v[1].first_index, 0);
            let got: Vec<u64> = v[2..].iter().map(|f| f.first_index).collect();
            let want: Vec<u64> = (0..n as u64).map(|i| i * 7 + 3).collect();
            assert_eq!(got, want, "n = {n}");
            // Each flow moved whole.
            assert!(v
                .iter()
                .all(|f| f.last_index == f.first_index.wrapping_mul(2)));
        }
    }

    /// The FIFO-plus-heap queue pops exactly what a plain min-heap pops,
    /// for mostly ordered stamps with some going back in time.
    #[test]
    fn due_queue_pops_like_a_min_heap() {
        let mut q = DueQueue::default();
        let mut model: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
        let mut rng = XorShift64(0x9e37_79b9_7f4a_7c15);
        let mut now = 0i64;
        let mut fifo_pushes = 0;
        for i in 0..50_000u64 {
            let r = rng.next_u64();
            match r % 10 {
                0..=5 => {
                    now += (r >> 8) as i64 % 50;
                    // One in eight goes back in time.
                    let stamp = if (r >> 20).is_multiple_of(8) {
                        now - (r >> 24) as i64 % 500
                    } else {
                        now
                    };
                    let before = q.fifo.len();
                    q.push(due(stamp, i));
                    fifo_pushes += usize::from(q.fifo.len() > before);
                    model.push(Reverse((stamp, i)));
                }
                6..=8 => {
                    let got = q.pop().map(|d| (d.stamp_us, d.first_index));
                    assert_eq!(got, model.pop().map(|Reverse(x)| x), "pop {i}");
                }
                _ => {
                    let got = q.peek().map(|d| (d.stamp_us, d.first_index));
                    assert_eq!(got, model.peek().map(|Reverse(x)| *x), "peek {i}");
                }
            }
        }
        // Both paths were exercised.
        assert!(fifo_pushes > 10_000, "{fifo_pushes} FIFO pushes");
        assert!(fifo_pushes < 29_000, "{fifo_pushes} FIFO pushes");
        while let Some(Reverse(x)) = model.pop() {
            assert_eq!(q.pop().map(|d| (d.stamp_us, d.first_index)), Some(x));
        }
        assert!(q.pop().is_none());
    }
}
