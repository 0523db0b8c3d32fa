//! The streaming reader and the sequence tracker on hand-built bytes.

use super::*;

/// A frame: header and `len` payload bytes of value `fill`.
fn frame(ty: u8, flags: u8, stream: u32, len: usize) -> Vec<u8> {
    let l = (len as u32).to_be_bytes();
    let mut f = vec![l[1], l[2], l[3], ty, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend(std::iter::repeat_n(0xab, len));
    f
}

fn hdr(ty: u8, flags: u8, stream: u32, len: u32) -> FrameHeader {
    FrameHeader {
        length: len,
        ty,
        flags,
        stream,
    }
}

/// Every frame header reported when `pieces` are fed in turn.
fn run(pieces: &[&[u8]]) -> (Vec<FrameHeader>, DirParser) {
    let mut p = DirParser::new();
    let mut out = Vec::new();
    for piece in pieces {
        p.feed(piece, &mut |e| {
            if let Event::Frame(h) = e {
                out.push(h)
            }
        });
    }
    (out, p)
}

/// A client stream with prior knowledge and the headers it holds.
fn client_prior() -> (Vec<u8>, Vec<FrameHeader>) {
    let mut s = PREFACE.to_vec();
    s.extend(frame(SETTINGS, 0, 0, 18));
    s.extend(frame(WINDOW_UPDATE, 0, 0, 4));
    s.extend(frame(HEADERS, 0x5, 1, 30));
    s.extend(frame(SETTINGS, 1, 0, 0));
    s.extend(frame(DATA, 0x1, 3, 70_000));
    s.extend(frame(0xee, 0, 5, 3));
    s.extend(frame(GOAWAY, 0, 0, 8));
    let h = vec![
        hdr(SETTINGS, 0, 0, 18),
        hdr(WINDOW_UPDATE, 0, 0, 4),
        hdr(HEADERS, 0x5, 1, 30),
        hdr(SETTINGS, 1, 0, 0),
        hdr(DATA, 0x1, 3, 70_000),
        hdr(0xee, 0, 5, 3),
        hdr(GOAWAY, 0, 0, 8),
    ];
    (s, h)
}

#[test]
fn prior_knowledge_client_whole_and_split_at_every_offset() {
    let (s, want) = client_prior();
    let (got, p) = run(&[&s]);
    assert_eq!(got, want);
    assert!(p.preface_seen() && p.is_http2() && !p.upgraded() && !p.is_done());
    // Two pieces, split at every byte offset (a frame header, the
    // preface or a payload split across two segments).
    for cut in 0..=s.len() {
        let (got, p) = run(&[&s[..cut], &s[cut..]]);
        assert_eq!(got, want, "split at {cut}");
        assert!(p.preface_seen() && p.is_http2());
    }
    // One byte at a time around the headers.
    let pieces: Vec<&[u8]> = s[..200].chunks(1).chain([&s[200..]]).collect();
    assert_eq!(run(&pieces).0, want);
}

#[test]
fn prior_knowledge_server() {
    let mut s = frame(SETTINGS, 0, 0, 6);
    s.extend(frame(SETTINGS, 1, 0, 0));
    s.extend(frame(PUSH_PROMISE, 0x4, 1, 9));
    s.extend(frame(HEADERS, 0x4, 1, 12));
    s.extend(frame(DATA, 0x1, 1, 5));
    let (got, p) = run(&[&s[..4], &s[4..]]);
    assert_eq!(got.len(), 5);
    assert_eq!(got[2], hdr(PUSH_PROMISE, 0x4, 1, 9));
    assert!(p.is_http2() && !p.preface_seen());
}

#[test]
fn upgrade_both_sides() {
    let req = b"GET /index.html HTTP/1.1\r\nHost: 10.0.0.1:8081\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";
    let mut c = req.to_vec();
    c.extend_from_slice(PREFACE);
    c.extend(frame(SETTINGS, 0, 0, 12));
    c.extend(frame(PRIORITY, 0, 3, 5));
    for cut in 0..=c.len() {
        let (got, p) = run(&[&c[..cut], &c[cut..]]);
        assert_eq!(
            got,
            vec![hdr(SETTINGS, 0, 0, 12), hdr(PRIORITY, 0, 3, 5)],
            "{cut}"
        );
        assert!(p.preface_seen() && p.is_http2() && p.upgraded());
    }
    let resp = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    let mut s = resp.to_vec();
    s.extend(frame(SETTINGS, 0, 0, 6));
    s.extend(frame(HEADERS, 0x4, 1, 40));
    for cut in 0..=s.len() {
        let (got, p) = run(&[&s[..cut], &s[cut..]]);
        assert_eq!(
            got,
            vec![hdr(SETTINGS, 0, 0, 6), hdr(HEADERS, 0x4, 1, 40)],
            "{cut}"
        );
        assert!(!p.preface_seen() && p.is_http2() && p.upgraded());
    }
    // A POST (starts with P, like the preface) with Upgrade.
    let mut c = b"POST /x HTTP/1.1\r\nUpgrade: h2c\r\n\r\n".to_vec();
    c.extend_from_slice(PREFACE);
    c.extend(frame(SETTINGS, 0, 0, 0));
    let (got, p) = run(&[&c]);
    assert_eq!(got.len(), 1);
    assert!(p.preface_seen() && p.upgraded());
}

#[test]
fn not_http2() {
    // Plain HTTP/1.1: a second request follows the first.
    let (got, p) = run(&[b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\n\r\n"]);
    assert!(got.is_empty() && !p.is_http2() && !p.preface_seen() && p.is_done());
    // A 200 response with a body that looks like frames.
    let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n".to_vec();
    r.extend(frame(SETTINGS, 0, 0, 0));
    let (got, p) = run(&[&r]);
    assert!(got.is_empty() && p.is_done());
    // A 101 to something else (WebSocket frames follow).
    let (got, p) = run(&[
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x0bhello world",
    ]);
    assert!(got.is_empty() && p.is_done() && !p.is_http2());
    // TLS, SSH-like binary, empty.
    for s in [&b"\x16\x03\x01\x02\x00\x01"[..], b"\xff\x00", b"1234"] {
        let (got, p) = run(&[s]);
        assert!(got.is_empty() && p.is_done(), "{s:?}");
    }
    let (got, p) = run(&[b""]);
    assert!(got.is_empty() && !p.is_done());
    // The preface cut off after its empty line: given up.
    let (got, p) = run(&[b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n\0\0\0\x04\0\0\0\0\0"]);
    assert!(got.is_empty() && p.is_done() && !p.preface_seen());
    // First frame not a SETTINGS frame, or a SETTINGS ACK, or a bad length.
    for first in [
        frame(HEADERS, 0, 1, 6),
        frame(SETTINGS, 1, 0, 0),
        frame(SETTINGS, 0, 0, 7),
        frame(SETTINGS, 0, 1, 6),
        frame(SETTINGS, 0, 0, 16386),
    ] {
        let mut s = PREFACE.to_vec();
        s.extend(&first);
        let (got, p) = run(&[&s]);
        assert!(got.is_empty() && p.preface_seen() && !p.is_http2() && p.is_done());
        let (got, p) = run(&[&first]);
        assert!(got.is_empty() && !p.is_http2());
    }
    // An HTTP/1 header block that never ends.
    let long = vec![b'A'; MAX_HTTP1_HEADER as usize + 10];
    let (_, p) = run(&[&long]);
    assert!(p.is_done());
}

#[test]
fn stopped_reader_reads_nothing() {
    let (s, _) = client_prior();
    let mut p = DirParser::new();
    let mut n = 0;
    let mut count = |e: Event<'_>| n += usize::from(matches!(e, Event::Frame(_)));
    p.feed(&s[..40], &mut count);
    p.stop();
    p.feed(&s[40..], &mut count);
    assert_eq!(n, 1);
    assert!(p.is_done());
}

#[test]
fn seq_tracker_syn_retransmission_gap() {
    let data: Vec<u8> = (0..100u8).collect();
    let mut t = SeqTracker::new();
    assert_eq!(t.segment(999, true, &[], 0), Segment::New(&[]));
    // A pure ACK, then data from ISN + 1.
    assert_eq!(t.segment(1000, false, &[], 0), Segment::New(&[]));
    assert_eq!(
        t.segment(1000, false, &data[..10], 10),
        Segment::New(&data[..10])
    );
    // A retransmission of those bytes, then one overlapping new bytes.
    assert_eq!(t.segment(1000, false, &data[..10], 10), Segment::New(&[]));
    assert_eq!(
        t.segment(1005, false, &data[5..20], 15),
        Segment::New(&data[10..20])
    );
    // A retransmitted SYN changes nothing.
    assert_eq!(t.segment(999, true, &[], 0), Segment::New(&[]));
    assert_eq!(
        t.segment(1020, false, &data[20..30], 10),
        Segment::New(&data[20..30])
    );
    // A hole: the segment at 1040 comes before the one at 1030.
    assert_eq!(t.segment(1040, false, &data[40..50], 10), Segment::Gap);
    assert!(t.stopped());
    assert_eq!(t.segment(1030, false, &data[30..40], 10), Segment::Stopped);
}

#[test]
fn seq_tracker_midstream_wrap_and_snaplen_cut() {
    let data: Vec<u8> = (0..100u8).collect();
    let mut t = SeqTracker::new();
    // No SYN: the first data segment anchors; the sequence space wraps.
    assert_eq!(
        t.segment(u32::MAX - 4, false, &data[..10], 10),
        Segment::New(&data[..10])
    );
    assert_eq!(
        t.segment(5, false, &data[10..20], 10),
        Segment::New(&data[10..20])
    );
    // Cut by the snaplen: 6 of 10 bytes captured.
    assert_eq!(
        t.segment(15, false, &data[20..26], 10),
        Segment::Last(&data[20..26])
    );
    assert!(t.stopped());
    // Data in the SYN (TCP Fast Open) starts at ISN + 1.
    let mut t = SeqTracker::new();
    assert_eq!(t.segment(7, true, &data[..3], 3), Segment::New(&data[..3]));
    assert_eq!(
        t.segment(11, false, &data[3..5], 2),
        Segment::New(&data[3..5])
    );
}

/// A stream cut into segments of pseudo-random sizes, each sent once or
/// twice, some retransmitted later overlapping the next ones: the frames
/// equal those of the whole stream fed at once.
#[test]
fn segments_with_retransmissions_give_the_same_frames() {
    let (s, want) = client_prior();
    let mut x: u32 = 0x1234_5678;
    let mut rnd = |m: u32| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x % m
    };
    for _round in 0..50 {
        let isn = rnd(u32::MAX);
        let mut t = SeqTracker::new();
        let mut p = DirParser::new();
        let mut got = Vec::new();
        let mut feed = |seg: Segment<'_>, p: &mut DirParser| match seg {
            Segment::New(b) => p.feed(b, &mut |e| {
                if let Event::Frame(h) = e {
                    got.push(h)
                }
            }),
            other => panic!("{other:?}"),
        };
        feed(t.segment(isn, true, &[], 0), &mut p);
        let mut off = 0usize;
        let mut prev = 0usize;
        while off < s.len() {
            let len = (1 + rnd(3000) as usize).min(s.len() - off);
            let seq = isn.wrapping_add(1).wrapping_add(off as u32);
            feed(
                t.segment(seq, false, &s[off..off + len], len as u32),
                &mut p,
            );
            if rnd(3) == 0 {
                // Retransmit this segment, or one reaching back to the
                // previous one's start.
                let from = if rnd(2) == 0 { off } else { prev };
                let seq = isn.wrapping_add(1).wrapping_add(from as u32);
                let end = off + len;
                feed(
                    t.segment(seq, false, &s[from..end], (end - from) as u32),
                    &mut p,
                );
            }
            prev = off;
            off += len;
        }
        assert_eq!(got, want);
    }
}

/// The payload pieces of each frame, concatenated, are its payload bytes,
/// however the stream is cut; SETTINGS entries read from them.
#[test]
fn payload_pieces_and_settings() {
    let mut s = PREFACE.to_vec();
    let mut set = frame(SETTINGS, 0, 0, 0);
    set[2] = 18;
    for (id, v) in [(1u16, 65536u32), (3, 1000), (4, 6_291_456)] {
        set.extend_from_slice(&id.to_be_bytes());
        set.extend_from_slice(&v.to_be_bytes());
    }
    s.extend(&set);
    s.extend(frame(DATA, 0, 1, 20));
    for cut in 0..=s.len() {
        let mut p = DirParser::new();
        let mut frames: Vec<(FrameHeader, Vec<u8>)> = Vec::new();
        for piece in [&s[..cut], &s[cut..]] {
            p.feed(piece, &mut |e| match e {
                Event::Frame(h) => frames.push((h, Vec::new())),
                Event::Payload(b) => frames.last_mut().unwrap().1.extend_from_slice(b),
            });
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].1, set[9..]);
        assert_eq!(frames[1].1, vec![0xab; 20]);
        let e: Vec<(u16, u32)> = settings(&frames[0].1).collect();
        assert_eq!(e, [(1, 65536), (3, 1000), (4, 6_291_456)]);
    }
    assert_eq!(settings(&[0, 1, 0, 0, 0, 2, 9]).count(), 1);
}
