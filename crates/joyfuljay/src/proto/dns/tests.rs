use super::*;

/// A header with the given id, flags and counts.
fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        v.extend_from_slice(&c.to_be_bytes());
    }
    v
}

/// A name in wire form, uncompressed.
fn wire(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in name.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

/// A response to `www.example.com A` with two answers, the second one's
/// owner compressed to the question name, and a CNAME whose RDATA ends
/// in a pointer.
fn response() -> Vec<u8> {
    let mut m = header(0xbeef, 0x8180, [1, 3, 0, 0]);
    m.extend(wire("www.example.com"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    // Answer 1: owner = pointer to the question name (offset 12).
    m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6]);
    m.extend_from_slice(&[3, b'c', b'd', b'n', 0xc0, 16]); // cdn.example.com
                                                           // Answer 2: A record, owner = pointer to the CNAME target.
    let cname_target = m.len() - 6;
    m.extend_from_slice(&[
        0xc0,
        cname_target as u8,
        0,
        1,
        0,
        1,
        0,
        0,
        0,
        60,
        0,
        4,
        10,
        0,
        0,
        1,
    ]);
    // Answer 3: TTL 0.
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 2]);
    m
}

#[test]
fn header_fields() {
    let h = Header::parse(&header(0x1234, 0x8583, [1, 2, 3, 4])).unwrap();
    assert_eq!(
        (h.id, h.qdcount, h.ancount, h.nscount, h.arcount),
        (0x1234, 1, 2, 3, 4)
    );
    assert!(h.is_response() && h.recursion_desired() && h.recursion_available());
    assert!(!h.truncated());
    assert_eq!((h.rcode(), h.opcode()), (3, 0));
    let q = Header::parse(&header(1, 0x0300, [0; 4])).unwrap();
    assert!(!q.is_response() && q.truncated() && q.recursion_desired());
    assert!(!q.recursion_available());
    assert_eq!(Header::parse(&[0; 11]), None);
}

#[test]
fn questions_and_answers_with_compression() {
    let m = response();
    let msg = Message::parse(&m).unwrap();
    let qs: Vec<_> = msg.questions().collect();
    assert_eq!(qs.len(), 1);
    assert_eq!(qs[0].name.text(), "www.example.com");
    assert_eq!((qs[0].name.labels, qs[0].name.wire_len), (3, 17));
    assert_eq!((qs[0].qtype, qs[0].qclass), (1, 1));
    let ans: Vec<_> = msg.answers().collect();
    assert_eq!(ans.len(), 3);
    assert_eq!(ans[0].name.text(), "www.example.com");
    assert_eq!((ans[0].rtype, ans[0].ttl), (5, 3600));
    assert_eq!(ans[1].name.text(), "cdn.example.com");
    assert_eq!(
        (ans[1].rtype, ans[1].ttl, ans[1].rdata),
        (1, 60, &[10, 0, 0, 1][..])
    );
    assert_eq!(ans[2].ttl, 0);
    assert_eq!(msg.first_question().unwrap().name.text(), "www.example.com");
}

#[test]
fn root_and_escaped_names() {
    let mut m = header(1, 0, [2, 0, 0, 0]);
    m.extend_from_slice(&[0, 0, 2, 0, 1]);
    m.extend_from_slice(&[4, b'a', b'.', b' ', 0xff, 1, b'\\', 0, 0, 16, 0, 1]);
    let msg = Message::parse(&m).unwrap();
    let names: Vec<_> = msg.questions().map(|q| q.name.text()).collect();
    assert_eq!(names, ["", "a\\046\\032\\255.\\092"]);
}

