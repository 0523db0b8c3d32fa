//! The flow table's storage: flows in one dense vector, found through an
//! open-addressing index of 8-byte slots.
//!
//! A general-purpose hash map (hashbrown) was the first design; on captures
//! with 10⁵ live flows its lookup is one cache miss per packet that the CPU
//! cannot overlap, because the bucket address is not exposed for prefetching.
//! Here the slot of a key is a pure function of its hash, so the packet
//! loop can prefetch the slot, then the flow, several packets ahead
//! ([`FlowIndex::prefetch_slot`], [`FlowIndex::prefetch_flow`]).
//!
//! Layout: `slots[h & mask]`, linear probing, at most half full. A slot holds
//! the high 32 bits of the key's hash (its home position and a tag that
//! spares most key comparisons) and the flow's position + 1 (0: empty).
//! Deletion shifts later entries back (no tombstones), so probe sequences
//! stay short however many flows come and go.

use super::{Flow, FlowKey};
use crate::hint::{huge_pages, prefetch};

/// The slot's hash part.
#[inline]
fn h32(hash: u64) -> u32 {
    (hash >> 32) as u32
}

#[inline]
fn slot_of(tag: u32, pos: usize) -> u64 {
    (u64::from(tag) << 32) | (pos as u64 + 1)
}

#[inline]
fn tag_of(slot: u64) -> u32 {
    (slot >> 32) as u32
}

#[inline]
fn pos_of(slot: u64) -> usize {
    (slot as u32) as usize - 1
}

/// Slots [`FlowIndex::prefetch_flow`] looks at.
const FLOW_PROBES: usize = 4;

/// Flows by key. Positions returned by [`FlowIndex::find`] are valid until
/// the next insertion or removal.
pub(crate) struct FlowIndex {
    slots: Vec<u64>,
    mask: usize,
    flows: Vec<Flow>,
    /// Room for flows the vector takes at once when it outgrows
    /// [`LEAP_AT`] (see [`FlowIndex::leap_to`]).
    leap: usize,
}

/// Flows past which the flow vector grows straight to its leap size.
const LEAP_AT: usize = 1 << 16;

impl FlowIndex {
    /// An index sized for `cap` flows without growing.
    pub(crate) fn with_capacity(cap: usize) -> FlowIndex {
        let n = (cap.max(8) * 2).next_power_of_two();
        let index = FlowIndex {
            slots: vec![0; n],
            mask: n - 1,
            flows: Vec::with_capacity(cap),
            leap: 0,
        };
        huge_pages(&index.slots);
        huge_pages(&index.flows);
        index
    }

    /// Once the table holds [`LEAP_AT`] flows, grow the flow vector to
    /// room for `n` flows at once rather than by doubling: room is address
    /// space, whose pages are backed (zeroed) only as flows reach them,
    /// while every doubling copied all flows and touched their pages twice
    /// (a fifth of the run on a flow-dense capture that keeps 600 k flows
    /// open). Small inputs never get there, so they never reserve much.
    pub(crate) fn leap_to(&mut self, n: usize) {
        self.leap = n;
    }

