//! The accumulators on hand-built messages.

use super::*;

/// A message: id, flags, questions (name, type), `an` answers with TTLs.
fn msg(id: u16, flags: u16, qs: &[(&str, u16)], ttls: &[u32], ns: u16, ar: u16) -> Vec<u8> {
    let mut m = Vec::new();
    for w in [id, flags, qs.len() as u16, ttls.len() as u16, ns, ar] {
        m.extend_from_slice(&w.to_be_bytes());
    }
    for (n, t) in qs {
        for l in n.split('.').filter(|l| !l.is_empty()) {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
    }
    for ttl in ttls {
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&[0, 4, 10, 0, 0, 1]);
    }
    m
}

fn feed(a: &mut Acc, m: &[u8], ts_us: i64) {
    a.message(&Message::parse(m).unwrap(), ts_us);
}

#[test]
fn queries_responses_and_matching_by_id() {
    let mut a = Acc::default();
    // Query 1 sent twice (a retransmission), query 2, then the responses
    // in the other order; an unsolicited response matches nothing.
    feed(
        &mut a,
        &msg(1, 0x0100, &[("www.example.com", 1)], &[], 0, 0),
        1_000,
    );
    feed(
        &mut a,
        &msg(1, 0x0100, &[("www.example.com", 1)], &[], 0, 0),
        2_000,
    );
    feed(
        &mut a,
        &msg(
            2,
            0x0100,
            &[("b.example", 16), ("c.d.example", 28)],
            &[],
            0,
            1,
        ),
        3_000,
    );
    feed(
        &mut a,
        &msg(2, 0x8583, &[("b.example", 16)], &[], 1, 1),
        4_500,
    );
    feed(
        &mut a,
        &msg(1, 0x8180, &[("www.example.com", 1)], &[300, 60], 0, 0),
        11_000,
    );
    feed(&mut a, &msg(9, 0x8005, &[("x", 1)], &[7], 0, 0), 12_000);
    assert_eq!((a.queries, a.responses), (3, 3));
    assert_eq!(a.names, ["www.example.com", "b.example", "c.d.example"]);
    assert_eq!(a.types, [1, 16, 28]);
    assert_eq!(a.type_counts, [2, 1, 0, 1, 0, 0]);
    assert_eq!(a.rcodes, [1, 1, 1]);
    assert_eq!((a.answers, a.authority, a.additional), (3, 1, 1));
    // 1.5 ms and 10 ms (the first of the two queries with ID 1).
    assert_eq!(a.rt_n, 2);
    assert!((a.rt_sum_ms - 11.5).abs() < 1e-9);
    assert_eq!(a.pending, [(1, 2_000)]);
    assert_eq!(a.ttl, Some((7, 300)));
    assert_eq!(a.first_q, Some(("www.example.com".to_string(), 1)));
    assert_eq!(a.first_rcode, Some(3));
    assert!(a.rd && a.ra && !a.tc);
    assert_eq!((a.qn, a.qlen_max, a.qlen_sum), (4, 15, 15 + 15 + 9 + 11));
    assert_eq!(a.depth_sum, 2 + 2 + 1 + 2);
}

#[test]
fn entropy_is_shannons_in_bits_per_character() {
    assert_eq!(entropy(b""), 0.0);
    assert_eq!(entropy(b"aaaa"), 0.0);
    assert!((entropy(b"abab") - 1.0).abs() < 1e-12);
    assert!((entropy(b"abcdefgh") - 3.0).abs() < 1e-12);
    // 'a' twice, 'b' once: -(2/3 log2 2/3 + 1/3 log2 1/3).
    let want = -(2.0f64 / 3.0 * (2.0f64 / 3.0).log2() + 1.0 / 3.0 * (1.0f64 / 3.0).log2());
    assert!((entropy(b"aba") - want).abs() < 1e-12);
}

