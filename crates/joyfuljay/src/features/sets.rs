//! Small exact sets for the header groups' distinct-value counts.
//!
//! [`ByteSet`] holds any set of `u8` values in 32 bytes (a bitmap).
//! [`SmallSet`] keeps its values sorted in an inline array and spills to
//! the heap only when a flow has more distinct values than the array
//! holds: counts are always exact, and the common flow (one or two values)
//! allocates nothing.

use smallvec::{Array, SmallVec};

/// A set of `u8` values: a 256-bit bitmap (32 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    /// Add `v`.
    #[inline]
    pub fn insert(&mut self, v: u8) {
        self.0[usize::from(v >> 6)] |= 1 << (v & 63);
    }

    /// Number of values in the set.
    #[inline]
    pub fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// True when the set is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The smallest value.
    pub fn min(&self) -> Option<u8> {
        (0..4)
            .find(|&i| self.0[i] != 0)
            .map(|i| (i * 64) as u8 + self.0[i].trailing_zeros() as u8)
    }

    /// The largest value.
    pub fn max(&self) -> Option<u8> {
        (0..4)
            .rev()
            .find(|&i| self.0[i] != 0)
            .map(|i| (i * 64) as u8 + (63 - self.0[i].leading_zeros()) as u8)
    }
}

/// A sorted set of small `Copy` values, inline up to the array's length
/// (`SmallSet<[u16; 4]>`: four values in 24 bytes), then on the heap.
pub struct SmallSet<A: Array>(SmallVec<A>);

impl<A: Array> Default for SmallSet<A> {
    fn default() -> Self {
        SmallSet(SmallVec::new())
    }
}

impl<A: Array> SmallSet<A>
where
    A::Item: Ord + Copy,
{
    /// Add `v` (nothing happens when it is already there).
    #[inline]
    pub fn insert(&mut self, v: A::Item) {
        if let Err(i) = self.0.binary_search(&v) {
            self.0.insert(i, v);
        }
    }

    /// Number of values.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the set is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The smallest value.
    #[inline]
    pub fn min(&self) -> Option<A::Item> {
        self.0.first().copied()
    }

    /// True when the values no longer fit inline.
    pub fn spilled(&self) -> bool {
        self.0.spilled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::testutil::SplitMix;
    use std::collections::BTreeSet;

    #[test]
    fn sets_equal_a_btreeset() {
        let mut rng = SplitMix(7);
        for round in 0..200 {
            let n = (rng.next_u64() % 40) as usize;
            let range = 1 + rng.next_u64() % if round % 2 == 0 { 8 } else { 256 };
            let mut naive = BTreeSet::new();
            let mut b = ByteSet::default();
            let mut s = SmallSet::<[u16; 4]>::default();
            for _ in 0..n {
                let v = (rng.next_u64() % range) as u8;
                naive.insert(v);
                b.insert(v);
                s.insert(u16::from(v));
            }
            assert_eq!(b.len() as usize, naive.len());
            assert_eq!(b.is_empty(), naive.is_empty());
            assert_eq!(b.min(), naive.first().copied());
            assert_eq!(b.max(), naive.last().copied());
            assert_eq!(s.len(), naive.len());
            assert_eq!(s.min(), naive.first().map(|&v| u16::from(v)));
            assert_eq!(s.spilled(), naive.len() > 4);
            assert!(s.0.windows(2).all(|w| w[0] < w[1]));
        }
        let mut b = ByteSet::default();
        b.insert(255);
        b.insert(0);
        assert_eq!((b.min(), b.max(), b.len()), (Some(0), Some(255), 2));
    }

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<ByteSet>(), 32);
        assert_eq!(std::mem::size_of::<SmallSet<[u16; 4]>>(), 24);
        assert_eq!(std::mem::size_of::<SmallSet<[u32; 4]>>(), 32);
        assert_eq!(std::mem::size_of::<SmallSet<[u64; 2]>>(), 32);
    }
}