    /// Number of flows.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.flows.len()
    }

    #[inline]
    fn home(&self, tag: u32) -> usize {
        tag as usize & self.mask
    }

    /// Position of the flow of `key`.
    #[inline]
    pub(crate) fn find(&self, hash: u64, key: &FlowKey) -> Option<usize> {
        self.find_slot(hash, key).map(|(_, pos)| pos)
    }

    /// Slot and position of the flow of `key`.
    #[inline]
    fn find_slot(&self, hash: u64, key: &FlowKey) -> Option<(usize, usize)> {
        self.find_slot_where(hash, |f| f.key == *key)
    }

    /// Position of the flow with hash `hash` for which `is` holds (it must
    /// identify one flow among those of that hash).
    #[inline]
    pub(crate) fn find_where(&self, hash: u64, is: impl Fn(&Flow) -> bool) -> Option<usize> {
        self.find_slot_where(hash, is).map(|(_, pos)| pos)
    }

    #[inline]
    fn find_slot_where(&self, hash: u64, is: impl Fn(&Flow) -> bool) -> Option<(usize, usize)> {
        let tag = h32(hash);
        let mut i = self.home(tag);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if tag_of(s) == tag {
                let pos = pos_of(s);
                if is(&self.flows[pos]) {
                    return Some((i, pos));
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The flow at `pos`.
    #[inline]
    pub(crate) fn get(&self, pos: usize) -> &Flow {
        &self.flows[pos]
    }

    /// The flow at `pos`, mutably.
    #[inline]
    pub(crate) fn get_mut(&mut self, pos: usize) -> &mut Flow {
        &mut self.flows[pos]
    }

    /// Add a flow whose key is not present; returns its position.
    pub(crate) fn insert(&mut self, hash: u64, flow: Flow) -> usize {
        if (self.flows.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let pos = self.flows.len();
        if pos == self.flows.capacity() {
            // Grow by hand, so the new buffer is advised before it is written.
            let double = (pos * 2).max(64);
            let mut grown = Vec::new();
            if pos < LEAP_AT || self.leap <= double || grown.try_reserve_exact(self.leap).is_err() {
                grown = Vec::with_capacity(double);
            }
            huge_pages(&grown);
            grown.append(&mut self.flows);
            self.flows = grown;
        }
        self.flows.push(flow);
        self.place(slot_of(h32(hash), pos));
        pos
    }

    /// Put a slot value at the first free slot of its probe sequence.
    fn place(&mut self, s: u64) {
        let mut i = self.home(tag_of(s));
        while self.slots[i] != 0 {
            i = (i + 1) & self.mask;
        }
        self.slots[i] = s;
    }

    fn grow(&mut self) {
        let n = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![0; n]);
        huge_pages(&self.slots);
        self.mask = n - 1;
        for s in old.into_iter().filter(|&s| s != 0) {
            self.place(s);
        }
    }

    /// Remove and return the flow of `key` and the position it had (the
    /// last flow moves into that position, as `Vec::swap_remove` does).
    pub(crate) fn remove(&mut self, hash: u64, key: &FlowKey) -> Option<(usize, Flow)> {
        let (slot, pos) = self.find_slot(hash, key)?;
        self.clear_slot(slot);
        let last = self.flows.len() - 1;
        if pos != last {
            // The last flow moves into `pos`: repoint its slot.
            let moved = self.flows[last].index_tag;
            let mut i = self.home(moved);
            while self.slots[i] != slot_of(moved, last) {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = slot_of(moved, pos);
        }
        Some((pos, self.flows.swap_remove(pos)))
    }

    /// Empty slot `i`, shifting later entries of the run back so that no
    /// probe sequence is cut.
    fn clear_slot(&mut self, mut i: usize) {
        let mask = self.mask;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s == 0 {
                break;
            }
            let home = self.home(tag_of(s));
            // `s` may move to `i` unless its home lies cyclically in (i, j].
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                self.slots[i] = s;
                i = j;
            }
        }
        self.slots[i] = 0;
    }

    /// Remove every flow and return them in position order (the flow
    /// vector itself: no copy).
    pub(crate) fn take_all(&mut self) -> Vec<Flow> {
        self.slots.fill(0);
        std::mem::take(&mut self.flows)
    }

    /// Start loading the slot a lookup of `hash` reads first.
    #[inline]
    pub(crate) fn prefetch_slot(&self, hash: u64) {
        prefetch(self.slots.as_ptr().wrapping_add(self.home(h32(hash))));
    }

    /// Start loading the flow a lookup of `hash` most likely finds: the
    /// first in its probe sequence whose tag matches, among the first
    /// [`FLOW_PROBES`] slots (at most half full, the flow is in the first
    /// slot about 70 % of the time, in the first four about 94 %). Best
    /// after [`FlowIndex::prefetch_slot`] had time to complete.
    #[inline]
    pub(crate) fn prefetch_flow(&self, hash: u64) {
        let tag = h32(hash);
        let mut i = self.home(tag);
        for _ in 0..FLOW_PROBES {
            let s = self.slots[i];
            if s == 0 {
                return;
            }
            if tag_of(s) == tag {
                let p = self.flows.as_ptr().wrapping_add(pos_of(s));
                prefetch(p);
                // The packet-time fields span the first two cache lines.
                prefetch(p.cast::<u8>().wrapping_add(64));
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The slot-hash of a flow stored here, to keep in the flow.
    #[inline]
    pub(crate) fn tag(hash: u64) -> u32 {
        h32(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Endpoint, FlowKey};
    use joyfuljay_testkit::XorShift64;
    use std::collections::HashMap;

    fn key(n: u32) -> FlowKey {
        FlowKey::new(
            Endpoint {
                addr: u128::from(n),
                port: 1,
            },
            Endpoint {
                addr: 0xffff_ffff,
                port: 2,
            },
            17,
            false,
        )
        .0
    }

    /// Random inserts and removals against a std map, with a hash that
    /// forces long collision runs (only a few distinct homes).
    #[test]
    fn matches_a_map_under_churn_and_collisions() {
        for spread in [1u64, 7, 1 << 40] {
            let mut idx = FlowIndex::with_capacity(4);
            let mut model: HashMap<u32, u64> = HashMap::new();
            let mut rng = XorShift64(0x2545_f491_4f6c_dd1d);
            let hash = |n: u32| (u64::from(n) % spread).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for step in 0..40_000u64 {
                let r = rng.next_u64();
                let n = (r % 3000) as u32;
                let k = key(n);
                let h = hash(n);
                if r.is_multiple_of(3) {
                    let got = idx.remove(h, &k).map(|(_, f)| f.first_index);
                    assert_eq!(got, model.remove(&n), "remove {n} at step {step}");
                } else if let Some(pos) = idx.find(h, &k) {
                    assert_eq!(Some(&idx.get(pos).first_index), model.get(&n));
                    idx.get_mut(pos).first_index = step;
                    model.insert(n, step);
                } else {
                    assert!(!model.contains_key(&n), "{n} lost at step {step}");
                    let mut f = crate::flow::Flow::blank();
                    f.key = k;
                    f.first_index = step;
                    f.index_tag = FlowIndex::tag(h);
                    idx.insert(h, f);
                    model.insert(n, step);
                }
                assert_eq!(idx.len(), model.len());
            }
            for (n, v) in &model {
                let pos = idx.find(hash(*n), &key(*n)).expect("present");
                assert_eq!(idx.get(pos).first_index, *v);
            }
            let mut drained: Vec<u64> = idx.take_all().iter().map(|f| f.first_index).collect();
            let mut want: Vec<u64> = model.values().copied().collect();
            drained.sort_unstable();
            want.sort_unstable();
            assert_eq!(drained, want);
            assert_eq!(idx.len(), 0);
            assert!(idx.slots.iter().all(|&s| s == 0));
        }
    }
}
