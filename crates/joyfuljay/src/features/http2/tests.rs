//! The frame accumulator: counts by type, the stream estimate.

use super::*;

fn h(ty: u8, stream: u32) -> FrameHeader {
    FrameHeader {
        length: 0,
        ty,
        flags: 0,
        stream,
    }
}

/// The number of distinct non-zero stream IDs (the naive definition).
fn distinct(ids: &[u32]) -> u32 {
    let mut v: Vec<u32> = ids.iter().copied().filter(|&s| s != 0).collect();
    v.sort_unstable();
    v.dedup();
    v.len() as u32
}

#[test]
fn counts_by_type_and_streams() {
    // As nghttp opens a connection: SETTINGS, PRIORITY on the idle
    // streams 3..11, requests on 13, 15, 17; the server answers on them
    // and pushes on 2 and 4 (PUSH_PROMISE on 13); an unknown type.
    let frames = [
        h(4, 0),
        h(4, 0),
        h(2, 3),
        h(2, 5),
        h(2, 7),
        h(2, 9),
        h(2, 11),
        h(1, 13),
        h(1, 15),
        h(1, 17),
        h(5, 13),
        h(1, 13),
        h(1, 2),
        h(0, 13),
        h(1, 4),
        h(0, 15),
        h(0, 2),
        h(0, 4),
        h(8, 13),
        h(3, 17),
        h(6, 0),
        h(9, 15),
        h(0xfa, 19),
        h(7, 0),
    ];
    let mut a = Acc::default();
    for f in frames {
        a.frame(f);
    }
    assert_eq!(a.total, frames.len() as u32);
    assert_eq!(a.by_type, [4, 6, 5, 1, 2, 1, 1, 1, 1, 1]);
    let ids: Vec<u32> = frames.iter().map(|f| f.stream).collect();
    assert_eq!(a.streams, distinct(&ids));
    assert_eq!(a.streams, 11);
}

#[test]
fn streams_exact_below_the_bound_increasing_above() {
    let mut a = Acc::default();
    // The implicit stream 1 of an Upgrade after PRIORITY on idle streams,
    // repeated IDs, and IDs beyond the bitmap in increasing order.
    let ids = [3, 5, 7, 1, 1, 3, 1023, 1024, 1025, 2000, 1025, 4001, 0, 7];
    for id in ids {
        a.frame(h(0, id));
    }
    assert_eq!(a.streams, distinct(&ids));
    // Beyond the bitmap, a lower new ID after a higher one is not seen.
    a.frame(h(0, 1027));
    assert_eq!(a.streams, distinct(&ids));
}

#[test]
fn state_size() {
    assert!(std::mem::size_of::<Http2State>() <= 96);
    assert_eq!(std::mem::size_of::<SeqTracker>(), 8);
    assert_eq!(std::mem::size_of::<DirParser>(), 28);
    assert_eq!(std::mem::size_of::<Http2State>(), 96);
    assert_eq!(std::mem::size_of::<Acc>(), 256);
}