#[test]
fn pointer_loops_and_forward_pointers_are_refused() {
    // A pointer to itself.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert!(Message::parse(&m).is_none());
    // A label, then a pointer back to that label: a loop.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 1, 0, 1]);
    assert!(Message::parse(&m).is_none());
    // Two names pointing at each other: the second is refused (its
    // target's pointer goes forward from where that one started).
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[1, b'a', 0xc0, 16, 1, b'b', 0xc0, 12]);
    assert!(name(&m, 12).is_none());
    assert!(name(&m, 16).is_none());
    // A forward pointer.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&[0xc0, 14, 0, 0, 1, 0, 1]);
    assert!(name(&m, 12).is_none());
    // Reserved label types 01 and 10.
    for t in [0x40, 0x80] {
        let mut m = header(1, 0, [1, 0, 0, 0]);
        m.extend_from_slice(&[t, 0, 0, 1, 0, 1]);
        assert!(Message::parse(&m).is_none());
    }
}

#[test]
fn a_chain_of_backward_pointers_is_bounded() {
    // Names at offsets 12, 14, 16, …: each a pointer to the one before,
    // the first the root name. Each jump is backwards: the chain is read
    // up to MAX_JUMPS pointers, and refused beyond.
    let mut m = header(1, 0, [0; 4]);
    m.extend_from_slice(&[0, 0]);
    for i in 1..200usize {
        let prev = 12 + 2 * (i - 1);
        m.extend_from_slice(&[0xc0 | (prev >> 8) as u8, prev as u8]);
    }
    assert_eq!(
        name(&m, 12 + 2 * MAX_JUMPS).map(|n| n.0.text()),
        Some(String::new())
    );
    assert!(name(&m, 12 + 2 * (MAX_JUMPS + 1)).is_none());
}

#[test]
fn names_longer_than_255_bytes_are_refused() {
    // 4 labels of 63 bytes: 4 * 64 + 1 = 257 bytes.
    let label = "x".repeat(63);
    let long = [label.as_str(); 4].join(".");
    let short = [
        label.as_str(),
        label.as_str(),
        label.as_str(),
        &"x".repeat(61),
    ]
    .join(".");
    for (n, ok) in [(long, false), (short, true)] {
        let mut m = header(1, 0, [1, 0, 0, 0]);
        m.extend(wire(&n));
        m.extend_from_slice(&[0, 1, 0, 1]);
        assert_eq!(Message::parse(&m).is_some(), ok, "{}", n.len());
        if ok {
            assert_eq!(name(&m, 12).unwrap().0.wire_len, 255);
        }
    }
    // The same bound through pointers: a 192-byte suffix named twice.
    let mut m = header(1, 0, [1, 0, 0, 0]);
    m.extend(wire(&[label.as_str(); 3].join(".")));
    m.push(63);
    m.extend_from_slice(label.as_bytes());
    m.extend_from_slice(&[0xc0, 12]);
    assert!(name(&m, 12 + 193).is_none());
}

#[test]
fn every_cut_of_a_message_is_refused_or_partial() {
    let m = response();
    for cut in 0..m.len() {
        let b = &m[..cut];
        match Message::parse(b) {
            None => assert!(cut < 12 + 17 + 4, "{cut}"),
            Some(msg) => {
                assert!(cut >= 12 + 17 + 4);
                // Answers parse as far as they are complete.
                let n = msg.answers().count();
                assert!(n < 3, "{cut}");
                for r in msg.answers() {
                    let _ = r.name.text();
                }
            }
        }
        let _ = tcp_message(b);
    }
    assert_eq!(Message::parse(&m).unwrap().answers().count(), 3);
}

#[test]
fn tcp_framing() {
    let m = response();
    let mut s = (m.len() as u16).to_be_bytes().to_vec();
    s.extend_from_slice(&m);
    s.extend_from_slice(&[0, 3, 1]);
    let (msg, used) = tcp_message(&s).unwrap();
    assert_eq!((msg, used), (&m[..], m.len() + 2));
    assert_eq!(tcp_message(&s[used..]), None);
    assert_eq!(tcp_message(&s[..used - 1]), None);
    assert_eq!(tcp_message(&[0, 0]), Some((&[][..], 2)));
}

