use super::build::*;
use super::*;
use crate::features::Value;
use crate::flow::Direction::{Bwd, Fwd};
use crate::packet::TcpDetails;

/// `walk` over a complete options area `raw`: what it reports and the
/// kinds it lists.
fn walk_raw(raw: &[u8]) -> (OptionsSeen, Vec<u8>) {
    let t = TcpDetails {
        seq: 0,
        ack: 0,
        header_len: 20 + raw.len() as u8,
        flags: 0,
        ae: false,
        reserved: 0,
        window: 0,
        checksum: 0,
        urgent_ptr: 0,
        options: raw,
        options_cut: false,
    };
    let mut kinds = Vec::new();
    let o = walk(&t, |k| kinds.push(k));
    (o, kinds)
}

#[test]
fn walk_reads_a_linux_syn() {
    let raw = [mss(1460), sok(), ts(7, 0), vec![NOP], ws(7)].concat();
    let (o, kinds) = walk_raw(&raw);
    assert_eq!(kinds, [2, 4, 8, 1, 3]);
    assert_eq!(
        o,
        OptionsSeen {
            mss: Some(1460),
            ws: Some(7),
            sack_permitted: true,
            sack_blocks: 0,
            ts: Some((7, 0)),
            mptcp: 0,
        }
    );
}

/// What Wireshark 4.0 showed for the same option bytes in
/// tcp-options-edges.pcap (frames 28, 29, 31, 32, 33, 62–65).
#[test]
fn walk_follows_wireshark_on_bad_lengths() {
    // MSS of length 5: stepped over, the window scale after it read.
    let (o, k) = walk_raw(&[2, 5, 5, 0xb4, 0, 1, 3, 3, 3, 1, 1, 0]);
    assert_eq!((o.mss, o.ws), (None, Some(3)));
    assert_eq!(k, [2, 1, 3, 1, 1, 0]);
    // SACK permitted of length 0 ends the list; it is not listed.
    let (o, k) = walk_raw(&[2, 4, 2, 0x18, 4, 0, 3, 3, 4, 1, 0, 0]);
    assert_eq!((o.mss, o.ws, o.sack_permitted), (Some(536), None, false));
    assert_eq!(k, [2]);
    // Window scale whose length runs past the area.
    let (o, k) = walk_raw(&[2, 4, 4, 0xb0, 3, 9, 1, 1]);
    assert_eq!((o.mss, o.ws), (Some(1200), None));
    assert_eq!(k, [2]);
    // Timestamps of length 8: stepped over, the MSS after it read.
    let (o, k) = walk_raw(&[8, 8, 0, 0, 0, 0, 0, 0, 2, 4, 5, 0x14]);
    assert_eq!((o.ts, o.mss), (None, Some(1300)));
    assert_eq!(k, [8, 2]);
    // SACK of length 11: one block.
    let (o, k) = walk_raw(&[&[5, 11][..], &[0; 9], &[1]].concat());
    assert_eq!(o.sack_blocks, 1);
    assert_eq!(k, [5, 1]);
    // Two MSS options: the first wins; window scale outside a SYN counts.
    let (o, _) = walk_raw(&[[1].as_slice(), &ws(4), &mss(1000), &mss(1100)].concat());
    assert_eq!((o.mss, o.ws), (Some(1000), Some(4)));
    // SACK permitted of length 3 counts.
    let (o, k) = walk_raw(&[4, 3, 0, 1, 8, 10, 0, 0, 0, 50, 0, 0, 0, 60, 0, 0]);
    assert!(o.sack_permitted);
    assert_eq!(o.ts, Some((50, 60)));
    assert_eq!(k, [4, 1, 8, 0]);
    // EOL ends the list, whatever follows.
    let (o, k) = walk_raw(&[1, 0, 2, 4, 4, 0xb0, 1, 1]);
    assert_eq!(o, OptionsSeen::default());
    assert_eq!(k, [1, 0]);
    // Four SACK blocks.
    let (o, _) = walk_raw(&[sack(&[(1, 2), (3, 4), (5, 6), (7, 8)]), vec![0, 0]].concat());
    assert_eq!(o.sack_blocks, 4);
    // MPTCP: subtypes as bits; too short to hold a subtype: ignored.
    let (o, k) = walk_raw(&[mptcp(0, 12), mptcp(2, 8), vec![30, 2, 1, 1]].concat());
    assert_eq!(o.mptcp, 0b101);
    assert_eq!(k, [30, 30, 30, 1, 1]);
}

