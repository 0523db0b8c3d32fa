use super::*;
use crate::features::tcp_options::build::*;
use crate::features::Value;
use crate::flow::Direction::{Bwd, Fwd};

fn row_of(segs: &[Seg]) -> Vec<Value> {
    row(&TcpFingerprint, segs, COLUMNS.len())
}

fn get<'a>(r: &'a [Value], name: &str) -> &'a Value {
    col(COLUMNS, r, name)
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// A naive initial TTL and OS hint: the reference package's if-chain,
/// written out.
fn naive_hint(ttl: u8, window: u16) -> &'static str {
    let ittl = if ttl <= 64 {
        64
    } else if ttl <= 128 {
        128
    } else {
        255
    };
    if ittl == 64 && (window == 29200 || window == 65535) {
        "linux"
    } else if ittl == 64 && window == 5840 {
        "linux-old"
    } else if ittl == 128 && (window == 65535 || window == 8192) {
        "windows"
    } else if ittl == 128 && window == 65520 {
        "windows-10"
    } else if ittl == 255 {
        "bsd"
    } else {
        "unknown"
    }
}

#[test]
fn os_hint_equals_the_naive_chain() {
    for ttl in 0..=255u8 {
        for w in [0, 5840, 8192, 29200, 64240, 65520, 65535] {
            assert_eq!(
                os_hint(initial_ttl(ttl), w),
                naive_hint(ttl, w),
                "{ttl} {w}"
            );
        }
    }
    assert_eq!(initial_ttl(0), 64);
    assert_eq!(initial_ttl(65), 128);
    assert_eq!(initial_ttl(129), 255);
}

#[test]
fn signatures_by_construction() {
    let mut syn = seg(
        Fwd,
        SYN,
        64240,
        &[&mss(1460), &sok(), &ts(360_000, 0), &[NOP], &ws(7)],
    );
    syn.ttl = 61;
    let mut synack = seg(
        Bwd,
        SYN | ACK,
        8192,
        &[&mss(1380), &[NOP, NOP], &sok(), &[34, 4, 0, 0], &[NOP]],
    );
    synack.ttl = 113;
    synack.v6 = false;
    let r = row_of(&[
        syn.clone(),
        synack.clone(),
        seg(Bwd, ACK, 1, &[&ts(720_000, 1)]),
    ]);
    assert_eq!(
        get(&r, "tcp_fp_fwd"),
        &s("4:64:64240:1460:7:mss,sok,ts,nop,ws")
    );
    // EOL padding (one byte) ends the layout.
    assert_eq!(
        get(&r, "tcp_fp_bwd"),
        &s("4:128:8192:1380:-:mss,nop,nop,sok,?34,nop,eol")
    );
    assert_eq!(get(&r, "tcp_os_hint_fwd"), &s("unknown"));
    assert_eq!(get(&r, "tcp_os_hint_bwd"), &s("windows"));
    assert_eq!(get(&r, "tcp_uptime_fwd"), &Value::Float(1.0));
    assert_eq!(get(&r, "tcp_uptime_bwd"), &Value::Float(2.0));
    assert_eq!(get(&r, "tcp_fp_fwd_window"), &Value::Int(64240));
    assert_eq!(get(&r, "tcp_fp_fwd_ttl"), &Value::Int(61));
    assert_eq!(get(&r, "tcp_fp_fwd_mss"), &Value::Int(1460));
    assert_eq!(get(&r, "tcp_fp_fwd_ws"), &Value::Int(7));
    assert_eq!(get(&r, "tcp_fp_bwd_ws"), &null());
    assert_eq!(get(&r, "tcp_fp_bwd_ttl"), &Value::Int(113));

    // IPv6, no options; the initiator's second SYN is not its first.
    let mut a = seg(Fwd, SYN, 5840, &[]);
    a.v6 = true;
    a.ttl = 200;
    let mut again = seg(Fwd, SYN, 1, &[&mss(1)]);
    again.v6 = true;
    let r = row_of(&[a, again]);
    assert_eq!(get(&r, "tcp_fp_fwd"), &s("6:255:5840:-:-:-"));
    assert_eq!(get(&r, "tcp_os_hint_fwd"), &s("bsd"));
    for n in [
        "tcp_fp_bwd",
        "tcp_os_hint_bwd",
        "tcp_uptime_fwd",
        "tcp_uptime_bwd",
        "tcp_fp_fwd_mss",
        "tcp_fp_bwd_window",
    ] {
        assert_eq!(get(&r, n), &null(), "{n}");
    }
}

#[test]
fn long_layouts_are_cut() {
    // 16 kinds fit (14 NOPs, MSS, one EOL of padding); 17 and 37 do not.
    for (nops, want) in [
        (14, format!("{}mss,eol", "nop,".repeat(14))),
        (16, format!("{}+", "nop,".repeat(16))),
        (36, format!("{}+", "nop,".repeat(16))),
    ] {
        let mut opts = vec![NOP; nops];
        opts.extend(mss(1460));
        let r = row_of(&[seg(Fwd, SYN, 1, &[&opts])]);
        assert_eq!(
            get(&r, "tcp_fp_fwd"),
            &s(&format!("4:64:1:1460:-:{want}")),
            "{nops}"
        );
    }
}

#[test]
fn no_opening_syn_is_null() {
    // A SYN-ACK from the initiator (the capture missed the SYN), a SYN
    // without ACK from the responder: neither is an opening SYN here.
    let r = row_of(&[
        seg(Fwd, SYN | ACK, 1, &[&mss(1)]),
        seg(Bwd, SYN, 1, &[&ts(3600 * 100, 0)]),
    ]);
    for c in COLUMNS {
        let v = get(&r, c.name);
        if c.name == "tcp_uptime_bwd" {
            assert_eq!(v, &Value::Float(1.0));
        } else {
            assert_eq!(v, &null(), "{}", c.name);
        }
    }
}

#[test]
fn state_size() {
    assert_eq!(std::mem::size_of::<FingerprintState>(), 72);
}
