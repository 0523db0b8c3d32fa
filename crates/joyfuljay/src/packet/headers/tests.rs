//! Header accessors tested against etherparse's own parse of the same bytes.
//!
//! Packets are built with etherparse's `PacketBuilder`, decoded, and every
//! accessor is compared with `SlicedPacket` (and etherparse's TCP option
//! iterator). What etherparse does not parse (802.11, SLL2, MPTCP and
//! unknown TCP options, bytes after an unknown option) is checked against
//! values spelled out by hand.

use super::*;
use crate::decode::{decode, Decoded, LinkType};
use crate::packet::Direction;
use etherparse::{
    IpAuthHeader, IpFragOffset, IpHeaders, IpNumber, Ipv4Extensions, Ipv4Header, Ipv4Options,
    Ipv6ExtensionSlice, Ipv6Extensions, Ipv6FlowLabel, Ipv6FragmentHeader, Ipv6Header,
    Ipv6RawExtHeader, Ipv6RoutingExtensions, LinkExtSlice, LinkSlice, LinuxSllPacketType, NetSlice,
    PacketBuilder, PacketBuilderStep, SlicedPacket, TcpHeader, TcpOptionElement,
    TcpOptionReadError, TcpOptionsIterator, TransportSlice, VlanId,
};
use proptest::prelude::*;

const SRC_MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const DST_MAC: [u8; 6] = [0x02, 0x66, 0x77, 0x88, 0x99, 0xaa];
const SRC4: [u8; 4] = [192, 0, 2, 1];
const DST4: [u8; 4] = [198, 51, 100, 2];
const SRC6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
];

fn dec(lt: u32, f: &[u8]) -> Decoded {
    match decode(lt, f, f.len() as u32) {
        Ok(d) => d,
        Err(e) => panic!("link type {lt}: skipped ({e:?}) {f:02x?}"),
    }
}

fn view<'a>(d: &'a Decoded, f: &'a [u8]) -> PacketView<'a> {
    PacketView::new(0, Direction::Fwd, d, f)
}

fn payload_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

/// Serialize a builder step with `n` payload bytes.
macro_rules! build {
    ($b:expr, $n:expr) => {{
        let mut f = Vec::new();
        $b.write(&mut f, &payload_bytes($n))
            .expect("etherparse builds");
        f
    }};
}

/// A TCP step over IPv4 or IPv6 in Ethernet.
fn tcp_step(v6: bool, ttl: u8, seq: u32, window: u16) -> PacketBuilderStep<TcpHeader> {
    let eth = PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
    if v6 {
        eth.ipv6(SRC6, DST6, ttl).tcp(40000, 443, seq, window)
    } else {
        eth.ipv4(SRC4, DST4, ttl).tcp(40000, 443, seq, window)
    }
}

// ------------------------------------------------------ the comparison

/// Option kind of an etherparse option element.
fn element_kind(e: &TcpOptionElement) -> u8 {
    match e {
        TcpOptionElement::Noop => 1,
        TcpOptionElement::MaximumSegmentSize(_) => 2,
        TcpOptionElement::WindowScale(_) => 3,
        TcpOptionElement::SelectiveAcknowledgementPermitted => 4,
        TcpOptionElement::SelectiveAcknowledgement(..) => 5,
        TcpOptionElement::Timestamp(..) => 8,
    }
}

/// Compare a parse of a complete options area with etherparse's iterator.
/// etherparse stops at the first kind it does not know; up to there the
/// kinds, values and the malformed verdict must agree. Returns true when
/// etherparse read the whole area.
fn check_options(raw: &[u8], got: &TcpOptions) -> bool {
    let kinds = got.kinds();
    let mut it = TcpOptionsIterator::from_slice(raw);
    let mut k = 0;
    let (mut mss, mut ws, mut sack_perm, mut sack, mut ts) = (None, None, false, None, None);
    let complete = loop {
        let rest = it.rest();
        match it.next() {
            None => {
                // The end of the area, or EOL.
                if rest.is_empty() {
                    assert_eq!(kinds.len(), k, "{raw:?}: {got:?}");
                } else {
                    assert_eq!(rest[0], 0);
                    assert_eq!(kinds.len(), k + 1, "{raw:?}: {got:?}");
                    assert_eq!(kinds[k], 0);
                }
                assert!(!got.malformed, "{raw:?}: {got:?}");
                break true;
            }
            Some(Ok(e)) => {
                assert_eq!(kinds.get(k), Some(&element_kind(&e)), "{raw:?}: {got:?}");
                k += 1;
                match e {
                    TcpOptionElement::MaximumSegmentSize(v) => {
                        mss.get_or_insert(v);
                    }
                    TcpOptionElement::WindowScale(v) => {
                        ws.get_or_insert(v);
                    }
                    TcpOptionElement::SelectiveAcknowledgementPermitted => sack_perm = true,
                    TcpOptionElement::SelectiveAcknowledgement(first, more) => {
                        sack.get_or_insert_with(|| {
                            let mut v = vec![first];
                            v.extend(more.iter().flatten());
                            v
                        });
                    }
                    TcpOptionElement::Timestamp(val, ecr) => {
                        ts.get_or_insert(TcpTimestamps { val, ecr });
                    }
                    TcpOptionElement::Noop => {}
                }
            }
            Some(Err(TcpOptionReadError::UnknownId(id))) => {
                assert_eq!(kinds.get(k), Some(&id), "{raw:?}: {got:?}");
                break false;
            }
            Some(Err(
                TcpOptionReadError::UnexpectedSize { option_id, .. }
                | TcpOptionReadError::UnexpectedEndOfSlice { option_id, .. },
            )) => {
                assert_eq!(kinds.len(), k + 1, "{raw:?}: {got:?}");
                assert_eq!(kinds[k], option_id);
                assert!(got.malformed, "{raw:?}: {got:?}");
                break true;
            }
        }
    };
    // The first value of each kind wins; past an unknown kind only the
    // values etherparse saw can be checked.
    let check = |ours: bool, theirs: bool| ours == theirs || (!complete && !theirs);
    assert!(check(got.mss.is_some(), mss.is_some()), "{got:?}");
    assert!(mss.is_none() || got.mss == mss);
    assert!(check(got.window_scale.is_some(), ws.is_some()), "{got:?}");
    assert!(ws.is_none() || got.window_scale == ws);
    assert!(check(got.sack_permitted, sack_perm), "{got:?}");
    assert!(check(got.sack_len > 0, sack.is_some()), "{got:?}");
    if let Some(s) = sack {
        assert_eq!(got.sack(), &s[..]);
    }
    assert!(check(got.timestamps.is_some(), ts.is_some()), "{got:?}");
    assert!(ts.is_none() || got.timestamps == ts);
    if complete {
        assert_eq!(got.mptcp, None);
    }
    complete
}

