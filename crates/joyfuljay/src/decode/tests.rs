//! Decoder unit tests.
//!
//! Every expected value is derived by hand from how the packet was built
//! (header sizes are spelled out in the comments); the decoder is never used
//! to produce its own expectations. The comparison with `etherparse` on
//! generated packets and on real captures is in `tests/fuzz_corpus.rs`, with
//! the oracle of the `decode_vs_etherparse` fuzz target (`fuzz/src/lib.rs`).

use super::*;
use crate::synth::{Packet, L4};
use std::net::{Ipv4Addr, Ipv6Addr};

const A4: &str = "192.0.2.1";
const B4: &str = "198.51.100.2";
const A6: &str = "2001:db8::1";
const B6: &str = "2001:db8:ffff::2";

fn v4(s: &str) -> u128 {
    u128::from(u32::from(s.parse::<Ipv4Addr>().expect("IPv4 literal")))
}

fn v6(s: &str) -> u128 {
    u128::from(s.parse::<Ipv6Addr>().expect("IPv6 literal"))
}

/// Decode a complete (not snaplen-cut) frame.
fn dec(link_type: u32, f: &[u8]) -> Result<Decoded, SkipReason> {
    decode(link_type, f, f.len() as u32)
}

fn ok(link_type: u32, f: &[u8]) -> Decoded {
    match dec(link_type, f) {
        Ok(d) => d,
        Err(e) => panic!("link type {link_type}: unexpected skip {e:?} for {f:02x?}"),
    }
}

fn tokens(d: &Decoded) -> Vec<&'static str> {
    d.stack.layers().map(Layer::token).collect()
}

/// `hdr_desc` as the feature code builds it: stack tokens, then the transport.
fn hdr_desc(d: &Decoded) -> String {
    let mut t: Vec<String> = tokens(d).into_iter().map(str::to_string).collect();
    t.push(transport_token(d.proto).into_owned());
    t.join("-")
}

/// (sport, dport, proto, ip_len, payload_len)
fn l4(d: &Decoded) -> (u16, u16, u8, u32, u32) {
    (d.sport, d.dport, d.proto, d.ip_len, d.payload_len)
}

fn tcp4(payload: usize) -> Packet {
    Packet::tcp(A4, 40000, B4, 443, tcp_flags::PSH | tcp_flags::ACK, payload)
}

fn tcp6(payload: usize) -> Packet {
    Packet::tcp(A6, 40000, B6, 443, tcp_flags::PSH | tcp_flags::ACK, payload)
}

fn assert_v4_addrs(d: &Decoded) {
    assert!(!d.v6);
    assert_eq!(d.src, v4(A4));
    assert_eq!(d.dst, v4(B4));
}

fn assert_v6_addrs(d: &Decoded) {
    assert!(d.v6);
    assert_eq!(d.src, v6(A6));
    assert_eq!(d.dst, v6(B6));
}

fn with_header(header: &[u8], p: &Packet) -> Vec<u8> {
    let mut f = header.to_vec();
    f.extend_from_slice(&p.ip_bytes());
    f
}

// ---------------------------------------------------------------- link types

#[test]
fn every_link_type_ipv4() {
    // TCP, 100 payload bytes: IP 20 + TCP 20 + 100 = 140.
    let p = tcp4(100);
    for (lt, stack) in [
        (0u32, vec!["NULL", "IP"]),
        (1, vec!["ETH", "IP"]),
        (9, vec!["PPP", "IP"]),
        (50, vec!["PPP", "IP"]),
        (12, vec!["IP"]),
        (14, vec!["IP"]),
        (101, vec!["IP"]),
        (108, vec!["NULL", "IP"]),
        (113, vec!["SLL", "IP"]),
        (228, vec!["IP"]),
        (276, vec!["SLL2", "IP"]),
    ] {
        let d = ok(lt, &p.frame(lt));
        assert_v4_addrs(&d);
        assert_eq!(l4(&d), (40000, 443, 6, 140, 100), "link type {lt}");
        assert_eq!(d.tcp_flags, 0x18, "link type {lt}");
        assert_eq!(d.fragment, Fragment::None);
        assert_eq!(tokens(&d), stack, "link type {lt}");
    }
}

#[test]
fn every_link_type_ipv6() {
    // UDP, 30 payload bytes: IPv6 payload 8 + 30 = 38, ip_len 78.
    let p = Packet::udp(A6, 5353, B6, 53, 30);
    for (lt, stack) in [
        (0u32, vec!["NULL", "IP6"]),
        (1, vec!["ETH", "IP6"]),
        (9, vec!["PPP", "IP6"]),
        (50, vec!["PPP", "IP6"]),
        (12, vec!["IP6"]),
        (14, vec!["IP6"]),
        (101, vec!["IP6"]),
        (108, vec!["NULL", "IP6"]),
        (113, vec!["SLL", "IP6"]),
        (229, vec!["IP6"]),
        (276, vec!["SLL2", "IP6"]),
    ] {
        let d = ok(lt, &p.frame(lt));
        assert_v6_addrs(&d);
        assert_eq!(l4(&d), (5353, 53, 17, 78, 30), "link type {lt}");
        assert_eq!(d.tcp_flags, 0);
        assert_eq!(tokens(&d), stack, "link type {lt}");
    }
}

#[test]
fn null_family_both_byte_orders() {
    let p4 = Packet::udp(A4, 1, B4, 2, 10); // ip_len 20 + 8 + 10 = 38
    let p6 = Packet::udp(A6, 1, B6, 2, 10); // ip_len 40 + 8 + 10 = 58
                                            // NULL (0) writes the family in the capturing host's byte order; LOOP
                                            // (108) always in network byte order.
    for lt in [0u32, 108] {
        let orders: &[fn(u32) -> [u8; 4]] = if lt == 0 {
            &[u32::to_le_bytes, u32::to_be_bytes]
        } else {
            &[u32::to_be_bytes]
        };
        for hdr in orders.iter().map(|o| o(2)) {
            let d = ok(lt, &with_header(&hdr, &p4));
            assert_v4_addrs(&d);
            assert_eq!(l4(&d), (1, 2, 17, 38, 10));
            assert_eq!(tokens(&d), ["NULL", "IP"]);
        }
        // AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
        for fam in [10u32, 24, 28, 30] {
            for hdr in orders.iter().map(|o| o(fam)) {
                let d = ok(lt, &with_header(&hdr, &p6));
                assert_v6_addrs(&d);
                assert_eq!(l4(&d), (1, 2, 17, 58, 10), "family {fam} {hdr:?}");
                assert_eq!(tokens(&d), ["NULL", "IP6"]);
            }
        }
        // Other families (AF_UNSPEC 0, AF_APPLETALK 16, AF_INET6 under a
        // non-IPv6 number) are not IP.
        for fam in [0u32, 16, 7] {
            assert_eq!(
                dec(lt, &with_header(&orders[0](fam), &p4)),
                Err(SkipReason::NotIp)
            );
        }
        assert_eq!(dec(lt, &[2, 0, 0]), Err(SkipReason::Truncated));
    }
    // A little-endian family under LOOP reads as 0x02000000: not IP.
    assert_eq!(
        dec(108, &with_header(&[2, 0, 0, 0], &p4)),
        Err(SkipReason::NotIp)
    );
}

