use super::*;
use crate::features::testutil::{
    assert_row_ctx, compare_on_captures, get, obs, pstd, row_of, PacketObs, SplitMix,
};
use crate::features::Value;
use crate::flow::Direction::{Bwd, Fwd};
use std::collections::BTreeMap;

/// The whole row, written the textbook way from full lists: lengths,
/// IATs (seconds) and bursts as vectors, the mode by a counting map.
fn naive(pkts: &[PacketObs], cfg: &Config) -> Vec<Value> {
    let n = pkts.len() as f64;
    let lens: Vec<f64> = pkts.iter().map(|p| f64::from(p.ip_len)).collect();
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for p in pkts {
        *counts.entry(p.ip_len).or_default() += 1;
    }
    let top = *counts.values().max().unwrap();
    let mode = *counts.iter().find(|e| *e.1 == top).unwrap().0;
    let ratio = top as f64 / n;
    let mean = lens.iter().sum::<f64>() / n;
    let var = lens.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n;
    let cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
    let entropy = if counts.len() > 1 {
        counts
            .values()
            .map(|&c| c as f64 / n)
            .map(|p| -p * p.log2())
            .sum::<f64>()
            / (counts.len() as f64).log2()
    } else {
        0.0
    };
    let iats_us: Vec<i64> = pkts.windows(2).map(|w| w[1].ts_us - w[0].ts_us).collect();
    let iats: Vec<f64> = iats_us.iter().map(|&i| i as f64 / 1e6).collect();
    let iat_var = if iats.is_empty() {
        0.0
    } else {
        pstd(&iats).powi(2)
    };
    let iat_mean = if iats.is_empty() {
        0.0
    } else {
        iats.iter().sum::<f64>() / iats.len() as f64
    };
    let iat_cv = if iat_mean > 0.0 {
        pstd(&iats) / iat_mean
    } else {
        0.0
    };
    let judged = iats.len() >= 2;
    let constant_rate = judged && iat_cv <= 0.1;
    let rate_score = judged.then(|| 1.0 / (1.0 + iat_cv));
    let regularity = (iats_us.len() >= 2).then(|| {
        let pairs: Vec<bool> = iats_us
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0].abs() as f64, w[1].abs() as f64);
                (a - b).abs() <= 0.1 * a.max(b)
            })
            .collect();
        pairs.iter().filter(|&&r| r).count() as f64 / pairs.len() as f64
    });
    // Bursts as lists of packets.
    let mut bursts: Vec<Vec<&PacketObs>> = vec![vec![&pkts[0]]];
    for w in pkts.windows(2) {
        if (w[1].ts_us - w[0].ts_us) as f64 >= cfg.burst_threshold_ms * 1000.0 {
            bursts.push(Vec::new());
        }
        bursts.last_mut().unwrap().push(&w[1]);
    }
    let sizes: Vec<f64> = bursts.iter().map(|b| b.len() as f64).collect();
    let uniformity = (bursts.len() >= 2).then(|| {
        let m = sizes.iter().sum::<f64>() / sizes.len() as f64;
        1.0 / (1.0 + pstd(&sizes) / m)
    });
    let effs: Vec<f64> = bursts
        .iter()
        .filter_map(|b| {
            let total: u64 = b.iter().map(|p| u64::from(p.ip_len)).sum();
            let pay: u64 = b.iter().map(|p| u64::from(p.payload_len)).sum();
            (total > 0).then(|| pay as f64 / total as f64)
        })
        .collect();
    let efficiency = effs.iter().sum::<f64>() / bursts.len() as f64;
    let total: u64 = pkts.iter().map(|p| u64::from(p.ip_len)).sum();
    let payload: u64 = pkts.iter().map(|p| u64::from(p.payload_len)).sum();
    let overhead = total - payload;
    let tor = pkts
        .iter()
        .filter(|p| (580..=600).contains(&p.ip_len))
        .count();
    let tor_ratio = tor as f64 / n;
    let tor_like = tor_ratio >= 0.7 && cv < 0.1;
    let constant_size = ratio >= 0.95;
    let mut score = 0.0;
    if constant_size {
        score += 0.3;
    }
    if ratio > 0.8 {
        score += 0.2;
    }
    if constant_rate {
        score += 0.2;
    }
    if tor_like {
        score += 0.3;
    }
    let score = f64::min(score, 1.0);
    let padded = pkts.len() >= 8 && score >= 0.5;
    let pattern = padded.then(|| {
        if tor_like {
            "tor_cell"
        } else if (1400..=1500).contains(&mode) && ratio > 0.5 {
            "mtu"
        } else if constant_rate {
            "constant_rate"
        } else {
            "fixed_size"
        }
    });
    let opt = |v: Option<f64>| v.map_or(Value::Null, Value::Float);
    vec![
        Value::Float(ratio),
        Value::Int(top as i64),
        Value::Int(i64::from(mode)),
        Value::Float(if mean > 0.0 { var / (mean * mean) } else { 0.0 }),
        opt(rate_score),
        opt(regularity),
        opt(uniformity),
        Value::Bool(padded),
        pattern.map_or(Value::Null, |p| Value::Str(p.into())),
        opt(rate_score.map(|r| r * ratio)),
        Value::Float(var),
        Value::Float(cv),
        Value::Bool(constant_size),
        Value::Int(i64::from(mode)),
        Value::Float(ratio),
        Value::Int(counts.len() as i64),
        Value::Float(entropy),
        Value::Float(iat_var),
        Value::Bool(constant_rate),
        Value::Int(tor as i64),
        Value::Float(tor_ratio),
        Value::Bool(tor_like),
        Value::Float(if total > 0 {
            overhead as f64 / total as f64
        } else {
            0.0
        }),
        Value::Int(overhead as i64),
        Value::Float(efficiency),
        Value::Float(score),
    ]
}