/// Compare every accessor with etherparse's parse of `f` (link type 1,
/// 113 or 101). Returns the decoded packet.
fn compare(lt: u32, f: &[u8]) -> Decoded {
    let d = dec(lt, f);
    let v = view(&d, f);
    let p = match lt {
        1 => SlicedPacket::from_ethernet(f),
        113 => SlicedPacket::from_linux_sll(f),
        101 => SlicedPacket::from_ip(f),
        _ => panic!("no etherparse slicing for link type {lt}"),
    }
    .expect("etherparse parses");
    compare_sliced(&d, &v, &p);
    d
}

fn compare_sliced(d: &Decoded, v: &PacketView, p: &SlicedPacket) {
    // Link layer.
    let macs = match &p.link {
        Some(LinkSlice::Ethernet2(e)) => Some(Macs {
            src: e.source(),
            dst: Some(e.destination()),
        }),
        Some(LinkSlice::LinuxSll(s)) => (s.sender_address_valid_length() == 6).then(|| Macs {
            src: s.sender_address()[..6].try_into().unwrap(),
            dst: None,
        }),
        None => None,
        Some(other) => panic!("unexpected link {other:?}"),
    };
    assert_eq!(v.macs(), macs);
    // EtherType of the link header and the outermost VLAN tag.
    let tags: Vec<u16> = p
        .link_exts
        .iter()
        .filter_map(|e| match e {
            LinkExtSlice::Vlan(t) => Some(t.vlan_identifier().value()),
            _ => None,
        })
        .collect();
    let ether_type = match &p.link {
        Some(LinkSlice::Ethernet2(e)) => Some(e.ether_type().0),
        Some(LinkSlice::LinuxSll(s)) => match s.protocol_type() {
            etherparse::LinuxSllProtocolType::EtherType(t) => Some(t.0),
            _ => panic!("unexpected SLL protocol type"),
        },
        _ => None,
    };
    let link = v.link();
    assert_eq!(link.map(|l| l.ether_type), ether_type.map(Some));
    if p.link.is_some() {
        let l = link.unwrap();
        assert_eq!(l.vlan_id, tags.first().copied());
        assert_eq!(usize::from(l.vlan_tags), tags.len());
    } else {
        assert_eq!(link, None);
    }
    let vlans = p
        .link_exts
        .iter()
        .filter(|e| matches!(e, LinkExtSlice::Vlan(_)))
        .count();
    assert_eq!(
        d.stack.layers().filter(|l| *l == Layer::Vlan).count(),
        vlans
    );

    // Network layer.
    let later = matches!(d.fragment, Fragment::Later { .. });
    let (ip_payload, fragmented) = match p.net.as_ref().expect("IP") {
        NetSlice::Ipv4(ip) => {
            let h = ip.header();
            assert_eq!(
                h.slice().as_ptr() as usize - v.frame.as_ptr() as usize,
                d.l3_off as usize
            );
            let got = v.ipv4().expect("IPv4 details");
            let want = Ipv4Details {
                header_len: h.ihl() * 4,
                tos: (h.dcp().value() << 2) | h.ecn().value(),
                total_len: h.total_len(),
                identification: h.identification(),
                reserved_flag: h.slice()[6] & 0x80 != 0,
                df: h.dont_fragment(),
                mf: h.more_fragments(),
                fragment_offset: h.fragments_offset().value(),
                ttl: h.ttl(),
                protocol: h.protocol().0,
                checksum: h.header_checksum(),
                options: h.options(),
                options_cut: false,
            };
            assert_eq!(got, want);
            assert_eq!((got.dscp(), got.ecn()), (h.dcp().value(), h.ecn().value()));
            assert_eq!(v.ttl(), Some(h.ttl()));
            assert_eq!(v.ipv6(), None);
            assert_eq!(
                d.l4_off as usize,
                d.l3_off as usize + usize::from(got.header_len)
            );
            (ip.payload().payload, ip.payload().fragmented)
        }
        NetSlice::Ipv6(ip) => {
            let h = ip.header();
            assert_eq!(
                h.slice().as_ptr() as usize - v.frame.as_ptr() as usize,
                d.l3_off as usize
            );
            let got = v.ipv6().expect("IPv6 details");
            assert_eq!(
                (
                    got.traffic_class,
                    got.flow_label,
                    got.payload_len,
                    got.next_header,
                    got.hop_limit
                ),
                (
                    h.traffic_class(),
                    h.flow_label().value(),
                    h.payload_length(),
                    h.next_header().0,
                    h.hop_limit()
                )
            );
            assert_eq!(v.ttl(), Some(h.hop_limit()));
            assert_eq!(v.ipv4(), None);
            // The chain: etherparse walks on behind the fragment header of
            // a later fragment; the decoder stops there.
            let mut theirs: Vec<(u8, &[u8])> = ip
                .extensions()
                .clone()
                .into_iter()
                .map(|e| match e {
                    Ipv6ExtensionSlice::HopByHop(s) => (0, s.slice()),
                    Ipv6ExtensionSlice::Routing(s) => (43, s.slice()),
                    Ipv6ExtensionSlice::Fragment(s) => (44, s.slice()),
                    Ipv6ExtensionSlice::DestinationOptions(s) => (60, s.slice()),
                    Ipv6ExtensionSlice::Authentication(s) => (51, s.slice()),
                })
                .collect();
            if later {
                let frag = theirs.iter().position(|e| e.0 == 44).expect("fragment");
                theirs.truncate(frag + 1);
            }
            let ours: Vec<(u8, &[u8])> = got.ext.iter().map(|e| (e.kind, e.bytes)).collect();
            assert_eq!(ours, theirs);
            assert_eq!(got.ext.kinds().count(), theirs.len());
            let chain: usize = theirs.iter().map(|e| e.1.len()).sum();
            assert_eq!(got.ext.wire_len(), chain);
            assert_eq!(got.ext.is_empty(), chain == 0);
            assert_eq!(got.ext.bytes().len(), chain);
            assert_eq!(d.l4_off as usize, d.l3_off as usize + 40 + chain);
            (ip.payload().payload, ip.payload().fragmented)
        }
        NetSlice::Arp(_) => panic!("ARP"),
    };
    assert_eq!(
        ip_payload.as_ptr() as usize - v.frame.as_ptr() as usize,
        d.l4_off as usize
    );

    // Transport layer. etherparse stops at the IP layer for fragments:
    // slice the first fragment's transport header by hand.
    let first_tcp = (fragmented && !later && d.proto == 6)
        .then(|| etherparse::TcpSlice::from_slice(ip_payload).expect("TCP"));
    let tcp = match &p.transport {
        Some(TransportSlice::Tcp(t)) => Some(t.clone()),
        _ => first_tcp,
    };
    if let Some(t) = &tcp {
        let got = v.tcp().expect("TCP details");
        let want = TcpDetails {
            seq: t.sequence_number(),
            ack: t.acknowledgment_number(),
            header_len: t.data_offset() * 4,
            flags: t.header_slice()[13],
            ae: t.ns(),
            reserved: (t.header_slice()[12] >> 1) & 0x07,
            window: t.window_size(),
            checksum: t.checksum(),
            urgent_ptr: t.urgent_pointer(),
            options: t.options(),
            options_cut: false,
        };
        assert_eq!(got, want);
        let flags = [
            t.fin(),
            t.syn(),
            t.rst(),
            t.psh(),
            t.ack(),
            t.urg(),
            t.ece(),
            t.cwr(),
        ];
        for (bit, set) in flags.into_iter().enumerate() {
            assert_eq!(got.flags & (1 << bit) != 0, set, "flag bit {bit}");
        }
        check_options(t.options(), &got.options());
        assert_eq!(got.options(), TcpOptions::parse(t.options()));
        if !fragmented {
            assert_eq!(v.payload(), t.payload());
        }
    } else {
        assert_eq!(v.tcp(), None);
    }
    let icmp =
        match &p.transport {
            Some(TransportSlice::Icmpv4(i)) => {
                let echo = match i.icmp_type() {
                    etherparse::Icmpv4Type::EchoRequest(e)
                    | etherparse::Icmpv4Type::EchoReply(e) => Some(IcmpEcho {
                        id: e.id,
                        seq: e.seq,
                    }),
                    _ => None,
                };
                // etherparse counts 20 header bytes for timestamp messages.
                if !matches!(i.type_u8(), 13 | 14) {
                    assert_eq!(v.payload(), i.payload());
                }
                Some(IcmpDetails {
                    v6: false,
                    icmp_type: i.type_u8(),
                    code: i.code_u8(),
                    checksum: i.checksum(),
                    echo,
                })
            }
            Some(TransportSlice::Icmpv6(i)) => {
                let echo = match i.icmp_type() {
                    etherparse::Icmpv6Type::EchoRequest(e)
                    | etherparse::Icmpv6Type::EchoReply(e) => Some(IcmpEcho {
                        id: e.id,
                        seq: e.seq,
                    }),
                    _ => None,
                };
                assert_eq!(v.payload(), i.payload());
                Some(IcmpDetails {
                    v6: true,
                    icmp_type: i.type_u8(),
                    code: i.code_u8(),
                    checksum: i.checksum(),
                    echo,
                })
            }
            Some(TransportSlice::Udp(u)) => {
                // etherparse bounds UDP data by the UDP length; the decoder by
                // the IP payload. They agree when the two lengths do.
                if usize::from(u.length()) == ip_payload.len() {
                    assert_eq!(v.payload(), u.payload());
                }
                None
            }
            _ => None,
        };
    if matches!(d.proto, 1 | 58) && fragmented && !later {
        // A first fragment: the ICMP header is the IP payload's start.
        assert!(v.icmp().is_some());
    } else {
        assert_eq!(v.icmp(), icmp);
    }
    if later {
        assert_eq!(v.payload(), &[] as &[u8]);
    } else if p.transport.is_none() && !fragmented && !matches!(d.proto, 132) {
        // Protocols etherparse does not parse: the whole IP payload.
        assert_eq!(v.payload(), ip_payload);
    }
    assert!(v.payload().len() <= d.payload_len as usize);
}

