//! Statistics primitives shared by the groups: ratios, numpy-compatible
//! percentiles and scipy-compatible shape statistics.

/// Ratio as `docs/semantics.md#ratios` defines it: `a / b`, or `a` when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        a
    } else {
        a / b
    }
}

/// The percentiles the `timing` and `size` groups report, as fractions:
/// p25, median (p50), p75, p90, p95.
pub const QUANTILES: [f64; 5] = [0.25, 0.5, 0.75, 0.9, 0.95];

/// The two order statistics (0-based ranks) that numpy's default
/// (`linear`) percentile interpolates between for `n > 0` values and
/// quantile `q` in [0, 1], and the weight of the upper one.
pub fn linear_ranks(n: u64, q: f64) -> (u64, u64, f64) {
    let last = n.saturating_sub(1);
    let virtual_index = last as f64 * q;
    let lo = virtual_index.floor();
    let t = virtual_index - lo;
    let lo = (lo as u64).min(last);
    (lo, (lo + 1).min(last), t)
}

/// numpy's `_lerp`: `a + (b - a) * t`, computed from `b` when `t >= 0.5`,
/// so that results agree with `numpy.percentile` to the last bit.
pub fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Skewness g1 and excess kurtosis g2 without bias correction (scipy's
/// defaults) from the count `n` and the central sums `Σ(x-mean)^k`,
/// k = 2, 3, 4; both 0.0 when undefined (no values or zero variance).
pub fn shape(n: f64, s2: f64, s3: f64, s4: f64) -> (f64, f64) {
    if n <= 0.0 || s2 <= 0.0 {
        return (0.0, 0.0);
    }
    let m2 = s2 / n;
    let skew = (s3 / n) / (m2 * m2.sqrt());
    let kurtosis = (s4 / n) / (m2 * m2) - 3.0;
    (skew, kurtosis)
}

/// `a / b`, or 0.0 when `b` is 0 (the `cv` and `mean` convention of the
/// `timing` and `size` groups).
pub fn div_or_zero(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}
