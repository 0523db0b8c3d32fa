//! The header groups on hand-built packets whose values are known: every
//! column of `ip_extended`, `ipv6_options`, `mac` and `icmp` for flows that
//! reach the corners the captures do not (sets spilling past their inline
//! capacity, identification wrap-around, ties, ICMPv6 kinds, Linux cooked
//! captures).

use crate::util::{pcap, run, unsplit, T0};
use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, LinuxSllPacketType, PacketBuilder,
    VlanId,
};
use joyfuljay::features::Value;
use joyfuljay::output::VecSink;
use joyfuljay::Config;

const A_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
const B_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xb2];
const A4: [u8; 4] = [10, 0, 0, 1];
const B4: [u8; 4] = [10, 0, 0, 2];
const A6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn rows(link: u32, frames: Vec<Vec<u8>>) -> VecSink {
    let frames: Vec<(i64, Vec<u8>)> = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (T0 + i as i64 * 1_000_000, f))
        .collect();
    let cap = pcap(link, &frames);
    let cfg = Config {
        features: ["flow_meta", "ip_extended", "ipv6_options", "mac", "icmp"]
            .map(String::from)
            .to_vec(),
        ..unsplit()
    };
    run(&cap.path, cfg).0
}

/// Write an etherparse builder's packet with `payload`.
macro_rules! build {
    ($b:expr, $payload:expr $(,)?) => {{
        let mut v = Vec::new();
        $b.write(&mut v, $payload).unwrap();
        v
    }};
}

/// Column `c` of the only row (or of the row whose protocol is `proto`).
fn col<'a>(s: &'a VecSink, proto: i64, c: &str) -> &'a Value {
    let r = (0..s.rows.len())
        .find(|&r| s.get(r, "protocol") == Some(&Value::Int(proto)))
        .expect("a flow of that protocol");
    s.get(r, c).unwrap()
}

fn check(s: &VecSink, proto: i64, want: &[(&str, Value)]) {
    for (c, v) in want {
        assert_eq!(col(s, proto, c), v, "{c}");
    }
}

use Value::{Bool, Float, Int, Null};

#[test]
fn icmp_echo_errors_ties_and_spilled_sets() {
    let fwd = || PacketBuilder::ethernet2(A_MAC, B_MAC).ipv4(A4, B4, 64);
    let bwd = || PacketBuilder::ethernet2(B_MAC, A_MAC).ipv4(B4, A4, 64);
    let frames = vec![
        build!(fwd().icmpv4_echo_request(7, 1), b"x"),
        build!(bwd().icmpv4_echo_reply(7, 1), b"x"),
        build!(fwd().icmpv4_echo_request(7, 2), b"x"),
        build!(bwd().icmpv4_echo_reply(7, 2), b"x"),
        build!(fwd().icmpv4_echo_request(7, 4), b"x"), // seq 3 missing: a gap
        build!(fwd().icmpv4_echo_request(9, 100), b"x"), // another identifier: no gap
        build!(bwd().icmpv4_raw(3, 3, [0; 4]), b"quoted"),
        build!(bwd().icmpv4_raw(11, 0, [0; 4]), b"quoted"),
        build!(bwd().icmpv4_raw(5, 1, [10, 0, 0, 9]), b"quoted"),
        build!(fwd().icmpv4_raw(13, 0, [0, 1, 0, 1]), &[0; 12]),
        build!(fwd().icmpv4_raw(3, 1, [0; 4]), b"quoted"),
    ];
    let s = rows(1, frames);
    check(
        &s,
        1,
        &[
            ("icmp_packet_count", Int(11)),
            ("icmp_echo_request_count", Int(4)),
            ("icmp_echo_reply_count", Int(2)),
            ("icmp_dest_unreachable_count", Int(2)),
            ("icmp_time_exceeded_count", Int(1)),
            // (8,0) (0,0) (3,3) (11,0) (5,1) (13,0) (3,1)
            ("icmp_unique_type_codes", Int(7)),
            ("icmp_dominant_type", Int(8)),
            ("icmp_dominant_type_count", Int(4)),
            ("icmp_echo_success_ratio", Float(0.5)),
            ("icmp_unique_ids", Int(2)),
            ("icmp_seq_min", Int(1)),
            ("icmp_seq_max", Int(100)),
            ("icmp_seq_gaps", Int(1)),
            ("icmp_stat", Int(63)),
            ("icmp_ratio", Float(1.0)),
            ("is_icmp_only", Bool(true)),
        ],
    );
    // A tie goes to the type seen first; no echo: nulls.
    let frames = vec![
        build!(bwd().icmpv4_raw(11, 0, [0; 4]), b"q"),
        build!(fwd().icmpv4_raw(3, 3, [0; 4]), b"q"),
    ];
    let s = rows(1, frames);
    check(
        &s,
        1,
        &[
            ("icmp_dominant_type", Int(11)),
            ("icmp_dominant_type_count", Int(1)),
            ("icmp_echo_success_ratio", Null),
            ("icmp_unique_ids", Int(0)),
            ("icmp_seq_min", Null),
            ("icmp_seq_max", Null),
            ("icmp_seq_gaps", Null),
            ("icmp_stat", Int(12)),
        ],
    );
}

