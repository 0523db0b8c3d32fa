//! Flow assembly and termination, on hand-built packets whose counts are known.

use crate::util::{float, int, meta, ns, pcap, run, text, T0};
use joyfuljay::synth::{Packet, L4};
use joyfuljay::Config;
use joyfuljay_testkit::capture;

const C: &str = "10.0.0.1";
const S: &str = "10.0.0.2";
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;

fn c2s(flags: u8, payload: usize) -> Packet {
    Packet::tcp(C, 40000, S, 80, flags, payload)
}
fn s2c(flags: u8, payload: usize) -> Packet {
    Packet::tcp(S, 80, C, 40000, flags, payload)
}

/// Frames at 10 ms spacing starting at T0 (or the given times in seconds).
fn frames(pkts: &[Packet]) -> Vec<(i64, Vec<u8>)> {
    pkts.iter()
        .enumerate()
        .map(|(i, p)| (T0 + ns(0.01 * i as f64), p.frame(1)))
        .collect()
}

fn timed(pkts: &[(f64, Packet)]) -> Vec<(i64, Vec<u8>)> {
    pkts.iter()
        .map(|(t, p)| (T0 + ns(*t), p.frame(1)))
        .collect()
}

fn handshake_and_close() -> Vec<Packet> {
    vec![
        c2s(SYN, 0),
        s2c(SYN | ACK, 0),
        c2s(ACK, 0),
        c2s(PSH | ACK, 100),
        s2c(PSH | ACK, 200),
        c2s(FIN | ACK, 0),
        s2c(FIN | ACK, 0),
        c2s(ACK, 0),
    ]
}

#[test]
fn complete_fin_close_reads_0x4f_and_absorbs_the_last_ack() {
    let cap = pcap(1, &frames(&handshake_and_close()));
    let (s, st) = run(&cap.path, meta());
    assert_eq!(s.rows.len(), 1);
    assert_eq!(st.packets, 8);
    assert_eq!(int(&s, 0, "flow_stat"), 0x4f);
    assert_eq!(int(&s, 0, "total_packets"), 8);
    assert_eq!(int(&s, 0, "packets_fwd"), 5);
    assert_eq!(int(&s, 0, "packets_bwd"), 3);
    // 20-byte IP + 20-byte TCP headers on every packet.
    assert_eq!(int(&s, 0, "bytes_fwd"), 5 * 40 + 100);
    assert_eq!(int(&s, 0, "bytes_bwd"), 3 * 40 + 200);
    assert_eq!(int(&s, 0, "payload_bytes_fwd"), 100);
    assert_eq!(int(&s, 0, "payload_bytes_bwd"), 200);
    assert_eq!(int(&s, 0, "payload_bytes_total"), 300);
    assert_eq!(text(&s, 0, "src_ip"), C);
    assert_eq!(int(&s, 0, "dst_port"), 80);
    assert!((float(&s, 0, "duration") - 0.07).abs() < 1e-9);
}

#[test]
fn new_syn_after_close_starts_a_new_flow_but_retransmissions_do_not() {
    let mut p = handshake_and_close();
    p.push(s2c(FIN | ACK, 0)); // retransmitted FIN
    p.push(c2s(RST, 0)); // stray RST
    p.push(c2s(SYN, 0)); // port reuse: a new connection
    p.push(s2c(SYN | ACK, 0));
    let cap = pcap(1, &frames(&p));
    let (s, _) = run(&cap.path, meta());
    assert_eq!(s.rows.len(), 2);
    assert_eq!(int(&s, 0, "total_packets"), 10);
    assert_eq!(int(&s, 0, "flow_stat"), 0x5f); // 0x4f plus the stray RST
    assert_eq!(int(&s, 1, "total_packets"), 2);
    assert_eq!(int(&s, 1, "flow_stat"), 0x03);
}

#[test]
fn refused_connection_reads_0x11() {
    let cap = pcap(1, &frames(&[c2s(SYN, 0), s2c(RST | ACK, 0)]));
    let (s, _) = run(&cap.path, meta());
    assert_eq!(s.rows.len(), 1);
    assert_eq!(int(&s, 0, "flow_stat"), 0x11);
}