fn cfg() -> Config {
    Config::default()
}

/// `n` packets of IP length `len` (payload `len - 52`), `gap_us` apart,
/// alternating directions.
fn steady(n: usize, len: u32, gap_us: i64) -> Vec<PacketObs> {
    (0..n)
        .map(|i| {
            let dir = if i % 2 == 0 { Fwd } else { Bwd };
            obs(i as i64 * gap_us, dir, len, len.saturating_sub(52))
        })
        .collect()
}

#[test]
fn tor_cells_at_a_constant_rate_are_padded() {
    let pkts = steady(12, 586, 10_000);
    let row = row_of(&DEF, &cfg(), &pkts);
    assert_row_ctx(&DEF, &row, &naive(&pkts, &cfg()), &[], "tor");
    assert_eq!(get(&DEF, &row, "fixed_size_value"), &Value::Int(586));
    assert_eq!(get(&DEF, &row, "fixed_size_ratio"), &Value::Float(1.0));
    assert_eq!(get(&DEF, &row, "is_tor_like"), &Value::Bool(true));
    assert_eq!(get(&DEF, &row, "likely_padded"), &Value::Bool(true));
    assert_eq!(
        get(&DEF, &row, "padding_pattern"),
        &Value::Str("tor_cell".into())
    );
    assert_eq!(get(&DEF, &row, "constant_rate_score"), &Value::Float(1.0));
    assert_eq!(get(&DEF, &row, "padding_score"), &Value::Float(1.0));
    // 10 ms gaps: one burst.
    assert_eq!(get(&DEF, &row, "burst_uniformity"), &Value::Null);
}

#[test]
fn patterns_and_their_thresholds() {
    let pattern =
        |pkts: &[PacketObs]| get(&DEF, &row_of(&DEF, &cfg(), pkts), "padding_pattern").clone();
    // Full-MTU packets at irregular times: mtu.
    let mut mtu = steady(10, 1420, 1_000);
    for (i, p) in mtu.iter_mut().enumerate() {
        p.ts_us = (i * i) as i64 * 3_000;
    }
    assert_eq!(pattern(&mtu), Value::Str("mtu".into()));
    // 7 packets are too few, whatever the pattern.
    assert_eq!(pattern(&mtu[..7]), Value::Null);
    // Constant rate, sizes spread: score 0.2, not padded.
    let spread: Vec<PacketObs> = (0..10)
        .map(|i| obs(i * 20_000, Fwd, 100 + 10 * i as u32, 40))
        .collect();
    assert_eq!(pattern(&spread), Value::Null);
    // Fixed size 100 at a constant rate: constant_rate.
    assert_eq!(
        pattern(&steady(9, 100, 20_000)),
        Value::Str("constant_rate".into())
    );
    // Fixed size 100 at irregular times: fixed_size.
    let mut irregular = steady(9, 100, 1);
    for (i, p) in irregular.iter_mut().enumerate() {
        p.ts_us = (i * i * i) as i64 * 1_000;
    }
    assert_eq!(pattern(&irregular), Value::Str("fixed_size".into()));
}