#[test]
fn ppp_variants() {
    let p = Packet::udp(A4, 7, B4, 9, 4); // ip_len 32
                                          // With address/control, without, and with a compressed 1-byte protocol.
    for hdr in [
        &[0xff, 0x03, 0x00, 0x21][..],
        &[0x00, 0x21],
        &[0x21],
        &[0xff, 0x03, 0x21],
    ] {
        for lt in [9u32, 50] {
            let d = ok(lt, &with_header(hdr, &p));
            assert_eq!(l4(&d), (7, 9, 17, 32, 4), "{hdr:02x?}");
            assert_eq!(tokens(&d), ["PPP", "IP"]);
        }
    }
    let p6 = Packet::udp(A6, 7, B6, 9, 4); // ip_len 40 + 12 = 52
    let d = ok(9, &with_header(&[0x57], &p6));
    assert_eq!(l4(&d), (7, 9, 17, 52, 4));
    assert_eq!(tokens(&d), ["PPP", "IP6"]);
    // LCP (0xc021) and IPCP (0x8021) are not IP.
    for proto in [0xc021u16, 0x8021] {
        let mut hdr = vec![0xff, 0x03];
        hdr.extend_from_slice(&proto.to_be_bytes());
        assert_eq!(dec(9, &with_header(&hdr, &p)), Err(SkipReason::NotIp));
    }
    assert_eq!(dec(9, &[0xff, 0x03]), Err(SkipReason::Truncated));
    assert_eq!(dec(50, &[0xff, 0x03, 0x00]), Err(SkipReason::Truncated));
}

#[test]
fn raw_ip_link_types() {
    // ICMP echo, 56 data bytes: ip_len 20 + 8 + 56 = 84.
    let p = Packet::new(A4, B4, L4::Icmp { payload: 56 });
    for lt in [12u32, 14, 101, 228] {
        let d = ok(lt, &p.ip_bytes());
        assert_eq!(l4(&d), (0, 0, 1, 84, 56));
        assert!(d.stack.layers().eq([Layer::Ip]));
        assert_eq!(d.stack.len(), 1);
    }
    // The version nibble picks the family for 12/14/101 only.
    let p6 = Packet::new(A6, B6, L4::Icmp { payload: 56 }); // 40 + 8 + 56 = 104
    assert_eq!(l4(&ok(101, &p6.ip_bytes())), (0, 0, 58, 104, 56));
    assert_eq!(dec(228, &p6.ip_bytes()), Err(SkipReason::BadIpv4Header));
    assert_eq!(dec(229, &p.ip_bytes()), Err(SkipReason::BadIpv6Header));
    let mut bad = p.ip_bytes();
    bad[0] = 0x55;
    assert_eq!(dec(101, &bad), Err(SkipReason::NotIp));
    assert_eq!(dec(101, &[]), Err(SkipReason::Truncated));
    assert_eq!(dec(228, &p.ip_bytes()[..19]), Err(SkipReason::Truncated));
    assert_eq!(dec(229, &p6.ip_bytes()[..39]), Err(SkipReason::Truncated));
}

#[test]
fn linux_cooked_captures() {
    let p = tcp4(0); // ip_len 40, payload 0
    let f = p.frame(113);
    assert_eq!(f.len(), 16 + 40);
    assert_eq!(l4(&ok(113, &f)), (40000, 443, 6, 40, 0));
    assert_eq!(dec(113, &f[..15]), Err(SkipReason::Truncated));
    let f2 = p.frame(276);
    assert_eq!(f2.len(), 20 + 40);
    assert_eq!(l4(&ok(276, &f2)), (40000, 443, 6, 40, 0));
    assert_eq!(dec(276, &f2[..19]), Err(SkipReason::Truncated));
    // SLL carrying ARP.
    let mut arp = f.clone();
    arp[14..16].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(dec(113, &arp), Err(SkipReason::NotIp));
    let mut arp2 = f2.clone();
    arp2[0..2].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(dec(276, &arp2), Err(SkipReason::NotIp));
}

#[test]
fn unsupported_link_types() {
    let f = tcp4(10).frame(1);
    for lt in [129u32, 147, 0xffff_ffff] {
        assert_eq!(dec(lt, &f), Err(SkipReason::UnsupportedLinkType), "{lt}");
        assert_eq!(dec(lt, &[]), Err(SkipReason::UnsupportedLinkType), "{lt}");
    }
    for lt in LinkType::SUPPORTED {
        assert_ne!(lt.name(), "unknown");
    }
}

/// An 802.11 data frame (QoS data when `qos`) from the AP to a station,
/// LLC/SNAP, then the IP packet.
fn wlan_frame(ip: &[u8], qos: bool, protected: bool) -> Vec<u8> {
    let mut f = vec![
        if qos { 0x88 } else { 0x08 },
        0x02 | if protected { 0x40 } else { 0 },
    ];
    f.extend_from_slice(&[0; 22]); // duration, 3 addresses, sequence control
    if qos {
        f.extend_from_slice(&[0, 0]);
    }
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    f.extend_from_slice(ip);
    f
}

#[test]
fn wifi_link_types() {
    let p = tcp4(10);
    let ip = p.ip_bytes();
    for qos in [false, true] {
        let f = wlan_frame(&ip, qos, false);
        let d = dec(105, &f).unwrap();
        assert_eq!(
            (d.sport, d.dport, d.ip_len, d.payload_len),
            (40000, 443, 50, 10)
        );
        assert_eq!(tokens(&d), vec!["WLAN", "IP"]);
        // Radiotap: 8-byte minimal header (version, pad, length 8, present 0).
        let mut r = vec![0, 0, 8, 0, 0, 0, 0, 0];
        r.extend_from_slice(&f);
        assert_eq!(
            tokens(&dec(127, &r).unwrap()),
            vec!["RADIOTAP", "WLAN", "IP"]
        );
        // PPI: version, flags, length 8, DLT 105.
        let mut ppi = vec![0, 0, 8, 0, 105, 0, 0, 0];
        ppi.extend_from_slice(&f);
        assert_eq!(tokens(&dec(192, &ppi).unwrap()), vec!["PPI", "WLAN", "IP"]);
    }
    // Encrypted data, management and null-data frames are not IP.
    assert_eq!(
        dec(105, &wlan_frame(&ip, false, true)),
        Err(SkipReason::NotIp)
    );
    let mut mgmt = wlan_frame(&ip, false, false);
    mgmt[0] = 0x80; // beacon
    assert_eq!(dec(105, &mgmt), Err(SkipReason::NotIp));
    let mut null = wlan_frame(&ip, false, false);
    null[0] = 0x48; // null data
    assert_eq!(dec(105, &null), Err(SkipReason::NotIp));
    assert_eq!(dec(105, &[0x08]), Err(SkipReason::Truncated));
}