#[test]
fn unfinished_handshake_reads_0x03() {
    let cap = pcap(1, &frames(&[c2s(SYN, 0), s2c(SYN | ACK, 0)]));
    let (s, _) = run(&cap.path, meta());
    assert_eq!(int(&s, 0, "flow_stat"), 0x03);
}

#[test]
fn rst_after_handshake_is_a_proper_termination() {
    let cap = pcap(
        1,
        &frames(&[
            c2s(SYN, 0),
            s2c(SYN | ACK, 0),
            c2s(ACK, 0),
            c2s(RST | ACK, 0),
        ]),
    );
    let (s, _) = run(&cap.path, meta());
    assert_eq!(int(&s, 0, "flow_stat"), 0x53);
}

#[test]
fn idle_timeout_splits_and_sets_0x20() {
    let u = || Packet::udp(C, 5000, S, 53, 10);
    let cap = pcap(
        1,
        &timed(&[(0.0, u()), (60.0, u()), (120.000001, u()), (121.0, u())]),
    );
    let (s, _) = run(&cap.path, meta());
    // A gap of exactly 60 s stays in the flow; 60.000001 s does not.
    assert_eq!(s.rows.len(), 2);
    assert_eq!(int(&s, 0, "total_packets"), 2);
    assert_eq!(int(&s, 0, "flow_stat"), 0x20);
    assert_eq!(int(&s, 1, "total_packets"), 2);
    assert_eq!(int(&s, 1, "flow_stat"), 0);

    let cfg = Config {
        flow_timeout: 30.0,
        ..meta()
    };
    let (s, _) = run(&cap.path, cfg);
    assert_eq!(s.rows.len(), 3);
}

#[test]
fn timed_out_tcp_keeps_its_bits() {
    let cap = pcap(1, &timed(&[(0.0, c2s(SYN, 0)), (100.0, c2s(SYN, 0))]));
    let (s, _) = run(&cap.path, meta());
    assert_eq!(s.rows.len(), 2);
    assert_eq!(int(&s, 0, "flow_stat"), 0x21);
    assert_eq!(int(&s, 1, "flow_stat"), 0x01);
}

#[test]
fn active_timeout_splits_long_flows() {
    let u = || Packet::udp(C, 5000, S, 53, 10);
    let pk: Vec<(f64, Packet)> = [0.0, 5.0, 9.0, 11.0, 15.0, 20.0, 22.0]
        .iter()
        .map(|t| (*t, u()))
        .collect();
    let cap = pcap(1, &timed(&pk));
    let cfg = Config {
        active_timeout: Some(10.0),
        ..meta()
    };
    let (s, _) = run(&cap.path, cfg);
    let counts: Vec<i64> = (0..s.rows.len())
        .map(|r| int(&s, r, "total_packets"))
        .collect();
    assert_eq!(counts, vec![3, 3, 1]);
    assert_eq!(int(&s, 0, "flow_stat"), 0x20);
    assert_eq!(int(&s, 1, "flow_stat"), 0x20);
    assert_eq!(int(&s, 2, "flow_stat"), 0);
    // Off by default.
    let (s, _) = run(&cap.path, meta());
    assert_eq!(s.rows.len(), 1);
}

#[test]
fn without_tcp_close_a_connection_stays_one_flow() {
    let mut p = handshake_and_close();
    p.push(c2s(SYN, 0));
    p.push(c2s(PSH | ACK, 5));
    let cap = pcap(1, &frames(&p));
    let cfg = Config {
        terminate_on_fin_rst: false,
        ..meta()
    };
    let (s, _) = run(&cap.path, cfg);
    assert_eq!(s.rows.len(), 1);
    assert_eq!(int(&s, 0, "total_packets"), 10);
    assert_eq!(int(&s, 0, "flow_stat"), 0x4f);
}

