//! How far the sampled betweenness of the `connection` group's graph
//! metrics is from the exact value, on generated host graphs where the
//! exact value is still feasible (`scripts/bench_connection_graph.py`
//! runs it; figures in `bench/results/*connection-graph.md`).
//!
//!     cargo run --release -p joyfuljay --example betweenness_error -- 10000 20000
//!
//! Graphs: n hosts in groups of 50, each sending to 3 hosts (95 % in its
//! group), plus 1 % "servers" that half of all hosts also talk to — the
//! shape of a network with communities and hubs. For each n it prints the
//! sampled estimate's error against exact Brandes: relative L1 error over
//! all hosts, the largest absolute error, the median relative error of the
//! hosts in the top 1 % by exact value, and how many of the exact top 100
//! the estimate also ranks in its top 100.
use joyfuljay::features::connection::graph::{
    betweenness, Csr, BETWEENNESS_PIVOTS, EXACT_BETWEENNESS_MAX_NODES,
};
use joyfuljay::rng::Rng;
use std::time::Instant;

fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("host counts"))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("| hosts | edges | exact s | sampled s | rel. L1 error | max abs error | median rel. error, top 1 % | top-100 overlap |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in ns {
        let mut rng = Rng::new(n as u64);
        let mut edges = Vec::new();
        let servers = (n / 100).max(1);
        for h in 0..n {
            let g = h / 50;
            for _ in 0..3 {
                let d = if rng.below(100) < 95 {
                    (g * 50 + rng.below(50)).min(n - 1)
                } else {
                    rng.below(n)
                };
                edges.push((h as u32, d as u32));
            }
            if rng.below(2) == 0 {
                edges.push((h as u32, (rng.below(servers) * 100 % n) as u32));
            }
        }
        let g = Csr::from_pairs(n, edges);
        let t = Instant::now();
        let exact = betweenness(&g, usize::MAX, 0, threads);
        let te = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let est = betweenness(
            &g,
            EXACT_BETWEENNESS_MAX_NODES.min(n - 1),
            BETWEENNESS_PIVOTS,
            threads,
        );
        let ts = t.elapsed().as_secs_f64();
        let l1: f64 = exact
            .iter()
            .zip(&est)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / exact.iter().sum::<f64>();
        let maxabs = exact
            .iter()
            .zip(&est)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| exact[b].total_cmp(&exact[a]).then(a.cmp(&b)));
        let top = (n / 100).max(1);
        let mut rel: Vec<f64> = idx[..top]
            .iter()
            .map(|&i| (est[i] - exact[i]).abs() / exact[i].max(f64::MIN_POSITIVE))
            .collect();
        rel.sort_by(f64::total_cmp);
        let med = rel[rel.len() / 2];
        let mut eidx: Vec<usize> = (0..n).collect();
        eidx.sort_by(|&a, &b| est[b].total_cmp(&est[a]).then(a.cmp(&b)));
        let k = 100.min(n);
        let a: std::collections::HashSet<usize> = idx[..k].iter().copied().collect();
        let overlap = eidx[..k].iter().filter(|i| a.contains(i)).count();
        println!(
            "| {n} | {} | {te:.1} | {ts:.1} | {:.1} % | {maxabs:.2e} | {:.1} % | {overlap}/{k} |",
            g.targets.len(),
            100.0 * l1,
            100.0 * med
        );
    }
}