#[test]
fn icmpv6_kinds_and_a_udp_flow() {
    let fwd = || PacketBuilder::ethernet2(A_MAC, B_MAC).ipv6(A6, B6, 255);
    let bwd = || PacketBuilder::ethernet2(B_MAC, A_MAC).ipv6(B6, A6, 255);
    let frames = vec![
        build!(fwd().icmpv6_echo_request(1, 65535), b""),
        build!(bwd().icmpv6_echo_reply(1, 65535), b""),
        build!(fwd().icmpv6_echo_request(1, 0), b""), // wraps: no gap
        build!(fwd().icmpv6_raw(135, 0, [0; 4]), &[0; 16]),
        build!(bwd().icmpv6_raw(1, 4, [0; 4]), b"q"),
        build!(bwd().icmpv6_raw(3, 0, [0; 4]), b"q"),
        build!(bwd().icmpv6_raw(137, 0, [0; 4]), &[0; 32]),
        build!(
            PacketBuilder::ethernet2(A_MAC, B_MAC)
                .ipv6(A6, B6, 64)
                .udp(5000, 53),
            b"dns?",
        ),
    ];
    let s = rows(1, frames);
    check(
        &s,
        58,
        &[
            ("icmp_packet_count", Int(7)),
            ("icmp_echo_request_count", Int(2)),
            ("icmp_echo_reply_count", Int(1)),
            ("icmp_dest_unreachable_count", Int(1)),
            ("icmp_time_exceeded_count", Int(1)),
            ("icmp_dominant_type", Int(128)),
            ("icmp_seq_min", Int(0)),
            ("icmp_seq_max", Int(65535)),
            ("icmp_seq_gaps", Int(0)),
            ("icmp_stat", Int(63)),
            ("ip_version", Int(6)),
            ("ip_tos_value", Null),
            ("ip_flags", Null),
            ("ip_id_gaps", Null),
        ],
    );
    check(
        &s,
        17,
        &[
            ("icmp_packet_count", Int(0)),
            ("icmp_unique_type_codes", Int(0)),
            ("icmp_dominant_type", Null),
            ("icmp_dominant_type_count", Null),
            ("icmp_stat", Int(0)),
            ("icmp_ratio", Float(0.0)),
            ("is_icmp_only", Bool(false)),
            ("ip_ttl_bwd_min", Null),
            ("ip_ttl_bwd_mean", Null),
            ("ip_ttl_bwd_changes", Null),
        ],
    );
}