/// Every accessor on every captured prefix of `f` (the snaplen cut of a
/// frame whose wire length is `f.len()`): what the prefix holds reads as
/// in the whole frame; nothing panics.
fn check_prefixes(lt: u32, f: &[u8]) {
    let full_d = dec(lt, f);
    let full = view(&full_d, f);
    let ip = full.ipv4().map(|h| (h, full_d.l3_off as usize + 20));
    let ip6 = full.ipv6();
    let tcp = full.tcp();
    let opts = tcp.map(|t| t.options());
    for cut in 0..=f.len() {
        let part = &f[..cut];
        // The decoder finds the same offsets in any prefix it can decode.
        if let Ok(d) = decode(lt, part, f.len() as u32) {
            assert_eq!(d, full_d, "cut at {cut}");
        }
        let v = view(&full_d, part);
        match ip {
            Some((h, fixed_end)) if cut >= fixed_end => {
                let got = v.ipv4().expect("fixed header captured");
                let held = h.options.len().min(cut - fixed_end);
                assert_eq!(got.options, &h.options[..held]);
                assert_eq!(got.options_cut, held < h.options.len());
                assert_eq!(
                    Ipv4Details {
                        options: h.options,
                        options_cut: false,
                        ..got
                    },
                    h
                );
                assert_eq!(v.ttl(), Some(h.ttl));
            }
            _ => assert_eq!(v.ipv4(), None, "cut at {cut}"),
        }
        match ip6 {
            Some(h) if cut >= full_d.l3_off as usize + 40 => {
                let got = v.ipv6().expect("fixed header captured");
                let ours: Vec<u8> = got.ext.kinds().collect();
                let all: Vec<u8> = h.ext.kinds().collect();
                assert!(all.starts_with(&ours), "cut at {cut}");
                assert_eq!(got.ext.wire_len(), h.ext.wire_len());
                assert!(h.ext.bytes().starts_with(got.ext.bytes()));
                assert_eq!(v.ttl(), Some(h.hop_limit));
            }
            _ => assert_eq!(v.ipv6(), None, "cut at {cut}"),
        }
        if (ip.is_none() && ip6.is_none()) || cut < full_d.l3_off as usize + 20 {
            assert_eq!(v.ttl(), None);
        }
        match (tcp, opts) {
            (Some(t), Some(o)) if cut >= full_d.l4_off as usize + 20 => {
                let got = v.tcp().expect("fixed header captured");
                let start = full_d.l4_off as usize + 20;
                let held = t.options.len().min(cut - start);
                assert_eq!(got.options, &t.options[..held]);
                assert_eq!(got.options_cut, held < t.options.len());
                assert_eq!(
                    TcpDetails {
                        options: t.options,
                        options_cut: false,
                        ..got
                    },
                    t
                );
                let po = got.options();
                assert_eq!(po.cut, got.options_cut);
                assert!(o.kinds().starts_with(po.kinds()), "cut at {cut}");
                assert!(!po.malformed || o.malformed);
                for (a, b) in [
                    (po.mss.map(u32::from), o.mss.map(u32::from)),
                    (
                        po.window_scale.map(u32::from),
                        o.window_scale.map(u32::from),
                    ),
                    (po.timestamps.map(|t| t.val), o.timestamps.map(|t| t.val)),
                ] {
                    assert!(a.is_none() || a == b, "cut at {cut}");
                }
                assert!(po.sack().is_empty() || po.sack() == o.sack());
                assert!(!po.sack_permitted || o.sack_permitted);
                if !got.options_cut {
                    assert_eq!(po, o);
                }
            }
            _ => assert_eq!(v.tcp(), None, "cut at {cut}"),
        }
        let icmp = full.icmp();
        if icmp.is_some() && cut >= full_d.l4_off as usize + 8 {
            assert_eq!(v.icmp(), icmp);
        } else {
            assert_eq!(v.icmp(), None, "cut at {cut}");
        }
        let macs = v.macs();
        assert!(macs.is_none() || macs == full.macs(), "cut at {cut}");
        let pl = full.payload();
        let held = pl
            .len()
            .min(cut.saturating_sub(full_d.payload_off as usize));
        assert_eq!(v.payload(), &pl[..held], "cut at {cut}");
    }
}