// ------------------------------------------------- inside Ethernet: tags etc.

#[test]
fn ethernet_vlan_depths() {
    // TCP, 200 payload bytes: ip_len 240.
    let p = tcp4(200);
    for (vlans, stack) in [
        (&[][..], vec!["ETH", "IP"]),
        (&[10][..], vec!["ETH", "VLAN", "IP"]),
        (&[100, 200][..], vec!["ETH", "VLAN", "VLAN", "IP"]),
        (
            &[1, 2, 3, 4, 5][..],
            vec!["ETH", "VLAN", "VLAN", "VLAN", "VLAN", "VLAN", "IP"],
        ),
    ] {
        let f = p.ethernet(vlans, &[]);
        assert_eq!(f.len(), 14 + 4 * vlans.len() + 240);
        let d = ok(1, &f);
        assert_v4_addrs(&d);
        assert_eq!(l4(&d), (40000, 443, 6, 240, 200));
        assert_eq!(tokens(&d), stack);
        assert_eq!(d.stack.len(), stack.len());
    }
    // The same with IPv6 (ip_len 40 + 20 + 200 = 260).
    let d = ok(1, &tcp6(200).ethernet(&[7, 8], &[]));
    assert_v6_addrs(&d);
    assert_eq!(l4(&d), (40000, 443, 6, 260, 200));
    assert_eq!(hdr_desc(&d), "ETH-VLAN-VLAN-IP6-TCP");
}

#[test]
fn ethernet_vlan_tpids() {
    // Single tag with each TPID: 0x8100, 0x88a8 and the old 0x9100/0x9200.
    let p = Packet::udp(A4, 1000, B4, 2000, 100); // ip_len 128
    for tpid in [0x8100u16, 0x88a8, 0x9100, 0x9200] {
        let mut f = p.ethernet(&[42], &[]);
        f[12..14].copy_from_slice(&tpid.to_be_bytes());
        let d = ok(1, &f);
        assert_eq!(l4(&d), (1000, 2000, 17, 128, 100), "{tpid:#x}");
        assert_eq!(tokens(&d), ["ETH", "VLAN", "IP"]);
    }
    // The synthetic double tag is 0x88a8 outer, 0x8100 inner.
    let f = p.ethernet(&[1, 2], &[]);
    assert_eq!(&f[12..14], &[0x88, 0xa8]);
    assert_eq!(&f[16..18], &[0x81, 0x00]);
    // A tag cut short.
    assert_eq!(dec(1, &f[..17]), Err(SkipReason::Truncated));
    // A tag over ARP.
    let mut arp = p.ethernet(&[5], &[]);
    arp[16..18].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(dec(1, &arp), Err(SkipReason::NotIp));
}

#[test]
fn more_layers_than_the_stack_keeps() {
    // 20 VLAN tags: all are decoded, only MAX_STACK elements are recorded.
    let p = Packet::udp(A4, 1, B4, 2, 3); // ip_len 31
    let tags: Vec<u16> = (1..=20).collect();
    let d = ok(1, &p.ethernet(&tags, &[]));
    assert_eq!(l4(&d), (1, 2, 17, 31, 3));
    assert_eq!(d.stack.len(), MAX_STACK);
    let t = tokens(&d);
    assert_eq!(t[0], "ETH");
    assert!(t[1..].iter().all(|&x| x == "VLAN"));
}

#[test]
fn ethernet_mpls() {
    // One label over IPv4: TCP 50 → ip_len 90.
    let d = ok(1, &tcp4(50).ethernet(&[], &[1000]));
    assert_v4_addrs(&d);
    assert_eq!(l4(&d), (40000, 443, 6, 90, 50));
    assert_eq!(tokens(&d), ["ETH", "MPLS", "IP"]);
    // Three labels over IPv6: TCP 50 → ip_len 110.
    let f = tcp6(50).ethernet(&[], &[16, 17, 18]);
    assert_eq!(f.len(), 14 + 12 + 110);
    let d = ok(1, &f);
    assert_v6_addrs(&d);
    assert_eq!(l4(&d), (40000, 443, 6, 110, 50));
    assert_eq!(tokens(&d), ["ETH", "MPLS", "MPLS", "MPLS", "IP6"]);
    // Three labels over IPv4 and one over IPv6.
    let d = ok(1, &tcp4(50).ethernet(&[], &[1, 2, 3]));
    assert_eq!(l4(&d), (40000, 443, 6, 90, 50));
    assert_eq!(tokens(&d), ["ETH", "MPLS", "MPLS", "MPLS", "IP"]);
    let d = ok(1, &tcp6(50).ethernet(&[], &[99]));
    assert_eq!(l4(&d), (40000, 443, 6, 110, 50));
    assert_eq!(tokens(&d), ["ETH", "MPLS", "IP6"]);
    // VLAN then MPLS.
    let d = ok(1, &tcp4(50).ethernet(&[3], &[4, 5]));
    assert_eq!(hdr_desc(&d), "ETH-VLAN-MPLS-MPLS-IP-TCP");
    // Multicast MPLS ethertype.
    let mut f = tcp4(50).ethernet(&[], &[1000]);
    f[12..14].copy_from_slice(&0x8848u16.to_be_bytes());
    assert_eq!(l4(&ok(1, &f)), (40000, 443, 6, 90, 50));
    // A pseudowire control word (first nibble 0) after the bottom label: not IP.
    let mut pw = tcp4(50).ethernet(&[], &[1000]);
    pw[18] = 0x00;
    assert_eq!(dec(1, &pw), Err(SkipReason::NotIp));
    // The label stack ends with the capture (no bottom-of-stack bit seen).
    let f = tcp4(50).ethernet(&[], &[1, 2, 3]);
    assert_eq!(dec(1, &f[..14 + 8]), Err(SkipReason::Truncated));
    assert_eq!(dec(1, &f[..14 + 12]), Err(SkipReason::Truncated));
}

