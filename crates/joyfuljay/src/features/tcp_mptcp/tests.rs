use super::*;
use crate::features::tcp_options::build::*;
use crate::features::Value;
use crate::flow::Direction::{Bwd, Fwd};

fn row_of(segs: &[Seg]) -> Vec<Value> {
    row(&TcpMptcp, segs, COLUMNS.len())
}

/// (detected, capable fwd, capable bwd, packets, stat, is_mptcp)
fn want(d: bool, f: bool, b_: bool, n: i64, stat: i64) -> Vec<Value> {
    vec![
        b(d),
        b(f),
        b(b_),
        Value::Int(n),
        Value::Int(stat),
        b(f && b_),
    ]
}

#[test]
fn mptcp_cases() {
    let cap = mptcp(0, 12);
    let join = mptcp(1, 12);
    let dss = mptcp(2, 8);
    let cases: Vec<(Vec<Seg>, Vec<Value>)> = vec![
        // MP_CAPABLE both ways, then DSS.
        (
            vec![
                seg(Fwd, SYN, 1, &[&mss(1460), &cap]),
                seg(Bwd, SYN | ACK, 1, &[&cap]),
                seg(Fwd, ACK, 1, &[&mptcp(0, 20)]),
                seg(Fwd, ACK, 1, &[&dss]),
                seg(Bwd, ACK, 1, &[]),
            ],
            want(true, true, true, 4, 0xf),
        ),
        // A joined subflow.
        (
            vec![
                seg(Fwd, SYN, 1, &[&join]),
                seg(Bwd, SYN | ACK, 1, &[&mptcp(1, 16)]),
            ],
            want(true, true, true, 2, 0xf),
        ),
        // Offered by the client only.
        (
            vec![
                seg(Fwd, SYN, 1, &[&cap]),
                seg(Bwd, SYN | ACK, 1, &[&mss(1460)]),
            ],
            want(true, true, false, 1, 0x3),
        ),
        // DSS on a SYN does not make it capable; MPTCP without SYN.
        (
            vec![seg(Fwd, SYN, 1, &[&dss]), seg(Bwd, ACK, 1, &[&cap])],
            want(true, false, false, 2, 0x1),
        ),
        // No MPTCP; an MPTCP option too short to hold a subtype.
        (
            vec![
                seg(Fwd, SYN, 1, &[&[30, 2, NOP, NOP]]),
                seg(Bwd, SYN | ACK, 1, &[]),
            ],
            want(false, false, false, 0, 0),
        ),
        (vec![], want(false, false, false, 0, 0)),
    ];
    for (i, (segs, w)) in cases.iter().enumerate() {
        assert_eq!(&row_of(segs), w, "case {i}");
    }
}

#[test]
fn state_size() {
    assert_eq!(std::mem::size_of::<MptcpState>(), 8);
}