// --------------------------------------------------------------- TCP

#[test]
fn tcp_header_and_options() {
    use TcpOptionElement::*;
    let option_sets: [&[TcpOptionElement]; 5] = [
        &[],
        // A typical SYN (padded with EOL by etherparse).
        &[
            MaximumSegmentSize(1460),
            SelectiveAcknowledgementPermitted,
            Timestamp(0x0102_0304, 0),
            Noop,
            WindowScale(7),
        ],
        // Timestamps and three SACK blocks fill the 40 bytes.
        &[
            Noop,
            Noop,
            Timestamp(77, 0xffff_fffe),
            Noop,
            Noop,
            SelectiveAcknowledgement((1, 2), [Some((3, 4)), Some((5, 6)), None]),
        ],
        // Four SACK blocks.
        &[
            Noop,
            Noop,
            SelectiveAcknowledgement(
                (10, 20),
                [
                    Some((30, 40)),
                    Some((50, 60)),
                    Some((0xffff_0000, 0xffff_ffff)),
                ],
            ),
        ],
        // Padded with EOL.
        &[WindowScale(14), Noop, MaximumSegmentSize(536), Noop],
    ];
    for v6 in [false, true] {
        for (i, opts) in option_sets.iter().enumerate() {
            let b = tcp_step(v6, 50 + i as u8, 0xdead_beef, 0xfedc)
                .ns()
                .syn()
                .ack(0x1234_5678)
                .urg(0x0bad)
                .ece()
                .cwr()
                .options(opts)
                .expect("options fit");
            let f = build!(b, 100 + i);
            let d = compare(1, &f);
            let v = view(&d, &f);
            let t = v.tcp().unwrap();
            // By hand, too.
            assert_eq!(
                (t.seq, t.ack, t.window, t.urgent_ptr),
                (0xdead_beef, 0x1234_5678, 0xfedc, 0x0bad)
            );
            assert_eq!((t.flags, t.ae, t.reserved), (0xf2, true, 0));
            assert_eq!(v.ttl(), Some(50 + i as u8));
            assert_eq!(v.payload(), &payload_bytes(100 + i)[..]);
            let o = t.options();
            match i {
                0 => assert_eq!(o, TcpOptions::parse(&[])),
                1 => {
                    assert_eq!(o.kinds(), &[2, 4, 8, 1, 3]);
                    assert_eq!(o.mss, Some(1460));
                    assert_eq!(o.window_scale, Some(7));
                    assert!(o.sack_permitted);
                    assert_eq!(
                        o.timestamps,
                        Some(TcpTimestamps {
                            val: 0x0102_0304,
                            ecr: 0
                        })
                    );
                }
                2 => {
                    assert_eq!(o.kinds(), &[1, 1, 8, 1, 1, 5]);
                    assert_eq!(o.sack(), &[(1, 2), (3, 4), (5, 6)]);
                    assert_eq!(o.timestamps.unwrap().ecr, 0xffff_fffe);
                }
                3 => assert_eq!(o.sack().len(), 4),
                _ => assert_eq!(o.kinds(), &[3, 1, 2, 1, 0]),
            }
            assert!(!o.malformed && !o.cut);
            check_prefixes(1, &f);
        }
    }
}

#[test]
fn malformed_tcp_options() {
    // (options area, kinds read, what was kept)
    let cases: [(&[u8], &[u8], Option<u16>); 10] = [
        // MSS with length 5.
        (&[2, 5, 5, 0xb4, 1, 1, 1, 1], &[2], None),
        // A length of 0 or 1 after a good MSS.
        (&[2, 4, 5, 0xb4, 8, 0, 1, 1], &[2, 8], Some(1460)),
        (&[1, 2, 4, 5, 0xb4, 3, 1, 1], &[1, 2, 3], Some(1460)),
        // A length running past the area.
        (&[2, 4, 5, 0xb4, 5, 12, 0, 0], &[2, 5], Some(1460)),
        (&[1, 1, 1, 1, 1, 1, 1, 2], &[1, 1, 1, 1, 1, 1, 1, 2], None),
        // SACK with a length not 2 + 8n; window scale with length 4.
        (&[5, 6, 0, 0, 0, 0, 1, 1], &[5], None),
        (&[3, 4, 7, 0, 2, 4, 1, 1], &[3], None),
        // Timestamps with length 8, SACK permitted with length 3.
        (&[8, 8, 0, 0, 0, 0, 0, 0], &[8], None),
        (&[4, 3, 0, 1, 2, 4, 5, 0xb4], &[4], None),
        // MPTCP too short to hold a subtype.
        (&[2, 4, 5, 0xb4, 30, 2, 1, 1], &[2, 30], Some(1460)),
    ];
    for (raw, kinds, mss) in cases {
        let f = build!(tcp_step(false, 64, 1, 2).options_raw(raw).unwrap(), 5);
        let d = compare(1, &f);
        let o = view(&d, &f).tcp().unwrap().options();
        assert!(o.malformed, "{raw:?}");
        assert!(!o.cut);
        assert_eq!(o.kinds(), kinds, "{raw:?}");
        assert_eq!(o.mss, mss, "{raw:?}");
        assert_eq!(o, TcpOptions::parse(raw));
        check_prefixes(1, &f);
    }
}

