use super::*;
use crate::features::tcp_options::build::*;
use crate::features::testutil::{close, SplitMix};
use crate::features::Value;
use crate::flow::Direction::{self, Bwd, Fwd};

fn row_of(segs: &[Seg]) -> Vec<Value> {
    row(&TcpWindow, segs, COLUMNS.len())
}

fn get<'a>(r: &'a [Value], name: &str) -> &'a Value {
    col(COLUMNS, r, name)
}

/// Both SYNs carry window scale: later windows are scaled by the sender's
/// own shift, SYN windows never (values by construction; Wireshark agrees
/// on the same packets, tcp-options-edges.pcap case 1).
#[test]
fn both_syns_with_window_scale() {
    let segs = [
        seg(Fwd, SYN, 64240, &[&mss(1460), &[NOP], &ws(7)]),
        seg(Bwd, SYN | ACK, 65160, &[&mss(1400), &[NOP], &ws(8)]),
        seg(Fwd, ACK, 502, &[]),
        seg(Fwd, ACK, 502, &[]),
        seg(Bwd, ACK, 255, &[]),
        seg(Bwd, ACK, 0, &[]),
        seg(Fwd, ACK, 510, &[]),
        seg(Fwd, ACK, 400, &[]),
        seg(Bwd, ACK, 300, &[]),
    ];
    let r = row_of(&segs);
    let want: &[(&str, Value)] = &[
        ("tcp_init_win_fwd", Value::Int(64240)),
        ("tcp_init_win_bwd", Value::Int(65160)),
        ("tcp_win_scale_fwd", Value::Int(7)),
        ("tcp_win_scale_bwd", Value::Int(8)),
        ("tcp_win_fwd_min", Value::Int(400)),
        ("tcp_win_fwd_max", Value::Int(64240)),
        (
            "tcp_win_fwd_mean",
            Value::Float((64240 + 502 + 502 + 510 + 400) as f64 / 5.0),
        ),
        ("tcp_win_fwd_zero_count", Value::Int(0)),
        ("tcp_win_bwd_min", Value::Int(0)),
        ("tcp_win_bwd_max", Value::Int(65160)),
        ("tcp_win_bwd_zero_count", Value::Int(1)),
        ("tcp_win_fwd_up_count", Value::Int(1)),
        ("tcp_win_fwd_down_count", Value::Int(2)),
        ("tcp_win_fwd_change_count", Value::Int(3)),
        ("tcp_win_bwd_up_count", Value::Int(1)),
        ("tcp_win_bwd_down_count", Value::Int(2)),
        ("tcp_win_bwd_change_count", Value::Int(3)),
        // max(64240 unscaled SYN, 510 << 7 = 65280)
        ("tcp_scaled_win_fwd_max", Value::Int(65280)),
        // max(65160 unscaled SYN-ACK, 300 << 8 = 76800)
        ("tcp_scaled_win_bwd_max", Value::Int(76800)),
        ("tcp_zero_win_ratio", Value::Float(1.0 / 9.0)),
    ];
    for (n, v) in want {
        assert_eq!(get(&r, n), v, "{n}");
    }
}

