//! Small deterministic generators for test data: the same seed gives the
//! same stream on every platform and every run.

/// SplitMix64 (Steele, Lea, Flood 2014). The field is the state; the seed
/// is the initial state: `SplitMix64(42)`.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 53 bits of [`next_u64`](Self::next_u64).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// In `0..n`, as `next_u64() % n` (slightly biased for huge `n`; fine
    /// for test data). Panics when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher–Yates shuffle of `v`, drawing `below(i + 1)` for each `i`
    /// from the end down to 1.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Marsaglia's xorshift64 (shifts 13, 7, 17). Kept beside [`SplitMix64`]
/// because tests written with it derive their data from its exact stream.
/// The field is the state and must not be 0 (0 stays 0).
#[derive(Debug, Clone)]
pub struct XorShift64(pub u64);

impl XorShift64 {
    /// Advance the state and return it.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference outputs of SplitMix64 from seed 0 (as in the paper's
    /// and Java's `SplittableRandom` implementation).
    #[test]
    fn splitmix64_reference_stream() {
        let mut r = SplitMix64(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn unit_and_below_stay_in_range() {
        let mut r = SplitMix64(7);
        for n in 1..200 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u), "{u}");
            assert!(r.below(n) < n);
        }
    }

    #[test]
    fn below_and_unit_are_views_of_the_same_stream() {
        let (mut a, mut b) = (SplitMix64(99), SplitMix64(99));
        for n in [1usize, 2, 3, 1000, usize::MAX] {
            assert_eq!(a.below(n) as u64, b.next_u64() % n as u64);
        }
        let x = b.next_u64();
        assert_eq!(a.unit(), (x >> 11) as f64 / (1u64 << 53) as f64);
    }

    #[test]
    fn shuffle_permutes() {
        let mut r = SplitMix64(3);
        let mut v: Vec<u32> = (0..100).collect();
        r.shuffle(&mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }

    /// xorshift64 by hand: the state is the output.
    #[test]
    fn xorshift64_is_the_13_7_17_generator() {
        let mut r = XorShift64(1);
        let mut x = 1u64;
        for _ in 0..10 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            assert_eq!(r.next_u64(), x);
            assert_eq!(r.0, x);
        }
        assert_eq!(XorShift64(1).next_u64(), 0x4082_2041);
    }
}
