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

/// Ask Linux to back the whole 2 MiB pages inside `v`'s buffer with
/// transparent huge pages, where the system allows it (`madvise` mode, the
/// usual default). The flow table is read at random: with 4 KiB pages
/// nearly every lookup also misses the TLB, and under virtualisation a
/// page walk is several more memory accesses. Call it on a fresh buffer,
/// before its pages are touched; elsewhere it does nothing.
#[allow(unsafe_code)]
pub(crate) fn huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<T>();
        let (a, b) = (start.next_multiple_of(HUGE), end & !(HUGE - 1));
        if b > a {
            // SAFETY: the range lies inside the vector's own allocation,
            // and MADV_HUGEPAGE changes how its pages are backed, never
            // their contents. A failure (no THP support) is harmless.
            unsafe {
                libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}