#[test]
fn ethernet_pppoe_session() {
    // Ethernet 14 + PPPoE 6 + PPP protocol 2, then IP.
    let p = Packet::udp(A4, 1701, B4, 1701, 64); // ip_len 92
    let f = p.pppoe();
    assert_eq!(f.len(), 22 + 92);
    let d = ok(1, &f);
    assert_v4_addrs(&d);
    assert_eq!(l4(&d), (1701, 1701, 17, 92, 64));
    assert_eq!(hdr_desc(&d), "ETH-PPPOE-IP-UDP");
    let p6 = tcp6(10); // ip_len 70
    let d = ok(1, &p6.pppoe());
    assert_v6_addrs(&d);
    assert_eq!(l4(&d), (40000, 443, 6, 70, 10));
    assert_eq!(hdr_desc(&d), "ETH-PPPOE-IP6-TCP");
    // PPPoE carrying LCP, and PPPoE discovery (0x8863): not IP.
    let mut lcp = p.pppoe();
    lcp[20..22].copy_from_slice(&0xc021u16.to_be_bytes());
    assert_eq!(dec(1, &lcp), Err(SkipReason::NotIp));
    let mut disc = p.pppoe();
    disc[12..14].copy_from_slice(&0x8863u16.to_be_bytes());
    assert_eq!(dec(1, &disc), Err(SkipReason::NotIp));
    assert_eq!(dec(1, &f[..19]), Err(SkipReason::Truncated));
    assert_eq!(dec(1, &f[..21]), Err(SkipReason::Truncated));
}

