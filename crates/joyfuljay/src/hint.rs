//! Cache hints shared by the hot loops (capture reading, flow table).

/// Ask the CPU to bring the cache line holding `p` into the cache. A hint
/// without architectural effect: any address is allowed, nothing is read.
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn prefetch<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` never faults and has no memory effect.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