#[test]
fn garbage_never_panics() {
    // A simple xorshift over many lengths; every function on every input.
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut seen = 0;
    for i in 0..20_000 {
        let len = i % 300;
        let mut b = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        if b.len() > 5 && i % 3 == 0 {
            b[4] = 0;
            b[5] = 1;
        }
        if let Some(m) = Message::parse(&b) {
            seen += 1;
            for q in m.questions() {
                let t = q.name.text();
                assert!(t.len() <= 4 * MAX_NAME_LEN);
            }
            for r in m.answers() {
                let _ = r.name.text();
            }
        }
        for off in 0..b.len().min(40) {
            let _ = name(&b, off);
            let _ = record(&b, off);
        }
        let _ = tcp_message(&b);
    }
    assert!(seen > 0);
}

#[test]
fn mnemonics() {
    assert_eq!(type_name(28), "AAAA");
    assert_eq!(type_name(99), "TYPE99");
    assert_eq!(rcode_name(3), "NXDOMAIN");
    assert_eq!(rcode_name(9), "RCODE9");
}

/// The DNS messages of the DNS captures' UDP frames (ports 53 and 5353).
fn capture_messages() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for name in ["dns.cap", "dns-local.pcap"] {
        let path = joyfuljay_testkit::capture(name);
        crate::capture::CaptureReader::open(&path)
            .unwrap()
            .for_each(
                |frame| {
                    let Ok(d) = crate::decode::decode(frame.link_type, frame.data, frame.orig_len)
                    else {
                        return true;
                    };
                    let port = |p: u16| p == 53 || p == 5353;
                    if d.proto == 17 && (port(d.sport) || port(d.dport)) {
                        let start = d.payload_off as usize;
                        let end = (start + d.payload_len as usize).min(frame.data.len());
                        out.push(frame.data[start..end].to_vec());
                    }
                    true
                },
                || {},
            )
            .unwrap();
    }
    out
}

/// Every UDP message of the DNS captures read as `simple-dns` (the
/// reference crate) reads it: header, questions, answers' types and TTLs.
#[test]
fn agrees_with_simple_dns_on_the_captures() {
    use simple_dns::{Packet, PacketFlag};
    let msgs = capture_messages();
    assert!(msgs.len() >= 50, "{}", msgs.len());
    let mut answers = 0;
    for b in &msgs {
        let theirs = Packet::parse(b).unwrap();
        let ours = Message::parse(b).unwrap();
        let h = ours.header;
        assert_eq!(h.id, theirs.id());
        assert_eq!(h.is_response(), theirs.has_flags(PacketFlag::RESPONSE));
        assert_eq!(h.truncated(), theirs.has_flags(PacketFlag::TRUNCATION));
        assert_eq!(
            h.recursion_desired(),
            theirs.has_flags(PacketFlag::RECURSION_DESIRED)
        );
        assert_eq!(
            h.recursion_available(),
            theirs.has_flags(PacketFlag::RECURSION_AVAILABLE)
        );
        let qs: Vec<(String, u16)> = ours.questions().map(|q| (q.name.text(), q.qtype)).collect();
        let tq: Vec<(String, u16)> = theirs
            .questions
            .iter()
            .map(|q| (q.qname.to_string(), u16::from(q.qtype)))
            .collect();
        assert_eq!(qs, tq);
        let an: Vec<(String, u16, u32)> = ours
            .answers()
            .map(|r| (r.name.text(), r.rtype, r.ttl))
            .collect();
        let ta: Vec<(String, u16, u32)> = theirs
            .answers
            .iter()
            .map(|r| (r.name.to_string(), u16::from(r.rdata.type_code()), r.ttl))
            .collect();
        assert_eq!(an, ta);
        assert_eq!(an.len(), usize::from(h.ancount));
        answers += an.len();
    }
    assert!(answers >= 30, "{answers}");
}