#[test]
fn mptcp_and_unknown_tcp_options() {
    // TFO cookie (34, unknown to etherparse), then MSS; then MP_CAPABLE
    // (subtype 0, version 1, flags 0x81, an 8-byte key); then a second MSS
    // (ignored), NOP, EOL and padding.
    let raw: [u8; 36] = [
        34, 6, 0xaa, 0xbb, 0xcc, 0xdd, // TFO
        2, 4, 0x05, 0xb4, // MSS 1460
        30, 12, 0x01, 0x81, 1, 2, 3, 4, 5, 6, 7, 8, // MPTCP
        2, 4, 0x02, 0x18, // MSS 536
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let f = build!(tcp_step(true, 64, 1, 2).options_raw(&raw).unwrap(), 0);
    let d = compare(1, &f);
    let o = view(&d, &f).tcp().unwrap().options();
    assert_eq!(o.kinds(), &[34, 2, 30, 2, 1, 0]);
    assert_eq!(o.mss, Some(1460));
    let m = o.mptcp.unwrap();
    assert_eq!(m.subtype, 0);
    assert_eq!(m.data, &raw[12..22]);
    assert!(!o.malformed);
    // DSS (subtype 2) in a complete area; etherparse stops at kind 30.
    let dss = [30, 8, 0x20, 0x01, 0, 0, 0, 9];
    let o = TcpOptions::parse(&dss);
    assert!(!check_options(&dss, &o));
    assert_eq!((o.mptcp.unwrap().subtype, o.kinds()), (2, &[30][..]));
    check_prefixes(1, &f);
}

#[test]
fn tcp_option_kinds_are_bounded() {
    // 40 NOPs fill the list; a longer slice than any header holds keeps
    // parsing without listing more.
    let o = TcpOptions::parse(&[1; 40]);
    assert_eq!(o.kinds(), &[1; 40]);
    let mut long = vec![1u8; 60];
    long.extend_from_slice(&[2, 4, 1, 0]);
    let o = TcpOptions::parse(&long);
    assert_eq!((o.kinds().len(), o.mss), (40, Some(256)));
    // Bytes after EOL are not read.
    let o = TcpOptions::parse(&[0, 2, 4, 1, 0]);
    assert_eq!((o.kinds(), o.mss), (&[0][..], None));
}

// ---------------------------------------------------------------- IPv4

fn ipv4_header(options: &[u8], ttl: u8) -> IpHeaders {
    let mut h = Ipv4Header::new(0, ttl, IpNumber::TCP, SRC4, DST4).unwrap();
    h.options = Ipv4Options::try_from(options).unwrap();
    h.identification = 0xbeef;
    h.dscp = etherparse::IpDscp::try_new(46).unwrap();
    h.ecn = etherparse::IpEcn::try_new(1).unwrap();
    h.dont_fragment = false;
    IpHeaders::Ipv4(h, Ipv4Extensions::default())
}

#[test]
fn ipv4_with_options() {
    // NOP NOP NOP EOL; record route (7) with room for two addresses + EOL.
    let route = [7u8, 11, 4, 10, 0, 0, 1, 10, 0, 0, 2, 0];
    for options in [&[][..], &[1, 1, 1, 0], &route] {
        let ip = ipv4_header(options, 33);
        let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
            .ip(ip)
            .tcp(1, 2, 3, 4)
            .options(&[TcpOptionElement::MaximumSegmentSize(1400)])
            .unwrap();
        let f = build!(b, 10);
        let d = compare(1, &f);
        let h = view(&d, &f).ipv4().unwrap();
        assert_eq!(h.options, options);
        assert_eq!((h.header_len as usize, h.ttl), (20 + options.len(), 33));
        assert_eq!((h.dscp(), h.ecn(), h.identification), (46, 1, 0xbeef));
        assert_eq!((h.df, h.mf, h.fragment_offset), (false, false, 0));
        check_prefixes(1, &f);
    }
}

#[test]
fn ipv4_fragments() {
    // The first fragment keeps its TCP header; a later one has none.
    for (offset, mf) in [(0u16, true), (185, true), (370, false)] {
        let IpHeaders::Ipv4(mut h, e) = ipv4_header(&[1, 1, 1, 1], 9) else {
            unreachable!()
        };
        h.fragment_offset = IpFragOffset::try_new(offset).unwrap();
        h.more_fragments = mf;
        let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
            .ip(IpHeaders::Ipv4(h, e))
            .tcp(1, 2, 3, 4);
        let f = build!(b, 30);
        let d = compare(1, &f);
        let v = view(&d, &f);
        assert_eq!(v.ipv4().unwrap().fragment_offset, offset);
        assert_eq!(v.ipv4().unwrap().mf, mf);
        if offset == 0 {
            assert_eq!(v.tcp().unwrap().seq, 3);
            assert_eq!(v.payload(), &payload_bytes(30)[..]);
        } else {
            assert_eq!(v.tcp(), None);
            assert!(v.payload().is_empty());
            assert_eq!(d.payload_len, 50);
        }
        check_prefixes(1, &f);
    }
}

// ---------------------------------------------------------------- IPv6

fn raw_ext(len8: usize) -> Ipv6RawExtHeader {
    let payload: Vec<u8> = (0..6 + 8 * len8).map(|i| i as u8).collect();
    Ipv6RawExtHeader::new_raw(IpNumber::TCP, &payload).unwrap()
}

#[test]
fn ipv6_extension_headers() {
    let auth = IpAuthHeader::new(IpNumber::TCP, 0x100, 7, &[0xa5; 12]).unwrap();
    let frag = |offset: u16, mf: bool| {
        Ipv6FragmentHeader::new(
            IpNumber::TCP,
            IpFragOffset::try_new(offset).unwrap(),
            mf,
            0xcafe_f00d,
        )
    };
    // (extensions, kinds in order)
    let cases: Vec<(Ipv6Extensions, Vec<u8>)> = vec![
        (Ipv6Extensions::default(), vec![]),
        (
            Ipv6Extensions {
                hop_by_hop_options: Some(raw_ext(0)),
                ..Default::default()
            },
            vec![0],
        ),
        (
            Ipv6Extensions {
                hop_by_hop_options: Some(raw_ext(2)),
                destination_options: Some(raw_ext(0)),
                routing: Some(Ipv6RoutingExtensions {
                    routing: raw_ext(1),
                    final_destination_options: Some(raw_ext(3)),
                }),
                fragment: Some(frag(0, false)),
                auth: Some(auth.clone()),
            },
            vec![0, 60, 43, 44, 51, 60],
        ),
        // First and later fragments behind a hop-by-hop header.
        (
            Ipv6Extensions {
                hop_by_hop_options: Some(raw_ext(0)),
                fragment: Some(frag(0, true)),
                ..Default::default()
            },
            vec![0, 44],
        ),
        (
            Ipv6Extensions {
                hop_by_hop_options: Some(raw_ext(0)),
                fragment: Some(frag(100, true)),
                ..Default::default()
            },
            vec![0, 44],
        ),
        (
            Ipv6Extensions {
                routing: Some(Ipv6RoutingExtensions {
                    routing: raw_ext(0),
                    final_destination_options: None,
                }),
                auth: Some(auth),
                ..Default::default()
            },
            vec![43, 51],
        ),
    ];
    for (exts, kinds) in cases {
        let mut h = Ipv6Header {
            traffic_class: 0xb9,
            flow_label: Ipv6FlowLabel::try_new(0xabcde).unwrap(),
            hop_limit: 17,
            source: SRC6,
            destination: DST6,
            ..Default::default()
        };
        h.next_header = IpNumber::TCP;
        let later = exts
            .fragment
            .as_ref()
            .is_some_and(|f| f.fragment_offset.value() > 0);
        let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
            .ip(IpHeaders::Ipv6(h, exts))
            .tcp(5, 6, 7, 8)
            .options(&[TcpOptionElement::WindowScale(2)])
            .unwrap();
        let f = build!(b, 40);
        let d = compare(1, &f);
        let v = view(&d, &f);
        let h = v.ipv6().unwrap();
        assert_eq!(
            (h.traffic_class, h.flow_label, h.hop_limit),
            (0xb9, 0xabcde, 17)
        );
        assert_eq!(h.ext.kinds().collect::<Vec<_>>(), kinds);
        assert_eq!(v.ttl(), Some(17));
        assert_eq!(v.tcp().is_some(), !later);
        assert_eq!(v.payload().is_empty(), later);
        check_prefixes(1, &f);
    }
}

// ---------------------------------------------------------------- ICMP

#[test]
fn icmp_and_icmpv6() {
    let eth = || PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
    let frames = [
        build!(
            eth().ipv4(SRC4, DST4, 64).icmpv4_echo_request(0x1234, 7),
            56
        ),
        build!(eth().ipv4(SRC4, DST4, 64).icmpv4_echo_reply(0x1234, 8), 0),
        build!(
            eth().ipv4(SRC4, DST4, 64).icmpv4_raw(3, 3, [0, 0, 0, 0]),
            28
        ),
        build!(
            eth().ipv6(SRC6, DST6, 64).icmpv6_echo_request(0xfeed, 1),
            32
        ),
        build!(eth().ipv6(SRC6, DST6, 64).icmpv6_echo_reply(0xfeed, 2), 1),
        build!(
            eth().ipv6(SRC6, DST6, 64).icmpv6_raw(2, 0, [0, 0, 5, 0xdc]),
            48
        ),
    ];
    let want = [
        (false, 8, Some((0x1234, 7))),
        (false, 0, Some((0x1234, 8))),
        (false, 3, None),
        (true, 128, Some((0xfeed, 1))),
        (true, 129, Some((0xfeed, 2))),
        (true, 2, None),
    ];
    let lens = [56, 0, 28, 32, 1, 48];
    for ((f, (v6, ty, echo)), len) in frames.iter().zip(want).zip(lens) {
        let d = compare(1, f);
        let v = view(&d, f);
        let i = v.icmp().unwrap();
        assert_eq!((i.v6, i.icmp_type), (v6, ty));
        assert_eq!(i.echo.map(|e| (e.id, e.seq)), echo);
        assert_eq!(v.payload(), &payload_bytes(len)[..]);
        assert_eq!(v.tcp(), None);
        check_prefixes(1, f);
    }
}

// ------------------------------------------------------------ link layers

#[test]
fn vlan_tagged_ethernet() {
    let one = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .single_vlan(VlanId::try_new(100).unwrap())
        .ipv4(SRC4, DST4, 5)
        .udp(53, 5353);
    let two = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .double_vlan(VlanId::try_new(7).unwrap(), VlanId::try_new(8).unwrap())
        .ipv6(SRC6, DST6, 6)
        .tcp(1, 2, 3, 4);
    for (f, l3, outer, et, n) in [
        (build!(one, 20), 18, 100, 0x8100, 1),
        (build!(two, 20), 22, 7, 0x88a8, 2),
    ] {
        let d = compare(1, &f);
        assert_eq!(d.l3_off, l3);
        let l = view(&d, &f).link().unwrap();
        assert_eq!(
            (l.vlan_id, l.ether_type, l.vlan_tags),
            (Some(outer), Some(et), n)
        );
        let m = view(&d, &f).macs().unwrap();
        assert_eq!((m.src, m.dst), (SRC_MAC, Some(DST_MAC)));
        check_prefixes(1, &f);
    }
}

#[test]
fn linux_cooked_captures() {
    let addr = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0, 0];
    let b = PacketBuilder::linux_sll(LinuxSllPacketType::OUTGOING, 6, addr)
        .ipv4(SRC4, DST4, 64)
        .tcp(1, 2, 3, 4);
    let f = build!(b, 9);
    let d = compare(113, &f);
    let m = view(&d, &f).macs().unwrap();
    assert_eq!((m.src, m.dst), ([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee], None));
    check_prefixes(113, &f);
    // Addresses that are not 6 bytes long are not MACs.
    let b = PacketBuilder::linux_sll(LinuxSllPacketType::HOST, 4, addr)
        .ipv4(SRC4, DST4, 64)
        .udp(1, 2);
    let f = build!(b, 9);
    let d = compare(113, &f);
    assert_eq!(view(&d, &f).macs(), None);
    // SLL2 (etherparse has no slicer for it): the synthetic frame's
    // address is 02:00:00:00:00:01 at bytes 12–17.
    let p = crate::synth::Packet::udp("192.0.2.1", 1, "192.0.2.2", 2, 10);
    let f = p.frame(276);
    let d = dec(276, &f);
    let m = view(&d, &f).macs().unwrap();
    assert_eq!((m.src, m.dst), ([2, 0, 0, 0, 0, 1], None));
    // Its protocol type (bytes 0–1) is the EtherType; no tags.
    let l = view(&d, &f).link().unwrap();
    assert_eq!(
        (l.ether_type, l.vlan_id, l.vlan_tags),
        (Some(0x0800), None, 0)
    );
    let mut g = f.clone();
    g[11] = 8;
    assert_eq!(view(&d, &g).macs(), None);
    check_prefixes(276, &f);
}