#[test]
fn short_flows_have_nothing_to_say_about_rate() {
    for n in [1, 2] {
        let pkts = steady(n, 60, 1_000);
        let row = row_of(&DEF, &cfg(), &pkts);
        assert_row_ctx(&DEF, &row, &naive(&pkts, &cfg()), &[], "short");
        for c in ["constant_rate_score", "iat_regularity", "chaff_score"] {
            assert_eq!(get(&DEF, &row, c), &Value::Null, "{n} {c}");
        }
        assert_eq!(get(&DEF, &row, "is_constant_rate"), &Value::Bool(false));
    }
}

#[test]
fn bursts_split_at_the_gap_exactly() {
    // Gaps of 49.999 ms and 50 ms: two bursts of 2 and 1 packets.
    let pkts = [
        obs(0, Fwd, 100, 48),
        obs(49_999, Bwd, 200, 148),
        obs(99_999, Fwd, 300, 248),
    ];
    let row = row_of(&DEF, &cfg(), &pkts);
    assert_row_ctx(&DEF, &row, &naive(&pkts, &cfg()), &[], "gap");
    let m = 1.5;
    let want = 1.0 / (1.0 + 0.5 / m);
    assert_eq!(get(&DEF, &row, "burst_uniformity"), &Value::Float(want));
    let eff = ((48.0 + 148.0) / 300.0 + 248.0 / 300.0) / 2.0;
    assert_eq!(
        get(&DEF, &row, "avg_burst_payload_efficiency"),
        &Value::Float(eff)
    );
    assert_eq!(get(&DEF, &row, "burst_overhead_bytes"), &Value::Int(156));
}

#[test]
fn the_burst_threshold_is_the_configured_one() {
    let pkts = [
        obs(0, Fwd, 100, 48),
        obs(9_999, Bwd, 200, 148),
        obs(19_999, Fwd, 300, 248),
        obs(30_000, Fwd, 300, 248),
    ];
    let ten = Config {
        burst_threshold_ms: 10.0,
        ..cfg()
    };
    let row = row_of(&DEF, &ten, &pkts);
    assert_row_ctx(&DEF, &row, &naive(&pkts, &ten), &[], "10 ms");
    // Gaps 9.999, 10, 10.001 ms: bursts of 2, 1, 1.
    let m: f64 = 4.0 / 3.0;
    let sd = ((4.0 + 1.0 + 1.0) / 3.0 - m * m).sqrt();
    let want = 1.0 / (1.0 + sd / m);
    match get(&DEF, &row, "burst_uniformity") {
        Value::Float(x) => assert!((x - want).abs() < 1e-12, "{x} {want}"),
        v => panic!("{v:?}"),
    }
    // At the default 50 ms: one burst.
    let row = row_of(&DEF, &cfg(), &pkts);
    assert_eq!(get(&DEF, &row, "burst_uniformity"), &Value::Null);
}

#[test]
fn random_flows_equal_the_naive_reference() {
    let mut rng = SplitMix(0x9add);
    for round in 0..300 {
        let n = 1 + rng.below(40);
        let alphabet = [1, 2, 3, 50][rng.below(4)];
        let mut ts = 0i64;
        let pkts: Vec<PacketObs> = (0..n)
            .map(|_| {
                ts +=
                    [0, 10_000, 49_999, 50_000, 200_000][rng.below(5)] as i64 + rng.below(3) as i64;
                // Now and then a clock step back.
                if rng.below(30) == 0 {
                    ts -= 5_000;
                }
                let len = 40 + 546 * rng.below(alphabet) as u32;
                let dir = if rng.below(2) == 0 { Fwd } else { Bwd };
                obs(ts, dir, len, len - 40)
            })
            .collect();
        let row = row_of(&DEF, &cfg(), &pkts);
        assert_row_ctx(
            &DEF,
            &row,
            &naive(&pkts, &cfg()),
            &[],
            &format!("round {round}"),
        );
    }
}

#[test]
fn shared_captures_equal_the_naive_reference() {
    let n = compare_on_captures(&DEF, &cfg(), naive, |_| vec![]);
    assert!(n > 400, "{n} flows");
}

#[test]
fn state_size() {
    assert_eq!(std::mem::size_of::<PaddingState>(), 160);
}