#[test]
fn walk_stops_where_the_capture_ends() {
    // A 12-byte area of which 6 bytes were captured.
    let raw = [mss(1460), ws(7), vec![NOP]].concat();
    let t = TcpDetails {
        seq: 0,
        ack: 0,
        header_len: 32,
        flags: 0,
        ae: false,
        reserved: 0,
        window: 0,
        checksum: 0,
        urgent_ptr: 0,
        options: &raw[..6],
        options_cut: true,
    };
    let mut kinds = Vec::new();
    let o = walk(&t, |k| kinds.push(k));
    assert_eq!((o.mss, o.ws), (Some(1460), None));
    assert_eq!(kinds, [2]);
}

fn row_of(segs: &[Seg]) -> Vec<Value> {
    row(&TcpOptionsGroup, segs, COLUMNS.len())
}

#[test]
fn a_handshake_with_timestamps_and_sack() {
    let segs = [
        seg(
            Fwd,
            SYN,
            64240,
            &[&mss(1460), &sok(), &ts(100, 0), &[NOP], &ws(7)],
        ),
        seg(
            Bwd,
            SYN | ACK,
            65160,
            &[&mss(1400), &sok(), &ts(5000, 100), &[NOP], &ws(8)],
        ),
        seg(Fwd, ACK, 502, &[&[NOP, NOP], &ts(101, 5000)]),
        seg(
            Bwd,
            ACK,
            500,
            &[
                &[NOP, NOP],
                &ts(5001, 101),
                &[NOP, NOP],
                &sack(&[(1, 2), (3, 4)]),
            ],
        ),
        seg(Fwd, ACK, 502, &[&[NOP, NOP], &ts(99, 5001)]),
        seg(Fwd, ACK, 502, &[]),
    ];
    let r = row_of(&segs);
    let want = [
        Value::Int(1460),
        Value::Int(1400),
        Value::Int(7),
        Value::Int(8),
        b(true),
        b(true),
        Value::Int(2),
        b(true),
        Value::Int(100),
        Value::Int(99),
        Value::Int((99u32.wrapping_sub(100)).into()),
        Value::Int(0),
        b(true),
        Value::Int(5000),
        Value::Int(5001),
        Value::Int(1),
        Value::Int(100),
        Value::Int(0xf),
        Value::Int(5),
    ];
    assert_eq!(r, want);
}

#[test]
fn nothing_seen_is_null() {
    for segs in [
        vec![],
        vec![seg(Fwd, ACK, 1, &[]), seg(Bwd, ACK, 1, &[])],
        vec![seg(Fwd, SYN, 1, &[&[NOP, NOP, NOP, 0]])],
    ] {
        let r = row_of(&segs);
        for (c, v) in COLUMNS.iter().zip(&r) {
            let want = match c.name {
                "tcp_sack_permitted_fwd"
                | "tcp_sack_permitted_bwd"
                | "tcp_ts_fwd_present"
                | "tcp_ts_bwd_present" => b(false),
                "tcp_sack_blocks_total" | "tcp_options_bitmap" => Value::Int(0),
                "tcp_options_pkt_count" => {
                    Value::Int(segs.iter().filter(|s| !s.opts.is_empty()).count() as i64)
                }
                _ => null(),
            };
            assert_eq!(*v, want, "{}", c.name);
        }
    }
}

#[test]
fn udp_packets_are_ignored() {
    let g = TcpOptionsGroup;
    let st = g.new_state();
    let mut st2 = st;
    // A UDP datagram whose payload looks like TCP options.
    let mut f = vec![
        0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    f.extend([0, 53, 0, 53, 0, 20, 0, 0]);
    f.extend([2, 4, 5, 0xb4, 1, 1, 1, 1, 1, 1, 1, 1]);
    let d = crate::decode::decode(101, &f, f.len() as u32).unwrap();
    g.update(&mut st2, &PacketView::new(0, Fwd, &d, &f));
    assert_eq!(st, st2);
}

#[test]
fn state_size() {
    assert_eq!(std::mem::size_of::<OptionsState>(), 48);
}
