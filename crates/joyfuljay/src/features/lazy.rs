//! Per-flow state that a flow pays for only once it has a packet the group
//! reads: the `tcp`, `tcp_sequence` and `tcp_rtt` states of a UDP flow, the
//! `icmp` state of a TCP flow.

/// A group's per-flow state, allocated at the flow's first relevant packet
/// (its first TCP segment, its first ICMP message). Until then the flow
/// carries a null pointer (8 bytes); after, one heap block, allocated once
/// and never moved.
pub struct Lazy<T>(Option<Box<T>>);

// What the groups state in their documentation.
const _: () = assert!(std::mem::size_of::<Lazy<[u64; 32]>>() == 8);

impl<T> Lazy<T> {
    /// Nothing allocated yet: the state of a new flow.
    pub const NONE: Lazy<T> = Lazy(None);

    /// The state, allocated from `init` at the first call.
    #[inline]
    pub fn get_or_insert_with(&mut self, init: impl FnOnce() -> T) -> &mut T {
        self.0.get_or_insert_with(|| Box::new(init()))
    }

    /// The state, if the flow had a relevant packet.
    #[inline]
    pub fn get(&self) -> Option<&T> {
        self.0.as_deref()
    }

    /// The state, or `empty` for a flow without a relevant packet.
    #[inline]
    pub fn or<'a>(&'a self, empty: &'a T) -> &'a T {
        self.get().unwrap_or(empty)
    }
}

impl<T: Default> Lazy<T> {
    /// The state, allocated as `T::default()` at the first call.
    #[inline]
    pub fn get_or_default(&mut self) -> &mut T {
        self.get_or_insert_with(T::default)
    }
}

impl<T> Default for Lazy<T> {
    fn default() -> Self {
        Lazy::NONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_once_at_first_use_and_falls_back_before() {
        let mut l: Lazy<Vec<u32>> = Lazy::NONE;
        let empty = vec![7];
        assert!(l.get().is_none());
        assert_eq!(l.or(&empty), &[7]);
        l.get_or_default().push(1);
        let at = l.get().unwrap() as *const Vec<u32>;
        l.get_or_insert_with(|| panic!("allocated twice")).push(2);
        assert_eq!(l.get().unwrap() as *const Vec<u32>, at, "moved");
        assert_eq!(l.or(&empty), &[1, 2]);
        let mut m: Lazy<u8> = Lazy::default();
        assert_eq!(*m.get_or_insert_with(|| 5), 5);
        assert_eq!(*m.get_or_default(), 5);
    }
}