#[test]
fn eviction_ends_the_least_recently_active_flow() {
    let a = || Packet::udp("10.0.0.1", 1, "10.0.0.9", 53, 0);
    let b = || Packet::udp("10.0.0.2", 2, "10.0.0.9", 53, 0);
    let c = || Packet::udp("10.0.0.3", 3, "10.0.0.9", 53, 0);
    let cap = pcap(1, &timed(&[(0.0, a()), (0.1, b()), (0.2, a()), (0.3, c())]));
    let cfg = Config {
        max_concurrent_flows: 2,
        ..meta()
    };
    let (s, st) = run(&cap.path, cfg);
    assert_eq!(st.peak_active_flows, 2);
    let srcs: Vec<String> = (0..3).map(|r| text(&s, r, "src_ip")).collect();
    // b is evicted when c arrives; a and c are flushed at the end, in start order.
    assert_eq!(srcs, vec!["10.0.0.2", "10.0.0.1", "10.0.0.3"]);
    assert_eq!(int(&s, 0, "flow_stat"), 0x20);
    assert_eq!(int(&s, 1, "total_packets"), 2);
    assert_eq!(int(&s, 1, "flow_stat"), 0);
}

#[test]
fn initiator_is_the_first_sender_even_mid_connection() {
    let cap = pcap(
        1,
        &frames(&[s2c(SYN | ACK, 0), c2s(ACK, 0), s2c(PSH | ACK, 50)]),
    );
    let (s, _) = run(&cap.path, meta());
    assert_eq!(text(&s, 0, "src_ip"), S);
    assert_eq!(int(&s, 0, "src_port"), 80);
    assert_eq!(int(&s, 0, "dst_port"), 40000);
    assert_eq!(text(&s, 0, "dst_port_class"), "registered");
    assert_eq!(int(&s, 0, "dst_port_class_num"), 1);
    assert_eq!(int(&s, 0, "packets_fwd"), 2);
    // The SYN-ACK came from the initiator, so no 0x02 bit.
    assert_eq!(int(&s, 0, "flow_stat"), 0);
}

#[test]
fn ratios_and_rates_of_a_one_packet_flow() {
    let cap = pcap(1, &frames(&[Packet::udp(C, 5, S, 50000, 12)]));
    let (s, _) = run(&cap.path, meta());
    let bytes = 20 + 8 + 12;
    assert_eq!(int(&s, 0, "total_bytes"), bytes);
    assert_eq!(float(&s, 0, "duration"), 0.0);
    assert_eq!(float(&s, 0, "packets_ratio"), 1.0);
    assert_eq!(float(&s, 0, "bytes_ratio"), bytes as f64);
    assert_eq!(float(&s, 0, "packets_per_second"), 1.0);
    assert_eq!(float(&s, 0, "bytes_per_second"), bytes as f64);
    assert_eq!(float(&s, 0, "avg_packet_size"), bytes as f64);
    assert_eq!(text(&s, 0, "dst_port_class"), "dynamic");
    assert_eq!(int(&s, 0, "dst_port_class_num"), 2);
    assert_eq!(text(&s, 0, "hdr_desc"), "ETH-IP-UDP");
    assert_eq!(int(&s, 0, "num_hdrs"), 3);
}

#[test]
fn ratios_and_rates_of_a_two_way_flow() {
    let cap = pcap(
        1,
        &timed(&[
            (0.0, Packet::udp(C, 5, S, 53, 10)),
            (0.5, Packet::udp(S, 53, C, 5, 30)),
            (2.0, Packet::udp(C, 5, S, 53, 10)),
        ]),
    );
    let (s, _) = run(&cap.path, meta());
    assert_eq!(float(&s, 0, "duration"), 2.0);
    assert_eq!(float(&s, 0, "packets_ratio"), 2.0);
    assert_eq!(float(&s, 0, "bytes_ratio"), 76.0 / 58.0);
    assert_eq!(float(&s, 0, "packets_per_second"), 1.5);
    assert_eq!(float(&s, 0, "bytes_per_second"), 134.0 / 2.0);
    assert_eq!(float(&s, 0, "avg_packet_size"), 134.0 / 3.0);
    assert_eq!(float(&s, 0, "start_time"), float(&s, 0, "time_first"));
    assert_eq!(float(&s, 0, "end_time"), float(&s, 0, "time_last"));
    assert_eq!(float(&s, 0, "start_time"), 1_700_000_000.0);
    assert_eq!(float(&s, 0, "end_time"), 1_700_000_002.0);
}