#[test]
fn ethernet_8023_llc_snap() {
    // 802.3: length field, then LLC AA AA 03, OUI 00 00 00, ethertype 0x0800.
    let p = tcp4(30); // ip_len 70
    let ip = p.ip_bytes();
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    f.extend_from_slice(&((8 + ip.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    f.extend_from_slice(&ip);
    let d = ok(1, &f);
    assert_v4_addrs(&d);
    assert_eq!(l4(&d), (40000, 443, 6, 70, 30));
    assert_eq!(tokens(&d), ["ETH", "IP"]);
    // SNAP carrying ARP, and plain LLC (STP: 42 42 03): not IP.
    let mut arp = f.clone();
    arp[20..22].copy_from_slice(&0x0806u16.to_be_bytes());
    assert_eq!(dec(1, &arp), Err(SkipReason::NotIp));
    let mut stp = f.clone();
    stp[14..17].copy_from_slice(&[0x42, 0x42, 0x03]);
    assert_eq!(dec(1, &stp), Err(SkipReason::NotIp));
    assert_eq!(dec(1, &f[..18]), Err(SkipReason::NotIp));
}

#[test]
fn non_ip_ethertypes() {
    let base = tcp4(0).frame(1);
    // ARP, RARP, LLDP, EAPOL, 802.1X, Wake-on-LAN, loopback, IPX.
    for et in [0x0806u16, 0x8035, 0x88cc, 0x888e, 0x0842, 0x9000, 0x8137] {
        let mut f = base.clone();
        f[12..14].copy_from_slice(&et.to_be_bytes());
        assert_eq!(dec(1, &f), Err(SkipReason::NotIp), "{et:#06x}");
    }
    // A real ARP request (60 bytes with padding).
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x08, 0x06]);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp.resize(60, 0);
    assert_eq!(dec(1, &arp), Err(SkipReason::NotIp));
    assert_eq!(dec(1, &base[..13]), Err(SkipReason::Truncated));
    assert_eq!(dec(1, &[]), Err(SkipReason::Truncated));
}

// --------------------------------------------------------- lengths and lies

#[test]
fn ipv4_options() {
    // 4 option bytes: IHL 24, TCP 20 + 10 → ip_len 54.
    let mut p = tcp4(10);
    p.ipv4_options = 4;
    let f = p.frame(1);
    assert_eq!(f[14], 0x46);
    let d = ok(1, &f);
    assert_v4_addrs(&d);
    assert_eq!(l4(&d), (40000, 443, 6, 54, 10));
    // 40 option bytes: IHL 60, UDP 8 + 5 → ip_len 73.
    let mut p = Packet::udp(A4, 53, B4, 53, 5);
    p.ipv4_options = 40;
    let f = p.frame(101);
    assert_eq!(f[0], 0x4f);
    let d = ok(101, &f);
    assert_eq!(l4(&d), (53, 53, 17, 73, 5));
    assert_eq!(tokens(&d), ["IP"]);
    // Cut inside the options: the transport header is not there.
    assert_eq!(decode(101, &f[..40], 73), Err(SkipReason::Truncated));
}

#[test]
fn ethernet_padding_is_never_payload() {
    // UDP with 1 payload byte: IP 20 + 8 + 1 = 29, frame 14 + 29 = 43 → padded to 60.
    let f = Packet::udp(A4, 1234, B4, 53, 1).frame(1);
    assert_eq!(f.len(), 60);
    let d = ok(1, &f);
    assert_eq!(l4(&d), (1234, 53, 17, 29, 1));
    // A bare ACK: 40 bytes of IP in a 60-byte frame.
    let f = Packet::tcp(A4, 1, B4, 2, tcp_flags::ACK, 0).frame(1);
    assert_eq!(f.len(), 60);
    assert_eq!(l4(&ok(1, &f)), (1, 2, 6, 40, 0));
    // The padding is not zero: still not payload.
    let mut f = Packet::new(A4, B4, L4::Icmp { payload: 0 }).frame(1);
    assert_eq!(f.len(), 60);
    for b in &mut f[14 + 28..] {
        *b = 0xee;
    }
    assert_eq!(l4(&ok(1, &f)), (0, 0, 1, 28, 0));
    // IPv6 under a VLAN tag, with a trailer (e.g. an FCS) after the packet.
    let mut f = Packet::udp(A6, 1, B6, 2, 0).ethernet(&[9], &[]);
    assert_eq!(f.len(), 14 + 4 + 48);
    f.extend_from_slice(&[1, 2, 3, 4]);
    assert_eq!(l4(&ok(1, &f)), (1, 2, 17, 48, 0));
}

#[test]
fn snaplen_cut_keeps_header_lengths() {
    // TCP with 1000 payload bytes: ip_len 1040, frame 1054.
    let f = tcp4(1000).frame(1);
    assert_eq!(f.len(), 1054);
    // Cut right after the TCP header (14 + 20 + 20 = 54).
    let d = decode(1, &f[..54], 1054).expect("cut after the TCP header");
    assert_v4_addrs(&d);
    assert_eq!(l4(&d), (40000, 443, 6, 1040, 1000));
    assert_eq!(d.tcp_flags, 0x18);
    // Cut after byte 14 of the TCP header (ports and flags are there).
    let d = decode(1, &f[..14 + 20 + 14], 1054).expect("flags captured");
    assert_eq!(l4(&d), (40000, 443, 6, 1040, 1000));
    // Cut before byte 14 of the TCP header: the flags are missing.
    for cut in [14 + 20, 14 + 20 + 4, 14 + 20 + 13] {
        assert_eq!(decode(1, &f[..cut], 1054), Err(SkipReason::Truncated));
    }
    // Cut inside the IP header.
    assert_eq!(decode(1, &f[..14 + 19], 1054), Err(SkipReason::Truncated));
    // IPv6 cut after the UDP ports: IP 40 + 8 + 1400 = 1448.
    let f = Packet::udp(A6, 500, B6, 4500, 1400).frame(113);
    let d = decode(113, &f[..16 + 40 + 4], f.len() as u32).expect("ports captured");
    assert_eq!(l4(&d), (500, 4500, 17, 1448, 1400));
    assert_eq!(
        decode(113, &f[..16 + 40 + 3], f.len() as u32),
        Err(SkipReason::Truncated)
    );
    // An orig_len smaller than the captured length is ignored.
    let f = tcp4(10).frame(1);
    assert_eq!(
        l4(&decode(1, &f, 0).expect("orig_len 0")),
        (40000, 443, 6, 50, 10)
    );
}

#[test]
fn tso_zero_total_length_uses_wire_length() {
    // A 2000-byte TCP segment before segmentation: IP 20 + 20 + 2000 = 2040.
    let mut p = tcp4(2000);
    p.zero_total_length = true;
    let f = p.frame(1);
    assert_eq!(&f[16..18], &[0, 0]);
    assert_eq!(f.len(), 14 + 2040);
    assert_eq!(l4(&ok(1, &f)), (40000, 443, 6, 2040, 2000));
    // Cut by a snaplen: orig_len minus the 14-byte Ethernet header.
    let d = decode(1, &f[..96], 2054).expect("TSO, snaplen");
    assert_eq!(l4(&d), (40000, 443, 6, 2040, 2000));
    // Other link headers: SLL 16, SLL2 20, raw IP 0, one VLAN tag 18.
    for (lt, link) in [(113u32, 16usize), (276, 20), (101, 0)] {
        let f = p.frame(lt);
        let d = decode(lt, &f[..link + 40], (link + 2040) as u32).expect("TSO");
        assert_eq!(l4(&d), (40000, 443, 6, 2040, 2000), "link type {lt}");
    }
    let f = p.ethernet(&[1], &[]);
    let d = decode(1, &f[..58], 18 + 2040).expect("TSO under VLAN");
    assert_eq!(l4(&d), (40000, 443, 6, 2040, 2000));
}

#[test]
fn ipv4_header_lies() {
    let good = tcp4(10).frame(1); // ip_len 50, frame 64
    let set_total = |f: &mut Vec<u8>, v: u16| f[16..18].copy_from_slice(&v.to_be_bytes());
    // IHL < 5.
    for ihl in [0u8, 1, 4] {
        let mut f = good.clone();
        f[14] = 0x40 | ihl;
        assert_eq!(dec(1, &f), Err(SkipReason::BadIpv4Header), "IHL {ihl}");
    }
    // Version 6 behind EtherType 0x0800.
    let mut f = good.clone();
    f[14] = 0x65;
    assert_eq!(dec(1, &f), Err(SkipReason::BadIpv4Header));
    // Total length < IHL (20; and 22 with a 24-byte header).
    let mut f = good.clone();
    set_total(&mut f, 19);
    assert_eq!(dec(1, &f), Err(SkipReason::BadIpv4Header));
    let mut p = tcp4(10);
    p.ipv4_options = 4;
    let mut f = p.frame(1);
    set_total(&mut f, 22);
    assert_eq!(dec(1, &f), Err(SkipReason::BadIpv4Header));
    // Total length > wire length (51 > 50), also when snaplen-cut.
    let mut f = good.clone();
    set_total(&mut f, 51);
    assert_eq!(dec(1, &f), Err(SkipReason::BadIpv4Header));
    assert_eq!(decode(1, &f[..54], 64), Err(SkipReason::BadIpv4Header));
    // Total length = wire length exactly is fine; less (a trailer) is fine.
    let mut f = good.clone();
    set_total(&mut f, 45);
    assert_eq!(l4(&ok(1, &f)), (40000, 443, 6, 45, 5));
    // IHL 15 with a total length of 60: the header fits, TCP does not.
    let mut f = Packet::udp(A4, 1, B4, 2, 100).frame(1);
    f[14] = 0x4f;
    set_total(&mut f, 60);
    assert_eq!(dec(1, &f), Err(SkipReason::BadTransportHeader));
}

#[test]
fn transport_header_lies() {
    // TCP data offset < 5.
    for off in [0u8, 1, 4] {
        let mut f = tcp4(10).frame(1);
        f[14 + 20 + 12] = off << 4;
        assert_eq!(
            dec(1, &f),
            Err(SkipReason::BadTransportHeader),
            "doff {off}"
        );
    }
    // TCP data offset past the IP payload: 15 × 4 = 60 > 20 + 10.
    let mut f = tcp4(10).frame(1);
    f[14 + 20 + 12] = 0xf0;
    assert_eq!(dec(1, &f), Err(SkipReason::BadTransportHeader));
    // ... but exactly the IP payload is fine: offset 7 (28 bytes) in 30 → payload 2.
    let mut f = tcp4(10).frame(1);
    f[14 + 20 + 12] = 0x70;
    assert_eq!(l4(&ok(1, &f)), (40000, 443, 6, 50, 2));
    // The same over IPv6.
    let mut f = tcp6(10).frame(229);
    f[40 + 12] = 0xf0;
    assert_eq!(dec(229, &f), Err(SkipReason::BadTransportHeader));
    // UDP in an IP payload of fewer than 8 bytes, nothing cut: in a padded
    // Ethernet frame (IP 20 + 4 or 7, the port bytes are there), over raw IP
    // (IP 20 + 2 or 0: the frame ends with the IP packet) and over IPv6.
    for (l4_len, lt, link) in [
        (4usize, 1u32, 14usize),
        (7, 1, 14),
        (2, 101, 0),
        (0, 101, 0),
    ] {
        let mut f = Packet::udp(A4, 1, B4, 2, 0).frame(lt);
        f[link + 2..link + 4].copy_from_slice(&((20 + l4_len) as u16).to_be_bytes());
        if lt == 1 {
            assert_eq!(f.len(), 60);
        } else {
            f.truncate(20 + l4_len);
        }
        assert_eq!(
            dec(lt, &f),
            Err(SkipReason::BadTransportHeader),
            "UDP in an IPv4 payload of {l4_len} (link type {lt})"
        );
    }
    for l4_len in [0u16, 3, 6] {
        let mut f = Packet::udp(A6, 1, B6, 2, 0).frame(229);
        f[4..6].copy_from_slice(&l4_len.to_be_bytes());
        f.truncate(40 + usize::from(l4_len));
        assert_eq!(
            dec(229, &f),
            Err(SkipReason::BadTransportHeader),
            "UDP in an IPv6 payload of {l4_len}"
        );
    }
    // A TCP segment in an IP payload of 10 bytes (raw IP, nothing cut).
    let mut f = tcp4(0).frame(101);
    f[2..4].copy_from_slice(&30u16.to_be_bytes());
    f.truncate(30);
    assert_eq!(dec(101, &f), Err(SkipReason::BadTransportHeader));
    // ICMP and SCTP too short.
    let mut f = Packet::new(A4, B4, L4::Icmp { payload: 0 }).frame(101);
    f[2..4].copy_from_slice(&27u16.to_be_bytes());
    f.truncate(27);
    assert_eq!(dec(101, &f), Err(SkipReason::BadTransportHeader));
    let mut f = Packet::new(
        A4,
        B4,
        L4::Sctp {
            sport: 1,
            dport: 2,
            payload: 0,
        },
    )
    .frame(101);
    f[2..4].copy_from_slice(&31u16.to_be_bytes());
    f.truncate(31);
    assert_eq!(dec(101, &f), Err(SkipReason::BadTransportHeader));
}

#[test]
fn ipv6_header_lies() {
    let good = tcp6(10).frame(1); // ip_len 70, frame 84
                                  // Payload length past the wire length.
    let mut f = good.clone();
    f[18..20].copy_from_slice(&31u16.to_be_bytes());
    assert_eq!(dec(1, &f), Err(SkipReason::BadIpv6Header));
    // Version 4 behind EtherType 0x86dd.
    let mut f = good.clone();
    f[14] = 0x45;
    assert_eq!(dec(1, &f), Err(SkipReason::BadIpv6Header));
    // An extension header longer than the payload: hop-by-hop of (200+1)*8 bytes.
    let mut p = tcp6(10);
    p.ipv6_ext = vec![0];
    let mut f = p.frame(1);
    f[14 + 40 + 1] = 200;
    assert_eq!(dec(1, &f), Err(SkipReason::BadIpv6Header));
    // AH longer than the payload.
    let mut p = tcp6(10);
    p.ipv6_ext = vec![51];
    let mut f = p.frame(229);
    f[40 + 1] = 100;
    assert_eq!(dec(229, &f), Err(SkipReason::BadIpv6Header));
    // An extension header announced where the IPv6 payload ends: the
    // header lies (the frame is complete, nothing was cut).
    for (first, len) in [(0u8, 0u16), (60, 1), (43, 0), (51, 1), (44, 7)] {
        let mut f = Packet::new(A6, B6, L4::Other { proto: 59, len: 0 }).frame(229);
        f[6] = first;
        f[4..6].copy_from_slice(&len.to_be_bytes());
        f.resize(40 + usize::from(len), 0);
        assert_eq!(
            dec(229, &f),
            Err(SkipReason::BadIpv6Header),
            "next header {first}, payload length {len}"
        );
        // The same payload length with the frame cut before it ends is also
        // a lie: the length check comes from the header, not the capture.
        f.resize(40, 0);
        assert_eq!(
            decode(229, &f, 40 + u32::from(len)),
            Err(SkipReason::BadIpv6Header)
        );
    }
    // Cut inside an extension header.
    let mut p = tcp6(10);
    p.ipv6_ext = vec![0, 60];
    let f = p.frame(229);
    assert_eq!(
        decode(229, &f[..41], f.len() as u32),
        Err(SkipReason::Truncated)
    );
    assert_eq!(
        decode(229, &f[..60], f.len() as u32),
        Err(SkipReason::Truncated)
    );
}

// ----------------------------------------------------------------- fragments

#[test]
fn ipv4_fragments() {
    // First fragment: offset 0, MF; UDP 8 + 100 → ip_len 128.
    let mut p = Packet::udp(A4, 5000, B4, 6000, 100);
    p.fragment = Some((0x1234, 0, true));
    let d = ok(1, &p.frame(1));
    assert_v4_addrs(&d);
    assert_eq!(d.fragment, Fragment::First { id: 0x1234 });
    assert_eq!(l4(&d), (5000, 6000, 17, 128, 100));
    // Later fragment: offset 185 (1480 bytes), no transport header; 200 bytes.
    let mut p = Packet::udp(A4, 5000, B4, 6000, 200);
    p.fragment = Some((0x1234, 185, false));
    let f = p.frame(1);
    assert_eq!(&f[20..22], &[0x00, 185]);
    let d = ok(1, &f);
    assert_v4_addrs(&d);
    assert_eq!(d.fragment, Fragment::Later { id: 0x1234 });
    assert_eq!(l4(&d), (0, 0, 17, 220, 200));
    assert_eq!(hdr_desc(&d), "ETH-IP-UDP");
    // A middle fragment (offset > 0 and MF) is a later fragment too; even
    // a payload too short for any transport header is fine.
    let mut p = tcp4(3);
    p.fragment = Some((7, 1, true));
    let d = ok(101, &p.frame(101));
    assert_eq!(d.fragment, Fragment::Later { id: 7 });
    assert_eq!(l4(&d), (0, 0, 6, 23, 3));
    assert_eq!(d.tcp_flags, 0);
    // DF only is not a fragment.
    let d = ok(1, &tcp4(0).frame(1));
    assert_eq!(d.fragment, Fragment::None);
    // First fragment of a TCP segment keeps ports and flags.
    let mut p = Packet::tcp(A4, 1, B4, 2, tcp_flags::SYN, 1000);
    p.fragment = Some((0xffff, 0, true));
    let d = ok(1, &p.frame(1));
    assert_eq!(d.fragment, Fragment::First { id: 0xffff });
    assert_eq!(l4(&d), (1, 2, 6, 1040, 1000));
    assert_eq!(d.tcp_flags, tcp_flags::SYN);
}

#[test]
fn ipv6_fragments() {
    // First: fragment header (8), TCP 20 + 50 → ip_len 40 + 78 = 118.
    let mut p = tcp6(50);
    p.fragment = Some((0xdead_beef, 0, true));
    let d = ok(1, &p.frame(1));
    assert_v6_addrs(&d);
    assert_eq!(d.fragment, Fragment::First { id: 0xdead_beef });
    assert_eq!(l4(&d), (40000, 443, 6, 118, 50));
    assert_eq!(hdr_desc(&d), "ETH-IP6-TCP");
    // Later: fragment header then 300 data bytes → ip_len 348, ports 0.
    let mut p = Packet::udp(A6, 1, B6, 2, 300);
    p.fragment = Some((0xdead_beef, 100, false));
    let d = ok(229, &p.frame(229));
    assert_eq!(d.fragment, Fragment::Later { id: 0xdead_beef });
    assert_eq!(l4(&d), (0, 0, 17, 348, 300));
    // Hop-by-hop (16) before the fragment header (8): UDP 8 + 10 → 40 + 42.
    let mut p = Packet::udp(A6, 1, B6, 2, 10);
    p.ipv6_ext = vec![0];
    p.fragment = Some((1, 0, true));
    let d = ok(229, &p.frame(229));
    assert_eq!(d.fragment, Fragment::First { id: 1 });
    assert_eq!(l4(&d), (1, 2, 17, 82, 10));
    p.fragment = Some((1, 3, true)); // later: 16 + 8 + 10 data bytes
    let d = ok(229, &p.frame(229));
    assert_eq!(d.fragment, Fragment::Later { id: 1 });
    assert_eq!(l4(&d), (0, 0, 17, 74, 10));
    // An atomic fragment (offset 0, no MF) is not a fragment.
    let mut p = tcp6(5);
    p.fragment = Some((9, 0, false));
    let d = ok(229, &p.frame(229));
    assert_eq!(d.fragment, Fragment::None);
    assert_eq!(l4(&d), (40000, 443, 6, 73, 5));
}

// ------------------------------------------------------------ IPv6 ext hdrs

#[test]
fn ipv6_extension_headers() {
    // Synthetic sizes: hop-by-hop/routing/dest-opts 16 bytes each, AH 24.
    for (ext, ext_len) in [
        (vec![0u8], 16u32),
        (vec![43], 16),
        (vec![60], 16),
        (vec![51], 24),
        (vec![0, 43, 60], 48),
        (vec![0, 60, 43, 51, 60], 88),
    ] {
        // TCP 20 + 10.
        let mut p = tcp6(10);
        p.ipv6_ext = ext.clone();
        let d = ok(1, &p.frame(1));
        assert_v6_addrs(&d);
        assert_eq!(l4(&d), (40000, 443, 6, 40 + ext_len + 30, 10), "{ext:?}");
        assert_eq!(hdr_desc(&d), "ETH-IP6-TCP");
        // UDP 8 + 33.
        let mut p = Packet::udp(A6, 53, B6, 3333, 33);
        p.ipv6_ext = ext.clone();
        let d = ok(229, &p.frame(229));
        assert_eq!(l4(&d), (53, 3333, 17, 40 + ext_len + 41, 33), "{ext:?}");
        // ICMPv6 8 + 20.
        let mut p = Packet::new(A6, B6, L4::Icmp { payload: 20 });
        p.ipv6_ext = ext.clone();
        let d = ok(113, &p.frame(113));
        assert_eq!(l4(&d), (0, 0, 58, 40 + ext_len + 28, 20), "{ext:?}");
        assert_eq!(hdr_desc(&d), "SLL-IP6-ICMP6");
    }
    // Mobility (135), HIP (139) and Shim6 (140) headers are skipped too.
    for t in [135u8, 139, 140] {
        let mut p = tcp6(10);
        p.ipv6_ext = vec![t];
        let d = ok(229, &p.frame(229));
        assert_eq!(l4(&d), (40000, 443, 6, 86, 10), "ext {t}");
    }
    // ESP (50) and No Next Header (59) end the chain: the whole rest is payload.
    let mut p = Packet::new(A6, B6, L4::Other { proto: 50, len: 64 });
    p.ipv6_ext = vec![0];
    let d = ok(229, &p.frame(229));
    assert_eq!(l4(&d), (0, 0, 50, 40 + 16 + 64, 64));
    let mut p = Packet::new(A6, B6, L4::Other { proto: 59, len: 0 });
    p.ipv6_ext = vec![60];
    let d = ok(229, &p.frame(229));
    assert_eq!(l4(&d), (0, 0, 59, 56, 0));
    assert_eq!(hdr_desc(&d), "IP6-PROTO59");
}

#[test]
fn ipv6_zero_payload_length_uses_wire_length() {
    // TCP 20 + 100: ip_len 160 from the wire length.
    let mut f = tcp6(100).frame(1);
    f[18..20].copy_from_slice(&[0, 0]);
    assert_eq!(f.len(), 14 + 160);
    assert_eq!(l4(&ok(1, &f)), (40000, 443, 6, 160, 100));
    let d = decode(1, &f[..14 + 60], 174).expect("snaplen cut");
    assert_eq!(l4(&d), (40000, 443, 6, 160, 100));
    // SLL2: orig_len - 20; with a hop-by-hop header in front.
    let mut p = Packet::udp(A6, 9, B6, 10, 1000);
    p.ipv6_ext = vec![0];
    let mut f = p.frame(276);
    f[24..26].copy_from_slice(&[0, 0]);
    let orig = f.len() as u32; // 20 + 40 + 16 + 8 + 1000
    let d = decode(276, &f[..20 + 40 + 16 + 8], orig).expect("SLL2");
    assert_eq!(l4(&d), (9, 10, 17, 1064, 1000));
}

// -------------------------------------------- port-less and other protocols

#[test]
fn icmp_and_icmpv6() {
    for payload in [0usize, 1, 56, 1472] {
        let p = Packet::new(A4, B4, L4::Icmp { payload });
        let d = ok(1, &p.frame(1));
        assert_v4_addrs(&d);
        assert_eq!(l4(&d), (0, 0, 1, (28 + payload) as u32, payload as u32));
        assert_eq!(d.tcp_flags, 0);
        assert_eq!(hdr_desc(&d), "ETH-IP-ICMP");
        let p = Packet::new(A6, B6, L4::Icmp { payload });
        let d = ok(1, &p.frame(1));
        assert_v6_addrs(&d);
        assert_eq!(l4(&d), (0, 0, 58, (48 + payload) as u32, payload as u32));
        assert_eq!(hdr_desc(&d), "ETH-IP6-ICMP6");
    }
    // Timestamp request (type 13, a 20-byte message): still header 8, data 12.
    let mut f = Packet::new(A4, B4, L4::Icmp { payload: 12 }).frame(101);
    f[20] = 13;
    assert_eq!(l4(&ok(101, &f)), (0, 0, 1, 40, 12));
}

#[test]
fn sctp() {
    let p = Packet::new(
        A4,
        B4,
        L4::Sctp {
            sport: 2905,
            dport: 2906,
            payload: 100,
        },
    );
    // 20 + 12 + 100 = 132.
    let d = ok(1, &p.frame(1));
    assert_eq!(l4(&d), (2905, 2906, 132, 132, 100));
    assert_eq!(hdr_desc(&d), "ETH-IP-SCTP");
    let p = Packet::new(
        A6,
        B6,
        L4::Sctp {
            sport: 36412,
            dport: 36412,
            payload: 0,
        },
    );
    let d = ok(229, &p.frame(229));
    assert_eq!(l4(&d), (36412, 36412, 132, 52, 0));
}

#[test]
fn tunnels_and_other_protocols_are_portless() {
    // GRE, ESP, IP-in-IP, 6in4, AH (IPv4), IGMP, OSPF, a private number.
    for (proto, token) in [
        (47u8, "GRE"),
        (50, "ESP"),
        (4, "PROTO4"),
        (41, "PROTO41"),
        (51, "AH"),
        (2, "PROTO2"),
        (89, "PROTO89"),
        (253, "PROTO253"),
    ] {
        for len in [0usize, 1, 64, 1400] {
            let p = Packet::new(A4, B4, L4::Other { proto, len });
            let d = ok(1, &p.frame(1));
            assert_v4_addrs(&d);
            assert_eq!(l4(&d), (0, 0, proto, (20 + len) as u32, len as u32));
            assert_eq!(d.tcp_flags, 0);
            assert_eq!(hdr_desc(&d), format!("ETH-IP-{token}"));
            if proto == 51 {
                // Over IPv6 AH is an extension header (tested with the others).
                continue;
            }
            let p = Packet::new(A6, B6, L4::Other { proto, len });
            let d = ok(229, &p.frame(229));
            assert_eq!(l4(&d), (0, 0, proto, (40 + len) as u32, len as u32));
        }
    }
    // A GRE packet whose bytes look like TCP is still not parsed for ports.
    let mut f = tcp4(10).frame(101);
    f[9] = 47;
    assert_eq!(l4(&ok(101, &f)), (0, 0, 47, 50, 30));
}

#[test]
fn tcp_flags_pass_through() {
    use tcp_flags::*;
    for flags in [
        0u8,
        SYN,
        SYN | ACK,
        ACK,
        PSH | ACK,
        FIN | ACK,
        RST,
        RST | ACK,
        URG | ACK,
        0x40 | SYN, // ECE
        0x80 | ACK, // CWR
        0xff,
    ] {
        let d = ok(1, &Packet::tcp(A4, 1, B4, 2, flags, 0).frame(1));
        assert_eq!(d.tcp_flags, flags, "{flags:#04x}");
        let d = ok(229, &Packet::tcp(A6, 1, B6, 2, flags, 7).frame(229));
        assert_eq!(d.tcp_flags, flags, "{flags:#04x}");
    }
    // Non-TCP: 0 even when the byte at TCP's flag offset is set.
    let mut f = Packet::udp(A4, 1, B4, 2, 20).frame(101);
    f[20 + 13] = 0xff;
    assert_eq!(ok(101, &f).tcp_flags, 0);
}

#[test]
fn tcp_options_are_header() {
    for options in [4usize, 12, 40] {
        let p = Packet::new(
            A4,
            B4,
            L4::Tcp {
                sport: 1,
                dport: 2,
                flags: tcp_flags::SYN,
                options,
                payload: 0,
            },
        );
        let d = ok(1, &p.frame(1));
        assert_eq!(l4(&d), (1, 2, 6, (40 + options) as u32, 0));
    }
}

#[test]
fn transport_tokens() {
    for (proto, token) in [
        (6u8, "TCP"),
        (17, "UDP"),
        (1, "ICMP"),
        (58, "ICMP6"),
        (132, "SCTP"),
        (47, "GRE"),
        (50, "ESP"),
        (51, "AH"),
        (0, "PROTO0"),
        (255, "PROTO255"),
    ] {
        assert_eq!(transport_token(proto), token);
    }
}

/// (l3_off, l4_off, payload_off)
fn offs(d: &Decoded) -> (u32, u32, u32) {
    (d.l3_off, d.l4_off, d.payload_off)
}

#[test]
fn layer_offsets() {
    // Link header sizes of the synthetic frames: Ethernet 14, NULL/LOOP 4,
    // PPP (HDLC framed) 4, raw 0, SLL 16, SLL2 20, 802.11 24 + LLC/SNAP 8,
    // radiotap and PPI 8 more.
    let p = tcp4(100);
    let p6 = Packet::udp(A6, 5353, B6, 53, 30);
    for (lt, link) in [
        (0u32, 4u32),
        (1, 14),
        (9, 4),
        (50, 4),
        (12, 0),
        (14, 0),
        (101, 0),
        (108, 4),
        (113, 16),
        (228, 0),
        (276, 20),
        (105, 32),
        (127, 40),
        (192, 40),
    ] {
        // IPv4 20 + TCP 20.
        let d = ok(lt, &p.frame(lt));
        assert_eq!(offs(&d), (link, link + 20, link + 40), "link type {lt}");
        // IPv6 40 + UDP 8.
        let lt6 = if lt == 228 { 229 } else { lt };
        let d = ok(lt6, &p6.frame(lt6));
        assert_eq!(offs(&d), (link, link + 40, link + 48), "link type {lt6}");
    }
    // VLAN tags (4 bytes each) and MPLS labels (4 each), PPPoE (6 + PPP 2).
    assert_eq!(offs(&ok(1, &p.ethernet(&[5, 6], &[]))), (22, 42, 62));
    assert_eq!(offs(&ok(1, &p.ethernet(&[], &[1, 2, 3]))), (26, 46, 66));
    assert_eq!(offs(&ok(1, &p.pppoe())), (22, 42, 62));
    // IPv4 options, TCP options.
    let mut q = Packet::new(
        A4,
        B4,
        L4::Tcp {
            sport: 1,
            dport: 2,
            flags: 0,
            options: 12,
            payload: 5,
        },
    );
    q.ipv4_options = 8;
    assert_eq!(offs(&ok(101, &q.frame(101))), (0, 28, 60));
    // IPv6 extension headers (16 bytes each here, AH 24).
    let mut q = tcp6(10);
    q.ipv6_ext = vec![0, 60, 43, 51, 60];
    assert_eq!(
        offs(&ok(1, &q.frame(1))),
        (14, 14 + 40 + 88, 14 + 40 + 88 + 20)
    );
    // ICMP: 8-byte header; SCTP: 12; other protocols: none.
    let q = Packet::new(A4, B4, L4::Icmp { payload: 3 });
    assert_eq!(offs(&ok(101, &q.frame(101))), (0, 20, 28));
    let q = Packet::new(
        A6,
        B6,
        L4::Sctp {
            sport: 1,
            dport: 2,
            payload: 3,
        },
    );
    assert_eq!(offs(&ok(229, &q.frame(229))), (0, 40, 52));
    let q = Packet::new(A4, B4, L4::Other { proto: 47, len: 30 });
    assert_eq!(offs(&ok(101, &q.frame(101))), (0, 20, 20));
    // Fragments: the first keeps its transport header, later ones have none.
    let mut q = Packet::udp(A4, 1, B4, 2, 100);
    q.fragment = Some((1, 0, true));
    assert_eq!(offs(&ok(1, &q.frame(1))), (14, 34, 42));
    q.fragment = Some((1, 10, false));
    assert_eq!(offs(&ok(1, &q.frame(1))), (14, 34, 34));
    let mut q = Packet::udp(A6, 1, B6, 2, 100);
    q.ipv6_ext = vec![0];
    q.fragment = Some((1, 0, true));
    assert_eq!(offs(&ok(229, &q.frame(229))), (0, 64, 72));
    q.fragment = Some((1, 10, false));
    assert_eq!(offs(&ok(229, &q.frame(229))), (0, 64, 64));
    // Snaplen-cut frames keep their header offsets (the decoder needs the
    // TCP header up to the flags).
    let f = p.frame(1);
    assert_eq!(
        offs(&decode(1, &f[..48], f.len() as u32).unwrap()),
        (14, 34, 54)
    );
}