/// An 802.11 data frame with the DS bits `ds`, addresses 1–4 filled with
/// 0xa1.., 0xa2.., 0xa3.., 0xa4.., QoS when `qos`, then LLC/SNAP and `ip`.
fn wlan_frame(ds: u8, qos: bool, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![if qos { 0x88 } else { 0x08 }, ds, 0, 0];
    for a in [0xa1, 0xa2, 0xa3] {
        f.extend_from_slice(&[a, 1, 2, 3, 4, 5]);
    }
    f.extend_from_slice(&[0, 0]); // sequence control
    if ds == 3 {
        f.extend_from_slice(&[0xa4, 1, 2, 3, 4, 5]);
    }
    if qos {
        f.extend_from_slice(&[0, 0]);
    }
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    f.extend_from_slice(ip);
    f
}

#[test]
fn wifi_addresses() {
    let ip = build!(PacketBuilder::ipv4(SRC4, DST4, 64).tcp(1, 2, 3, 4), 12);
    let addr = |a: u8| [a, 1, 2, 3, 4, 5];
    // (DS bits, SA, DA) as Wireshark's wlan.sa / wlan.da.
    for (ds, sa, da) in [
        (0u8, 0xa2, 0xa1),
        (1, 0xa2, 0xa3),
        (2, 0xa3, 0xa1),
        (3, 0xa4, 0xa3),
    ] {
        for qos in [false, true] {
            let w = wlan_frame(ds, qos, &ip);
            let mut radiotap = vec![0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            radiotap.extend_from_slice(&w);
            let mut ppi = vec![0, 0, 8, 0, 105, 0, 0, 0];
            ppi.extend_from_slice(&w);
            for (lt, f) in [(105, w.clone()), (127, radiotap), (192, ppi)] {
                let d = dec(lt, &f);
                let v = view(&d, &f);
                let m = v.macs().unwrap();
                assert_eq!(
                    (m.src, m.dst),
                    (addr(sa), Some(addr(da))),
                    "ds {ds} lt {lt}"
                );
                // The IP layer reads the same as without Wi-Fi.
                let raw = dec(101, &ip);
                let r = view(&raw, &ip);
                assert_eq!(v.ipv4(), r.ipv4());
                assert_eq!(v.tcp(), r.tcp());
                assert_eq!(v.payload(), r.payload());
                check_prefixes(lt, &f);
            }
        }
    }
    // PPI carrying Ethernet.
    let e = build!(
        PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
            .ipv4(SRC4, DST4, 64)
            .udp(1, 2),
        3
    );
    let mut f = vec![0, 0, 8, 0, 1, 0, 0, 0];
    f.extend_from_slice(&e);
    let d = dec(192, &f);
    let m = view(&d, &f).macs().unwrap();
    assert_eq!((m.src, m.dst), (SRC_MAC, Some(DST_MAC)));
}

#[test]
fn links_without_macs() {
    let p = crate::synth::Packet::tcp("192.0.2.1", 1, "192.0.2.2", 2, 0x10, 5);
    for lt in [0u32, 9, 50, 101, 108, 228] {
        let f = p.frame(lt);
        let d = dec(lt, &f);
        let v = view(&d, &f);
        assert_eq!(v.macs(), None, "link type {lt}");
        assert_eq!(v.tcp().unwrap().seq, 1000);
        assert_eq!(v.payload(), &[0x61; 5]);
    }
}

// ------------------------------------------------ padding, payload, views

#[test]
fn ethernet_padding_is_not_payload() {
    let eth = || PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
    for (mut f, n) in [
        (build!(eth().ipv4(SRC4, DST4, 64).udp(1, 2), 3), 3),
        (build!(eth().ipv4(SRC4, DST4, 64).tcp(1, 2, 3, 4), 1), 1),
        (
            build!(eth().ipv4(SRC4, DST4, 64).icmpv4_echo_request(1, 2), 0),
            0,
        ),
        (build!(eth().ipv6(SRC6, DST6, 64).udp(1, 2), 0), 0),
    ] {
        assert!(f.len() < 60 || n == 0);
        f.resize(f.len().max(60), 0xee);
        f.extend_from_slice(&[0xee; 4]); // and a frame check sequence
        let d = compare(1, &f);
        assert_eq!(view(&d, &f).payload(), &payload_bytes(n)[..]);
        check_prefixes(1, &f);
    }
}

#[test]
fn views_without_frames() {
    // A view whose frame was not carried reads nothing, and nothing panics.
    let f = build!(tcp_step(false, 1, 2, 3), 10);
    let d = dec(1, &f);
    let v = view(&d, &[]);
    assert_eq!(
        (v.ipv4(), v.ipv6(), v.ttl(), v.tcp(), v.icmp(), v.macs()),
        (None, None, None, None, None, None)
    );
    assert!(v.payload().is_empty());
}

// -------------------------------------------------- real captures

#[test]
fn real_captures_against_etherparse() {
    for name in [
        "http.cap",
        "dns.cap",
        "v6-http.cap",
        "vlan.cap",
        "imap.cap",
        "tcp-ethereal-file1.trace",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/captures")
            .join(name);
        let mut reader = crate::capture::CaptureReader::open(&path).expect("open capture");
        let mut compared = 0;
        reader
            .for_each(
                |frame| {
                    let Ok(d) = decode(frame.link_type, frame.data, frame.orig_len) else {
                        return true;
                    };
                    let v = view(&d, frame.data);
                    match SlicedPacket::from_ethernet(frame.data) {
                        // IPv4 carrying AH: etherparse reads AH as an
                        // extension, the decoder as the protocol.
                        Ok(p) if !matches!(&p.net, Some(NetSlice::Ipv4(ip)) if ip.header().protocol().0 == 51) =>
                        {
                            compare_sliced(&d, &v, &p);
                            compared += 1;
                        }
                        _ => {}
                    }
                    true
                },
                || {},
            )
            .expect("read capture");
        assert!(compared > 0, "{name}");
        eprintln!("{name}: {compared} frames compared");
    }
}

// -------------------------------------------------- no panics, ever

/// Every accessor, for the side effect of not panicking.
fn touch_all(v: &PacketView) -> usize {
    let mut n = 0;
    if let Some(h) = v.ipv4() {
        n += h.options.len() + usize::from(h.dscp() + h.ecn());
    }
    if let Some(h) = v.ipv6() {
        n += h.ext.iter().map(|e| e.bytes.len()).sum::<usize>() + h.ext.kinds().count();
    }
    n += usize::from(v.ttl().is_some());
    if let Some(t) = v.tcp() {
        let o = t.options();
        n += o.kinds().len() + o.sack().len();
    }
    n += usize::from(v.icmp().is_some()) + usize::from(v.macs().is_some());
    n += usize::from(v.link().is_some());
    n + v.payload().len()
}

/// Valid frames of several kinds, for the mutation test: (link type, frame).
fn seed_frames() -> Vec<(u32, Vec<u8>)> {
    use TcpOptionElement::*;
    let eth = || PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
    let syn = [
        MaximumSegmentSize(1460),
        SelectiveAcknowledgementPermitted,
        Timestamp(1, 2),
        Noop,
        WindowScale(7),
    ];
    let mut exts = Ipv6Extensions {
        hop_by_hop_options: Some(raw_ext(0)),
        routing: Some(Ipv6RoutingExtensions {
            routing: raw_ext(1),
            final_destination_options: None,
        }),
        ..Default::default()
    };
    exts.fragment = Some(Ipv6FragmentHeader::new(
        IpNumber::TCP,
        IpFragOffset::ZERO,
        true,
        5,
    ));
    let h6 = Ipv6Header {
        source: SRC6,
        destination: DST6,
        hop_limit: 3,
        ..Default::default()
    };
    let ip = build!(PacketBuilder::ipv4(SRC4, DST4, 64).tcp(1, 2, 3, 4), 12);
    vec![
        (
            1,
            build!(tcp_step(false, 64, 1, 2).options(&syn).unwrap(), 20),
        ),
        (
            1,
            build!(tcp_step(true, 64, 1, 2).options(&syn).unwrap(), 20),
        ),
        (
            1,
            build!(
                eth()
                    .ip(ipv4_header(&[7, 7, 4, 0, 0, 0, 0, 0], 1))
                    .udp(1, 2),
                8
            ),
        ),
        (
            1,
            build!(eth().ip(IpHeaders::Ipv6(h6, exts)).tcp(1, 2, 3, 4), 8),
        ),
        (
            1,
            build!(eth().ipv6(SRC6, DST6, 64).icmpv6_echo_request(1, 2), 8),
        ),
        (
            1,
            build!(eth().ipv4(SRC4, DST4, 64).icmpv4_echo_reply(1, 2), 8),
        ),
        (
            113,
            build!(
                PacketBuilder::linux_sll(LinuxSllPacketType::HOST, 6, [1; 8])
                    .ipv4(SRC4, DST4, 1)
                    .tcp(1, 2, 3, 4),
                4
            ),
        ),
        (105, wlan_frame(3, true, &ip)),
        (127, {
            let mut f = vec![0, 0, 8, 0, 0, 0, 0, 0];
            f.extend_from_slice(&wlan_frame(1, false, &ip));
            f
        }),
    ]
}

proptest! {
    #[test]
    fn mutated_frames_never_panic(
        which in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        extra in 0u32..100,
    ) {
        let seeds = seed_frames();
        let (lt, mut f) = seeds[which.index(seeds.len())].clone();
        for (at, b) in flips {
            let i = at.index(f.len());
            f[i] = b;
        }
        let wire = f.len() as u32 + extra;
        f.truncate(cut.index(f.len() + 1));
        if let Ok(d) = decode(lt, &f, wire) {
            let v = view(&d, &f);
            touch_all(&v);
            prop_assert!(v.payload().len() <= d.payload_len as usize);
            prop_assert!(d.l3_off <= d.l4_off && d.l4_off <= d.payload_off);
            prop_assert_eq!(d.payload_off + d.payload_len, d.l3_off + d.ip_len);
        }
    }

    #[test]
    fn random_frames_never_panic(
        sel in any::<u8>(),
        extra in 0u32..2000,
        frame in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let lt = LinkType::SUPPORTED[usize::from(sel) % LinkType::SUPPORTED.len()].0;
        if let Ok(d) = decode(lt, &frame, frame.len() as u32 + extra) {
            let v = view(&d, &frame);
            touch_all(&v);
            // Every prefix of the frame under the same summary.
            for cut in 0..frame.len() {
                touch_all(&view(&d, &frame[..cut]));
            }
        }
    }

    #[test]
    fn random_offsets_never_panic(
        l3 in any::<u32>(),
        l4 in any::<u32>(),
        pl_off in any::<u32>(),
        pl_len in any::<u32>(),
        proto in prop_oneof![Just(1u8), Just(6), Just(17), Just(58), any::<u8>()],
        v6 in any::<bool>(),
        later in any::<bool>(),
        lt in prop_oneof![Just(1u32), Just(113), Just(276), Just(105), Just(127), Just(192), Just(0)],
        small in 0u32..200,
        frame in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        // A summary that does not belong to the frame (offsets anywhere).
        let p = crate::synth::Packet::udp("192.0.2.1", 1, "192.0.2.2", 2, 1);
        let mut d = dec(lt, &p.frame(lt));
        d.v6 = v6;
        d.proto = proto;
        d.fragment = if later { Fragment::Later { id: 1 } } else { Fragment::None };
        let pick = |x: u32| if x & 1 == 0 { small.wrapping_add(x % 64) } else { x };
        d.l3_off = pick(l3);
        d.l4_off = pick(l4);
        d.payload_off = pick(pl_off);
        d.payload_len = pl_len;
        touch_all(&view(&d, &frame));
    }

    #[test]
    fn random_tcp_options_match_etherparse(
        raw in proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(2), Just(3), Just(4), Just(5), Just(8), Just(30), any::<u8>()],
            0..=40,
        ),
    ) {
        let o = TcpOptions::parse(&raw);
        check_options(&raw, &o);
        // And as the options of a header whose capture ends anywhere.
        for cut in 0..=raw.len() {
            let c = TcpOptions::parse_area(&raw[..cut], raw.len(), cut < raw.len());
            prop_assert!(o.kinds().starts_with(c.kinds()));
            prop_assert!(!c.malformed || o.malformed);
        }
    }
}