#[test]
fn the_pending_queries_are_bounded() {
    let mut a = Acc::default();
    for id in 0..(MAX_PENDING as u16 + 5) {
        feed(&mut a, &msg(id, 0, &[("x", 1)], &[], 0, 0), i64::from(id));
    }
    assert_eq!(a.pending.len(), MAX_PENDING);
    assert_eq!(a.pending[0].0, 5);
    // The oldest are gone: a response to one of them matches nothing.
    feed(&mut a, &msg(0, 0x8000, &[], &[], 0, 0), 100);
    assert_eq!(a.rt_n, 0);
    assert_eq!(a.names, ["x"]);
}

#[test]
fn ports() {
    assert!(dns_ports(17, 53, 40000) && dns_ports(17, 40000, 5353) && dns_ports(6, 53, 1));
    assert!(!dns_ports(6, 5353, 1) && !dns_ports(17, 54, 1) && !dns_ports(1, 53, 53));
}

/// DNS over TCP as the engine hands it over: a stream start that grows by
/// segments of `seg` bytes; every message ending within the budget is read
/// once (across segments, several per segment), the rest are not, and the
/// direction is then done.
#[test]
fn tcp_messages_across_segments_up_to_the_budget() {
    use crate::features::testutil::{decoded_of, obs};
    use crate::packet::stream::StreamStart;
    // 20 queries of 1,000 bytes each (one question, padded with an
    // additional-section byte run the parser never reads): 20,040 bytes
    // with their prefixes, so 16 end within the 16 KiB budget.
    let label = "q".repeat(50);
    let mut stream = Vec::new();
    for id in 0..20u16 {
        let mut m = msg(id, 0x0100, &[(&format!("{label}.example"), 16)], &[], 0, 0);
        m.resize(1000, 0xee);
        stream.extend_from_slice(&(m.len() as u16).to_be_bytes());
        stream.extend_from_slice(&m);
    }
    let within = stream.len().min(BUDGET as usize) / 1002;
    assert_eq!(within, 16);
    for seg in [1, 700, 1002, 5000, 30_000] {
        let g = Dns;
        let mut st = g.new_state();
        let mut ss = StreamStart::new();
        let mut sent = 0;
        let mut t = 0;
        while sent < stream.len() {
            let piece = &stream[sent..(sent + seg).min(stream.len())];
            ss.push(BUDGET as usize, 1000 + sent as u32, false, piece);
            let mut d = decoded_of(&obs(
                t,
                Direction::Fwd,
                40 + piece.len() as u32,
                piece.len() as u32,
            ));
            d.dport = 53;
            let mut pkt = PacketView::new(t, Direction::Fwd, &d, &[]);
            pkt.stream = Some(&ss);
            g.update(&mut st, &pkt);
            sent += piece.len();
            t += 1;
        }
        let a = st.acc.as_deref().unwrap();
        assert_eq!(a.queries as usize, within, "segments of {seg}");
        assert_eq!(a.qn as usize, within);
        assert!(a.tcp_done[0] && g.stream_done(&st, Direction::Fwd));
        assert_eq!(a.names, [format!("{label}.example")]);
    }
    // Not DNS on port 53: the direction is done at the first frame.
    let g = Dns;
    let mut st = g.new_state();
    let mut ss = StreamStart::new();
    ss.push(BUDGET as usize, 1, false, b"\x00\x10GET / HTTP/1.1\r\n");
    let mut d = decoded_of(&obs(0, Direction::Fwd, 60, 18));
    d.dport = 53;
    let mut pkt = PacketView::new(0, Direction::Fwd, &d, &[]);
    pkt.stream = Some(&ss);
    g.update(&mut st, &pkt);
    assert!(g.stream_done(&st, Direction::Fwd));
    assert_eq!(st.acc.as_deref().unwrap().queries, 0);
    // Another port: nothing read, done at once.
    let d = decoded_of(&obs(0, Direction::Fwd, 60, 18));
    let mut st = g.new_state();
    g.update(&mut st, &PacketView::new(0, Direction::Fwd, &d, &[]));
    assert!(st.acc.is_none() && g.stream_done(&st, Direction::Fwd));
}