#[test]
fn later_fragments_join_the_first_fragments_flow() {
    let mut first = Packet::udp(C, 7000, S, 9000, 1472);
    first.fragment = Some((77, 0, true));
    let mut later = Packet::udp(C, 7000, S, 9000, 528);
    later.fragment = Some((77, 185, false));
    // Another datagram whose first fragment we never see: ports unknown (0/0).
    let mut orphan = Packet::udp(C, 7000, S, 9000, 100);
    orphan.fragment = Some((78, 185, false));
    let cap = pcap(1, &frames(&[first, later, orphan]));
    let (s, _) = run(&cap.path, meta());
    assert_eq!(s.rows.len(), 2);
    assert_eq!(int(&s, 0, "total_packets"), 2);
    assert_eq!(int(&s, 0, "total_bytes"), (20 + 8 + 1472) + (20 + 528));
    assert_eq!(int(&s, 0, "payload_bytes_total"), 1472 + 528);
    assert_eq!(int(&s, 1, "dst_port"), 0);
    assert_eq!(int(&s, 1, "protocol"), 17);
}

#[test]
fn idle_flows_are_written_before_later_ones() {
    let x = || Packet::udp("10.0.0.1", 1, "10.0.0.9", 53, 0);
    let y = || Packet::udp("10.0.0.2", 2, "10.0.0.9", 53, 0);
    let cap = pcap(
        1,
        &timed(&[(0.0, x()), (1.0, y()), (100.0, y()), (101.0, y())]),
    );
    let (s, _) = run(&cap.path, meta());
    let srcs: Vec<String> = (0..s.rows.len()).map(|r| text(&s, r, "src_ip")).collect();
    assert_eq!(srcs, vec!["10.0.0.1", "10.0.0.2", "10.0.0.2"]);
    assert_eq!(int(&s, 0, "flow_stat"), 0x20);
}

#[test]
fn icmp_and_other_protocols_use_ports_zero() {
    let icmp = Packet::new(C, S, L4::Icmp { payload: 56 });
    let gre = Packet::new(
        C,
        S,
        L4::Other {
            proto: 47,
            len: 100,
        },
    );
    let cap = pcap(1, &frames(&[icmp, gre]));
    let (s, _) = run(&cap.path, meta());
    assert_eq!(s.rows.len(), 2);
    for r in 0..2 {
        assert_eq!(int(&s, r, "src_port"), 0);
        assert_eq!(int(&s, r, "dst_port"), 0);
    }
    assert_eq!(int(&s, 0, "payload_bytes_total"), 56);
    assert_eq!(text(&s, 0, "hdr_desc"), "ETH-IP-ICMP");
    assert_eq!(int(&s, 1, "payload_bytes_total"), 100);
    assert_eq!(text(&s, 1, "hdr_desc"), "ETH-IP-GRE");
}

#[test]
fn output_is_deterministic() {
    for name in ["Obsolete_Packets.cap", "vlan.cap", "http.cap"] {
        let (a, _) = run(&capture(name), meta());
        let (b, _) = run(&capture(name), meta());
        assert_eq!(a.rows, b.rows, "{name}");
    }
}

#[test]
fn every_decoded_packet_is_in_exactly_one_flow() {
    for name in ["Obsolete_Packets.cap", "vlan.cap", "dns.cap", "imap.cap"] {
        for cfg in [
            meta(),
            Config {
                flow_timeout: 0.5,
                ..meta()
            },
            Config {
                max_concurrent_flows: 3,
                ..meta()
            },
        ] {
            let (s, st) = run(&capture(name), cfg);
            let total: i64 = (0..s.rows.len()).map(|r| int(&s, r, "total_packets")).sum();
            assert_eq!(total as u64, st.decoded, "{name}");
            assert_eq!(st.decoded + st.skipped_total(), st.packets);
            for r in 0..s.rows.len() {
                assert_eq!(
                    int(&s, r, "packets_fwd") + int(&s, r, "packets_bwd"),
                    int(&s, r, "total_packets")
                );
                assert_eq!(
                    int(&s, r, "bytes_fwd") + int(&s, r, "bytes_bwd"),
                    int(&s, r, "total_bytes")
                );
                assert!(int(&s, r, "payload_bytes_total") <= int(&s, r, "total_bytes"));
                assert!(float(&s, r, "duration") >= 0.0);
            }
        }
    }
}