/// The scale of each direction at the end, and the largest scaled window,
/// for handshakes where scaling is off, unknown or capped.
#[test]
fn window_scale_rule() {
    let syn = |d: Direction, f: u8, w: Option<u8>| {
        let o = w.map(ws).unwrap_or_default();
        seg(d, f, 1000, &[&o])
    };
    let data = |d: Direction| seg(d, ACK, 100, &[]);
    // (packets, scale fwd, scale bwd, scaled max fwd, scaled max bwd)
    type Case = (Vec<Seg>, Option<i64>, Option<i64>, i64, i64);
    let cases: Vec<Case> = vec![
        // Only the SYN offers scaling: off both ways.
        (
            vec![
                syn(Fwd, SYN, Some(7)),
                syn(Bwd, SYN | ACK, None),
                data(Fwd),
                data(Bwd),
            ],
            Some(0),
            Some(0),
            1000,
            1000,
        ),
        // Only the SYN-ACK: off both ways.
        (
            vec![
                syn(Fwd, SYN, None),
                syn(Bwd, SYN | ACK, Some(2)),
                data(Fwd),
                data(Bwd),
            ],
            Some(0),
            Some(0),
            1000,
            1000,
        ),
        // No handshake: unknown, windows raw.
        (vec![data(Fwd), data(Bwd)], None, None, 100, 100),
        // The capture starts at the SYN-ACK (its sender is the initiator):
        // its own shift applies to its later windows, the other side's is
        // unknown.
        (
            vec![
                syn(Fwd, SYN | ACK, Some(6)),
                data(Bwd),
                seg(Fwd, ACK, 1024, &[]),
            ],
            Some(6),
            None,
            65536,
            100,
        ),
        // Shifts above 14 count as 14.
        (
            vec![
                syn(Fwd, SYN, Some(15)),
                syn(Bwd, SYN | ACK, Some(20)),
                data(Fwd),
                data(Bwd),
            ],
            Some(14),
            Some(14),
            100 << 14,
            100 << 14,
        ),
        // A SYN without reply: its scale stays as offered.
        (
            vec![syn(Fwd, SYN, Some(5)), syn(Fwd, SYN, Some(5))],
            Some(5),
            None,
            1000,
            0,
        ),
        // Window scale outside a SYN sets the sender's shift from the next
        // packet on (Wireshark does the same).
        (
            vec![seg(Fwd, ACK, 100, &[&[NOP], &ws(4)]), data(Fwd)],
            Some(4),
            None,
            1600,
            0,
        ),
    ];
    for (i, (segs, sf, sb, mf, mb)) in cases.iter().enumerate() {
        let r = row_of(segs);
        assert_eq!(get(&r, "tcp_win_scale_fwd"), &oi(*sf), "case {i}");
        assert_eq!(get(&r, "tcp_win_scale_bwd"), &oi(*sb), "case {i}");
        assert_eq!(
            get(&r, "tcp_scaled_win_fwd_max"),
            &oi(Some(*mf)),
            "case {i}"
        );
        let has_bwd = segs.iter().any(|s| s.dir == Bwd);
        assert_eq!(
            get(&r, "tcp_scaled_win_bwd_max"),
            &oi(has_bwd.then_some(*mb)),
            "case {i}"
        );
    }
}

/// Random packets without window scale, against a two-pass reference over
/// the lists of raw windows.
#[test]
fn random_windows_against_lists() {
    let mut rng = SplitMix(7);
    for _ in 0..300 {
        let n = rng.below(12);
        let segs: Vec<Seg> = (0..n)
            .map(|_| {
                let d = if rng.below(2) == 0 { Fwd } else { Bwd };
                let w = [0u16, 1, 100, 65535][rng.below(4)];
                seg(d, ACK, w, &[])
            })
            .collect();
        let r = row_of(&segs);
        let mut zeros = 0;
        for (d, name) in [(Fwd, "fwd"), (Bwd, "bwd")] {
            let w: Vec<i64> = segs
                .iter()
                .filter(|s| s.dir == d)
                .map(|s| i64::from(s.window))
                .collect();
            let first = w.first().copied();
            assert_eq!(get(&r, &format!("tcp_init_win_{name}")), &oi(first));
            assert_eq!(
                get(&r, &format!("tcp_win_{name}_min")),
                &oi(w.iter().min().copied())
            );
            assert_eq!(
                get(&r, &format!("tcp_win_{name}_max")),
                &oi(w.iter().max().copied())
            );
            assert_eq!(
                get(&r, &format!("tcp_scaled_win_{name}_max")),
                &oi(w.iter().max().copied())
            );
            match get(&r, &format!("tcp_win_{name}_mean")) {
                Value::Float(m) => {
                    assert!(close(
                        *m,
                        w.iter().sum::<i64>() as f64 / w.len() as f64,
                        1e-12
                    ))
                }
                v => assert!(w.is_empty() && *v == null(), "{v:?}"),
            }
            let z = w.iter().filter(|&&x| x == 0).count() as i64;
            zeros += z;
            let up = w.windows(2).filter(|p| p[1] > p[0]).count() as i64;
            let down = w.windows(2).filter(|p| p[1] < p[0]).count() as i64;
            assert_eq!(
                get(&r, &format!("tcp_win_{name}_zero_count")),
                &Value::Int(z)
            );
            assert_eq!(
                get(&r, &format!("tcp_win_{name}_up_count")),
                &Value::Int(up)
            );
            assert_eq!(
                get(&r, &format!("tcp_win_{name}_down_count")),
                &Value::Int(down)
            );
            assert_eq!(
                get(&r, &format!("tcp_win_{name}_change_count")),
                &Value::Int(up + down)
            );
            // Without a SYN the scale stays unknown.
            assert_eq!(get(&r, &format!("tcp_win_scale_{name}")), &null());
        }
        let want = (n > 0).then(|| Value::Float(zeros as f64 / n as f64));
        assert_eq!(get(&r, "tcp_zero_win_ratio"), &want.unwrap_or_else(null));
    }
}

#[test]
fn state_size() {
    assert_eq!(std::mem::size_of::<WindowState>(), 80);
}