fn v4(id: u16, ttl: u8, tos: u8, df: bool, mf: bool, fwd: bool) -> Vec<u8> {
    let (src, dst, sm, dm) = if fwd {
        (A4, B4, A_MAC, B_MAC)
    } else {
        (B4, A4, B_MAC, A_MAC)
    };
    let mut h = Ipv4Header::new(0, ttl, IpNumber::UDP, src, dst).unwrap();
    h.identification = id;
    h.dscp = etherparse::IpDscp::try_new(tos >> 2).unwrap();
    h.ecn = etherparse::IpEcn::try_new(tos & 3).unwrap();
    h.dont_fragment = df;
    h.more_fragments = mf;
    let (sp, dp) = if fwd { (4000, 53) } else { (53, 4000) };
    build!(
        PacketBuilder::ethernet2(sm, dm)
            .ip(IpHeaders::Ipv4(h, Default::default()))
            .udp(sp, dp),
        b"payload",
    )
}

#[test]
fn ip_extended_ttls_tos_flags_and_identification() {
    let frames = vec![
        v4(10, 60, 0x2e, true, false, true),
        v4(500, 120, 0x00, false, false, false),
        v4(11, 60, 0x2e, true, false, true),
        v4(13, 59, 0xb8, true, false, true),     // 11 → 13: gap
        v4(500, 121, 0x00, false, false, false), // same id: no gap
        v4(65535, 64, 0x2e, false, true, true),  // 13 → 65535: gap; MF
        v4(0, 60, 0x2e, true, false, true),      // wraps by 1: no gap
    ];
    let s = rows(1, frames);
    check(
        &s,
        17,
        &[
            ("ip_ttl_fwd_min", Int(59)),
            ("ip_ttl_fwd_max", Int(64)),
            (
                "ip_ttl_fwd_mean",
                Float((60 + 60 + 59 + 64 + 60) as f64 / 5.0),
            ),
            ("ip_ttl_fwd_changes", Int(2)),
            ("ip_ttl_bwd_min", Int(120)),
            ("ip_ttl_bwd_max", Int(121)),
            ("ip_ttl_bwd_mean", Float(120.5)),
            ("ip_ttl_bwd_changes", Int(1)),
            ("ip_ttl_fwd_initial_est", Int(64)),
            ("ip_ttl_fwd_hops_est", Int(4)),
            ("ip_tos_value", Int(0)),
            ("ip_tos_unique_count", Int(3)),
            ("ip_dscp", Int(0)),
            ("ip_ecn", Int(0)),
            ("ip_flags", Int(3)),
            ("ip_df_count", Int(4)),
            ("ip_df_ratio", Float(4.0 / 7.0)),
            ("ip_version", Int(4)),
            ("ip_id_gaps", Int(2)),
            ("ipv6_packet_count", Int(0)),
            ("ipv4_packet_count", Int(7)),
            ("ipv6_flow_label", Null),
            ("ipv6_flow_label_unique_count", Null),
            ("ipv6_flow_label_changes", Null),
            ("ipv6_traffic_class", Null),
            ("ipv6_traffic_class_unique_count", Null),
            ("ipv6_dscp", Null),
            ("ipv6_ecn", Null),
            ("ipv6_ratio", Float(0.0)),
            ("is_ipv6_only", Bool(false)),
        ],
    );
}

#[test]
fn ipv6_labels_past_the_inline_set() {
    let frame = |label: u32, tc: u8, fwd: bool| {
        let (src, dst) = if fwd { (A6, B6) } else { (B6, A6) };
        let h = Ipv6Header {
            traffic_class: tc,
            flow_label: Ipv6FlowLabel::try_new(label).unwrap(),
            payload_length: 0,
            next_header: IpNumber::UDP,
            hop_limit: 64,
            source: src,
            destination: dst,
        };
        let (sp, dp) = if fwd { (4000, 53) } else { (53, 4000) };
        build!(
            PacketBuilder::ethernet2(A_MAC, B_MAC)
                .ip(IpHeaders::Ipv6(h, Default::default()))
                .udp(sp, dp),
            b"x",
        )
    };
    // Seven distinct labels (four fit inline), two traffic classes.
    let labels = [0xfffff, 9, 9, 77, 3, 500, 3, 12345, 6];
    let frames = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| frame(l, if i == 4 { 0xb9 } else { 0x20 }, i % 3 != 1))
        .collect();
    let s = rows(1, frames);
    check(
        &s,
        17,
        &[
            ("ipv6_packet_count", Int(9)),
            ("ipv4_packet_count", Int(0)),
            ("ipv6_flow_label", Int(3)),
            ("ipv6_flow_label_unique_count", Int(7)),
            ("ipv6_flow_label_changes", Int(6)),
            ("ipv6_traffic_class", Int(0x20)),
            ("ipv6_traffic_class_unique_count", Int(2)),
            ("ipv6_dscp", Int(8)),
            ("ipv6_ecn", Int(0)),
            ("ipv6_ratio", Float(1.0)),
            ("is_ipv6_only", Bool(true)),
            ("ip_version", Int(6)),
        ],
    );
}

#[test]
fn mac_addresses_vlans_broadcast_and_multicast() {
    let frame = |src: [u8; 6], dst: [u8; 6], vlan: Option<u16>, fwd: bool| {
        let (a, b, sp, dp) = if fwd {
            (A4, B4, 4000, 53)
        } else {
            (B4, A4, 53, 4000)
        };
        let e = PacketBuilder::ethernet2(src, dst);
        match vlan {
            Some(v) => build!(
                e.single_vlan(VlanId::try_new(v).unwrap())
                    .ipv4(a, b, 64)
                    .udp(sp, dp),
                b"x",
            ),
            None => build!(e.ipv4(a, b, 64).udp(sp, dp), b"x"),
        }
    };
    let bcast = [0xff; 6];
    let mcast = [0x01, 0x00, 0x5e, 0, 0, 1];
    let c_mac = [0x02, 0, 0, 0, 0, 0xc3];
    let frames = vec![
        frame(A_MAC, bcast, Some(30), true),
        frame(B_MAC, A_MAC, Some(20), false),
        frame(A_MAC, mcast, None, true),
        frame(c_mac, A_MAC, Some(30), false),
        frame(A_MAC, B_MAC, Some(4095), true),
    ];
    let s = rows(1, frames);
    check(
        &s,
        17,
        &[
            ("mac_src", s_("02:00:00:00:00:a1")),
            ("mac_dst", s_("ff:ff:ff:ff:ff:ff")),
            ("mac_eth_type", Int(0x8100)),
            ("mac_vlan_id", Int(20)),
            ("mac_vlan_count", Int(3)),
            ("mac_unique_src_count", Int(3)),
            ("mac_unique_dst_count", Int(4)),
            ("mac_stat", Int(0x1f)),
            ("mac_broadcast_count", Int(1)),
            ("mac_multicast_count", Int(1)),
        ],
    );
    // Linux cooked capture: the source address only; no tags.
    let sll = |fwd: bool| {
        let (a, b, sp, dp) = if fwd {
            (A4, B4, 4000, 53)
        } else {
            (B4, A4, 53, 4000)
        };
        let mac = if fwd { A_MAC } else { B_MAC };
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(&mac);
        build!(
            PacketBuilder::linux_sll(LinuxSllPacketType::OUTGOING, 6, addr)
                .ipv4(a, b, 64)
                .udp(sp, dp),
            b"x",
        )
    };
    let s = rows(113, vec![sll(true), sll(false)]);
    check(
        &s,
        17,
        &[
            ("mac_src", s_("02:00:00:00:00:a1")),
            ("mac_dst", Null),
            ("mac_eth_type", Int(0x0800)),
            ("mac_vlan_id", Null),
            ("mac_vlan_count", Int(0)),
            ("mac_unique_src_count", Int(2)),
            ("mac_unique_dst_count", Int(0)),
            ("mac_stat", Int(0x05)),
            ("mac_broadcast_count", Int(0)),
            ("mac_multicast_count", Int(0)),
        ],
    );
    // Raw IP: no link layer at all.
    let raw = build!(PacketBuilder::ipv4(A4, B4, 64).udp(1, 2), b"x");
    let s = rows(101, vec![raw]);
    check(
        &s,
        17,
        &[
            ("mac_src", Null),
            ("mac_dst", Null),
            ("mac_eth_type", Null),
            ("mac_stat", Int(0)),
        ],
    );
}

fn s_(t: &str) -> Value {
    Value::Str(t.into())
}
