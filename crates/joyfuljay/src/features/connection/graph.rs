//! The host graph of the `connection` group's Tier 2 columns: betweenness
//! (Brandes, exact or pivot-sampled), clustering (triangles of the
//! undirected graph) and communities (Louvain, label propagation, greedy
//! modularity), on nodes `0..n` given in a fixed (canonical) order.
//!
//! Every result depends only on the node order and the edge list, never on
//! the number of threads: betweenness sums its sources in fixed chunks that
//! are added in chunk order; the community algorithms run on one thread in
//! node order with ties broken by the smaller id; random choices (pivots,
//! Louvain's node order) come from a SplitMix64 with a fixed seed.
//! Definitions and costs: `docs/semantics.md#connection`.

use crate::rng::Rng;

/// Graphs with at most this many nodes get exact betweenness; larger ones
/// a pivot sample of this many sources (the same work as the largest exact
/// graph, times the edge count).
pub const EXACT_BETWEENNESS_MAX_NODES: usize = 5_000;
/// Sources sampled for betweenness above [`EXACT_BETWEENNESS_MAX_NODES`].
pub const BETWEENNESS_PIVOTS: usize = 1_000;
/// Seed of the pivot sample and of Louvain's node order.
pub const SEED: u64 = 0x6a6f_7966_756c_6a61;
/// Betweenness sources are summed in this many fixed chunks (so the sum's
/// rounding does not depend on the thread count).
const CHUNKS: usize = 8;
/// Louvain stops when a level gains less modularity than this (NetworkX's
/// default threshold).
const LOUVAIN_THRESHOLD: f64 = 1e-7;

/// Smallest Louvain move gain (in edge weights) counted as a gain.
const GAIN_EPS: f64 = 1e-9;
/// Local-moving passes per Louvain level at most.
const MAX_PASSES: usize = 50;

/// Compressed adjacency: the neighbours of `u` are
/// `targets[offsets[u]..offsets[u + 1]]`, ascending.
#[derive(Debug, Clone)]
pub struct Csr {
    /// `n + 1` offsets into `targets`.
    pub offsets: Vec<usize>,
    /// Neighbour ids, node by node.
    pub targets: Vec<u32>,
}

impl Csr {
    /// From `(u, v)` pairs (any order, no duplicates needed): the sorted,
    /// deduplicated adjacency of `n` nodes.
    pub fn from_pairs(n: usize, mut pairs: Vec<(u32, u32)>) -> Csr {
        pairs.sort_unstable();
        pairs.dedup();
        let mut offsets = vec![0usize; n + 1];
        for &(u, _) in &pairs {
            offsets[u as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let targets = pairs.into_iter().map(|(_, v)| v).collect();
        Csr { offsets, targets }
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The neighbours of `u`, ascending.
    #[inline]
    pub fn neighbors(&self, u: usize) -> &[u32] {
        &self.targets[self.offsets[u]..self.offsets[u + 1]]
    }
}

/// The undirected simple graph of a directed edge list: both directions of
/// every edge, self-loops dropped (what NetworkX's `clustering` and the
/// community algorithms' neighbour sets see).
pub fn undirected(n: usize, edges: &[(u32, u32)]) -> Csr {
    let mut pairs = Vec::with_capacity(edges.len() * 2);
    for &(u, v) in edges {
        if u != v {
            pairs.push((u, v));
            pairs.push((v, u));
        }
    }
    Csr::from_pairs(n, pairs)
}

/// Directed betweenness centrality, normalised as NetworkX's
/// `betweenness_centrality(G)` (endpoints excluded, divided by
/// `(n-1)(n-2)`). Exact when `n <= exact_max`; otherwise the sum over
/// `pivots` sources drawn without replacement (fixed seed), scaled by
/// `n / pivots` (NetworkX's `k=` estimator). `threads` only changes speed.
pub fn betweenness(g: &Csr, exact_max: usize, pivots: usize, threads: usize) -> Vec<f64> {
    let n = g.n();
    let sources: Vec<u32> = if n <= exact_max || pivots >= n {
        (0..n as u32).collect()
    } else {
        let mut all: Vec<u32> = (0..n as u32).collect();
        let mut rng = Rng::new(SEED);
        // partial Fisher–Yates: the first `pivots` of a uniform shuffle
        for i in 0..pivots {
            let j = i + rng.below(n - i);
            all.swap(i, j);
        }
        all.truncate(pivots);
        all
    };
    let chunks: Vec<&[u32]> = sources
        .chunks(sources.len().div_ceil(CHUNKS).max(1))
        .collect();
    let threads = threads.clamp(1, chunks.len().max(1));
    let mut partial: Vec<Option<Vec<f64>>> = vec![None; chunks.len()];
    std::thread::scope(|s| {
        let slots: Vec<&mut Option<Vec<f64>>> = partial.iter_mut().collect();
        // thread t takes chunks t, t + threads, …
        let mut per_thread: Vec<Vec<Slot<'_>>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, slot) in slots.into_iter().enumerate() {
            per_thread[i % threads].push((i, slot));
        }
        for work in per_thread {
            let chunks = &chunks;
            s.spawn(move || {
                let mut b = Brandes::new(n);
                for (i, slot) in work {
                    let mut acc = vec![0.0f64; n];
                    for &src in chunks[i] {
                        b.run(g, src as usize, &mut acc);
                    }
                    *slot = Some(acc);
                }
            });
        }
    });
    let mut bc = vec![0.0f64; n];
    for acc in partial.into_iter().flatten() {
        for (t, a) in bc.iter_mut().zip(acc) {
            *t += a;
        }
    }
    if n > 2 {
        let mut scale = 1.0 / ((n - 1) as f64 * (n - 2) as f64);
        if sources.len() < n {
            scale *= n as f64 / sources.len() as f64;
        }
        for x in &mut bc {
            *x *= scale;
        }
    }
    bc
}

/// A chunk of betweenness sources and where its sum goes.
type Slot<'a> = (usize, &'a mut Option<Vec<f64>>);

/// One source of Brandes' algorithm (unweighted), with reusable buffers.
struct Brandes {
    dist: Vec<i64>,
    sigma: Vec<f64>,
    delta: Vec<f64>,
    /// BFS order. Predecessor lists are not stored: on the way back a
    /// node's dependency sums over its successors one level further
    /// (`dist[w] == dist[v] + 1`), which is the same set of pairs.
    order: Vec<u32>,
}

impl Brandes {
    fn new(n: usize) -> Brandes {
        Brandes {
            dist: vec![-1; n],
            sigma: vec![0.0; n],
            delta: vec![0.0; n],
            order: Vec::with_capacity(n),
        }
    }

    fn run(&mut self, g: &Csr, s: usize, acc: &mut [f64]) {
        let Brandes {
            dist,
            sigma,
            delta,
            order,
        } = self;
        order.clear();
        dist[s] = 0;
        sigma[s] = 1.0;
        order.push(s as u32);
        let mut head = 0;
        while head < order.len() {
            let v = order[head] as usize;
            head += 1;
            let dv = dist[v];
            for &w in g.neighbors(v) {
                let w = w as usize;
                if dist[w] < 0 {
                    dist[w] = dv + 1;
                    order.push(w as u32);
                }
                if dist[w] == dv + 1 {
                    sigma[w] += sigma[v];
                }
            }
        }
        // back-propagation in reverse BFS order: delta[v] = Σ over
        // successors w on a shortest path of sigma[v]/sigma[w]·(1+delta[w])
        for &v in order.iter().rev() {
            let v = v as usize;
            let dv = dist[v];
            let mut d = 0.0;
            for &w in g.neighbors(v) {
                let w = w as usize;
                if dist[w] == dv + 1 {
                    d += (1.0 + delta[w]) / sigma[w];
                }
            }
            delta[v] = sigma[v] * d;
            if v != s {
                acc[v] += delta[v];
            }
        }
        for &v in order.iter() {
            let v = v as usize;
            dist[v] = -1;
            sigma[v] = 0.0;
            delta[v] = 0.0;
        }
    }
}

/// Local clustering coefficient of each node of the undirected simple graph
/// `g` (NetworkX's `clustering`): 2·triangles / (deg·(deg−1)), 0 below
/// degree 2. Triangles are counted once each by orienting every edge from
/// the lower (degree, id) end to the higher, so a hub costs no more than
/// its edges (O(m^1.5) overall).
pub fn clustering(g: &Csr) -> Vec<f64> {
    let n = g.n();
    let deg = |u: usize| g.offsets[u + 1] - g.offsets[u];
    let rank_lt = |a: usize, b: usize| (deg(a), a) < (deg(b), b);
    let mut fwd_pairs = Vec::with_capacity(g.targets.len() / 2);
    for u in 0..n {
        for &v in g.neighbors(u) {
            if rank_lt(u, v as usize) {
                fwd_pairs.push((u as u32, v));
            }
        }
    }
    let fwd = Csr::from_pairs(n, fwd_pairs);
    let mut tri = vec![0u64; n];
    let mut mark = vec![u32::MAX; n];
    for u in 0..n {
        for &v in fwd.neighbors(u) {
            mark[v as usize] = u as u32;
        }
        for &v in fwd.neighbors(u) {
            for &w in fwd.neighbors(v as usize) {
                if mark[w as usize] == u as u32 {
                    tri[u] += 1;
                    tri[v as usize] += 1;
                    tri[w as usize] += 1;
                }
            }
        }
    }
    (0..n)
        .map(|u| {
            let d = deg(u) as u64;
            if d < 2 {
                0.0
            } else {
                (2 * tri[u]) as f64 / (d * (d - 1)) as f64
            }
        })
        .collect()
}

/// A weighted undirected graph for modularity work: symmetric adjacency
/// without self-loops, plus each node's self-loop weight.
#[derive(Debug, Clone)]
struct WGraph {
    offsets: Vec<usize>,
    adj: Vec<(u32, f64)>,
    self_w: Vec<f64>,
}

impl WGraph {
    fn n(&self) -> usize {
        self.self_w.len()
    }
    fn neighbors(&self, u: usize) -> &[(u32, f64)] {
        &self.adj[self.offsets[u]..self.offsets[u + 1]]
    }
    /// Weighted degree (a self-loop counts twice, as in modularity).
    fn degree(&self, u: usize) -> f64 {
        self.neighbors(u).iter().map(|&(_, w)| w).sum::<f64>() + 2.0 * self.self_w[u]
    }
    /// From symmetric `(u, v, w)` entries with u != v (both directions
    /// present) and self-loop weights; duplicates are summed.
    fn build(n: usize, mut entries: Vec<(u32, u32, f64)>, self_w: Vec<f64>) -> WGraph {
        entries.sort_unstable_by_key(|&(u, v, _)| (u, v));
        let mut adj: Vec<(u32, f64)> = Vec::with_capacity(entries.len());
        let mut offsets = vec![0usize; n + 1];
        let mut last: Option<(u32, u32)> = None;
        for (u, v, w) in entries {
            if last == Some((u, v)) {
                adj.last_mut().expect("entry").1 += w;
            } else {
                adj.push((v, w));
                offsets[u as usize + 1] += 1;
                last = Some((u, v));
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        WGraph {
            offsets,
            adj,
            self_w,
        }
    }
    /// The unweighted undirected graph of a directed edge list: weight 1
    /// per pair of hosts with a flow either way; a self-loop weight 1.
    fn from_edges(n: usize, edges: &[(u32, u32)]) -> WGraph {
        let g = undirected(n, edges);
        let mut self_w = vec![0.0; n];
        for &(u, v) in edges {
            if u == v {
                self_w[u as usize] = 1.0;
            }
        }
        let mut entries = Vec::with_capacity(g.targets.len());
        for u in 0..n {
            for &v in g.neighbors(u) {
                entries.push((u as u32, v, 1.0));
            }
        }
        WGraph::build(n, entries, self_w)
    }
    fn total_weight(&self) -> f64 {
        // each undirected edge appears twice in adj
        self.adj.iter().map(|&(_, w)| w).sum::<f64>() / 2.0 + self.self_w.iter().sum::<f64>()
    }
}

/// Newman's modularity of a partition (resolution 1) — NetworkX's
/// `community.modularity` on the unweighted undirected graph.
pub fn modularity(n: usize, edges: &[(u32, u32)], comm: &[u32]) -> f64 {
    let g = WGraph::from_edges(n, edges);
    modularity_w(&g, comm)
}

fn modularity_w(g: &WGraph, comm: &[u32]) -> f64 {
    let m = g.total_weight();
    if m == 0.0 {
        return 0.0;
    }
    let c = comm.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut inner = vec![0.0f64; c];
    let mut tot = vec![0.0f64; c];
    for u in 0..g.n() {
        let cu = comm[u] as usize;
        tot[cu] += g.degree(u);
        inner[cu] += 2.0 * g.self_w[u];
        for &(v, w) in g.neighbors(u) {
            if comm[v as usize] as usize == cu {
                inner[cu] += w;
            }
        }
    }
    (0..c)
        .map(|i| inner[i] / (2.0 * m) - (tot[i] / (2.0 * m)).powi(2))
        .sum()
}

/// Renumber `comm` to `0..c` in order of each community's first node.
fn renumber(comm: &mut [u32]) -> usize {
    let mut map = vec![u32::MAX; comm.len()];
    let mut next = 0u32;
    for c in comm.iter_mut() {
        let m = &mut map[*c as usize];
        if *m == u32::MAX {
            *m = next;
            next += 1;
        }
        *c = *m;
    }
    next as usize
}

/// Louvain (Blondel et al. 2008) on the unweighted undirected graph of
/// `edges`, resolution 1: local moving in a seeded shuffled node order
/// (strict gains only, ties to the smaller community id), then
/// aggregation, until a level gains less than 1e-7 modularity. Louvain
/// ends in a local optimum that depends on the node order, so it runs
/// [`louvain_runs`] times (node orders from seeds SEED, SEED+1, ...) and
/// keeps the partition of highest modularity (the first on a tie).
/// Returns a community per node, numbered by each community's smallest
/// node.
pub fn louvain(n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
    let g = WGraph::from_edges(n, edges);
    let mut best: Option<(f64, Vec<u32>)> = None;
    for run in 0..louvain_runs(n) {
        let c = louvain_once(g.clone(), SEED.wrapping_add(run as u64));
        let q = modularity_w(&g, &c);
        if best.as_ref().is_none_or(|(bq, _)| q > *bq) {
            best = Some((q, c));
        }
    }
    best.map(|(_, c)| c).unwrap_or_default()
}

/// Louvain runs (node orders) tried: 8 up to 100 000 hosts, then 2.
pub fn louvain_runs(n: usize) -> usize {
    if n <= 100_000 {
        8
    } else {
        2
    }
}

fn louvain_once(mut g: WGraph, seed: u64) -> Vec<u32> {
    let n = g.n();
    let m = g.total_weight();
    let mut node_comm: Vec<u32> = (0..n as u32).collect();
    if m == 0.0 {
        return node_comm;
    }
    let mut rng = Rng::new(seed);
    let mut q = modularity_w(&g, &(0..n as u32).collect::<Vec<_>>());
    loop {
        let gn = g.n();
        let mut comm: Vec<u32> = (0..gn as u32).collect();
        let k: Vec<f64> = (0..gn).map(|u| g.degree(u)).collect();
        let mut tot = k.clone();
        let mut order: Vec<u32> = (0..gn as u32).collect();
        rng.shuffle(&mut order);
        let mut wto = vec![0.0f64; gn];
        let mut touched: Vec<u32> = Vec::new();
        let mut moved_any = false;
        for _ in 0..MAX_PASSES {
            let mut moved = false;
            for &u in &order {
                let u = u as usize;
                let cu = comm[u] as usize;
                for &(v, w) in g.neighbors(u) {
                    let cv = comm[v as usize];
                    if wto[cv as usize] == 0.0 {
                        touched.push(cv);
                    }
                    wto[cv as usize] += w;
                }
                tot[cu] -= k[u];
                // gain of joining c (after leaving cu), up to a common factor
                let gain = |c: usize, wto: &[f64]| wto[c] - tot[c] * k[u] / (2.0 * m);
                // stay unless another community gains strictly more;
                // among equal gains, the smallest community id
                let mut best = cu;
                let mut best_gain = gain(cu, &wto);
                for &c in &touched {
                    let c = c as usize;
                    if c == cu {
                        continue;
                    }
                    let gc = gain(c, &wto);
                    // a move must gain more than rounding noise, or a
                    // node could bounce between two equal communities
                    if gc > best_gain + GAIN_EPS
                        || (best != cu
                            && gc >= best_gain - GAIN_EPS
                            && gc <= best_gain + GAIN_EPS
                            && c < best)
                    {
                        best_gain = gc;
                        best = c;
                    }
                }
                tot[best] += k[u];
                if best != cu {
                    comm[u] = best as u32;
                    moved = true;
                    moved_any = true;
                }
                for &c in &touched {
                    wto[c as usize] = 0.0;
                }
                touched.clear();
            }
            if !moved {
                break;
            }
        }
        if !moved_any {
            break;
        }
        let c = renumber(&mut comm);
        for x in node_comm.iter_mut() {
            *x = comm[*x as usize];
        }
        // aggregate
        let mut self_w = vec![0.0f64; c];
        let mut entries = Vec::new();
        for u in 0..gn {
            let cu = comm[u];
            self_w[cu as usize] += g.self_w[u];
            for &(v, w) in g.neighbors(u) {
                let cv = comm[v as usize];
                if cu == cv {
                    // each internal edge is seen from both ends
                    self_w[cu as usize] += w / 2.0;
                } else {
                    entries.push((cu, cv, w));
                }
            }
        }
        g = WGraph::build(c, entries, self_w);
        let q_new = modularity_w(&g, &(0..c as u32).collect::<Vec<_>>());
        let gained = q_new - q;
        q = q_new;
        if gained <= LOUVAIN_THRESHOLD {
            break;
        }
    }
    renumber(&mut node_comm);
    node_comm
}

/// Label propagation (asynchronous, Raghavan et al. 2007) on the
/// undirected simple graph: in each round the nodes, in an order shuffled
/// with the fixed seed, take the label most frequent among their
/// neighbours (keeping their own when it is among the most frequent, else
/// one of those drawn with the seeded generator), until no label changes
/// (at most 100 rounds). Numbered by each community's smallest node.
pub fn label_propagation(n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
    let g = undirected(n, edges);
    let mut rng = Rng::new(SEED);
    let mut label: Vec<u32> = (0..n as u32).collect();
    let mut count = vec![0u32; n];
    let mut touched: Vec<u32> = Vec::new();
    let mut best: Vec<u32> = Vec::new();
    let mut order: Vec<u32> = (0..n as u32).collect();
    for _ in 0..100 {
        rng.shuffle(&mut order);
        let mut changed = false;
        for &u in &order {
            let u = u as usize;
            let nb = g.neighbors(u);
            if nb.is_empty() {
                continue;
            }
            for &v in nb {
                let l = label[v as usize];
                if count[l as usize] == 0 {
                    touched.push(l);
                }
                count[l as usize] += 1;
            }
            let most = touched
                .iter()
                .map(|&l| count[l as usize])
                .max()
                .unwrap_or(0);
            let own = label[u];
            let new = if count[own as usize] == most {
                own
            } else {
                best.clear();
                best.extend(
                    touched
                        .iter()
                        .copied()
                        .filter(|&l| count[l as usize] == most),
                );
                best.sort_unstable();
                best[rng.below(best.len())]
            };
            for &l in &touched {
                count[l as usize] = 0;
            }
            touched.clear();
            if new != own {
                label[u] = new;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    renumber(&mut label);
    label
}

/// Greedy modularity (Clauset–Newman–Moore 2004) on the unweighted
/// undirected graph: start from singletons and repeatedly merge the pair
/// of connected communities with the largest modularity gain (ties: the
/// smallest pair of ids) while the gain is positive.
pub fn greedy_modularity(n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
    use std::collections::{BTreeMap, BinaryHeap};
    let g = WGraph::from_edges(n, edges);
    let m = g.total_weight();
    let mut node_comm: Vec<u32> = (0..n as u32).collect();
    if m == 0.0 {
        return node_comm;
    }
    // e[i][j] = weight between communities / (2m), a[i] = degree / (2m)
    let mut e: Vec<BTreeMap<u32, f64>> = (0..n)
        .map(|u| {
            g.neighbors(u)
                .iter()
                .map(|&(v, w)| (v, w / (2.0 * m)))
                .collect()
        })
        .collect();
    let mut a: Vec<f64> = (0..n).map(|u| g.degree(u) / (2.0 * m)).collect();
    let mut alive = vec![true; n];
    let mut parent: Vec<u32> = (0..n as u32).collect();
    // heap of (gain, Reverse(i), Reverse(j)); stale entries are skipped
    #[derive(PartialEq)]
    struct Cand(f64, u32, u32);
    impl Eq for Cand {}
    impl PartialOrd for Cand {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Cand {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.0
                .total_cmp(&o.0)
                .then_with(|| o.1.cmp(&self.1))
                .then_with(|| o.2.cmp(&self.2))
        }
    }
    let dq = |e: &Vec<BTreeMap<u32, f64>>, a: &Vec<f64>, i: u32, j: u32| {
        2.0 * (e[i as usize].get(&j).copied().unwrap_or(0.0) - a[i as usize] * a[j as usize])
    };
    let mut heap = BinaryHeap::new();
    for i in 0..n as u32 {
        for &j in e[i as usize].keys() {
            if i < j {
                heap.push(Cand(dq(&e, &a, i, j), i, j));
            }
        }
    }
    while let Some(Cand(gain, i, j)) = heap.pop() {
        if !alive[i as usize] || !alive[j as usize] {
            continue;
        }
        let Some(_) = e[i as usize].get(&j) else {
            continue;
        };
        let cur = dq(&e, &a, i, j);
        if cur != gain {
            continue; // stale: a fresher entry for (i, j) is in the heap
        }
        if gain <= 0.0 {
            break;
        }
        // merge j into i
        let ej = std::mem::take(&mut e[j as usize]);
        for (k, w) in ej {
            if k == i {
                continue;
            }
            *e[i as usize].entry(k).or_insert(0.0) += w;
            let ek = &mut e[k as usize];
            ek.remove(&j);
            *ek.entry(i).or_insert(0.0) += w;
        }
        e[i as usize].remove(&j);
        a[i as usize] += a[j as usize];
        a[j as usize] = 0.0;
        alive[j as usize] = false;
        parent[j as usize] = i;
        let nbrs: Vec<u32> = e[i as usize].keys().copied().collect();
        for k in nbrs {
            let (x, y) = if i < k { (i, k) } else { (k, i) };
            heap.push(Cand(dq(&e, &a, x, y), x, y));
        }
    }
    for (u, c) in node_comm.iter_mut().enumerate() {
        let mut r = u as u32;
        while parent[r as usize] != r {
            r = parent[r as usize];
        }
        *c = r;
    }
    renumber(&mut node_comm);
    node_comm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    fn csr(n: usize, e: &[(u32, u32)]) -> Csr {
        Csr::from_pairs(n, e.to_vec())
    }

    #[test]
    fn betweenness_of_a_directed_path() {
        // 0 → 1 → 2 → 3: node 1 lies on 0→2, 0→3 (2 paths), node 2 on
        // 0→3, 1→3; normalised by (n-1)(n-2) = 6
        let g = csr(4, &[(0, 1), (1, 2), (2, 3)]);
        close(
            &betweenness(&g, 10, 0, 2),
            &[0.0, 2.0 / 6.0, 2.0 / 6.0, 0.0],
        );
    }

    #[test]
    fn betweenness_of_a_star_both_ways() {
        // hub 0 with leaves 1..=4, edges both ways: every ordered leaf pair
        // (4·3 = 12) goes through the hub; (n-1)(n-2) = 12
        let mut e = Vec::new();
        for l in 1..=4 {
            e.push((0, l));
            e.push((l, 0));
        }
        let g = csr(5, &e);
        close(&betweenness(&g, 10, 0, 1), &[1.0, 0.0, 0.0, 0.0, 0.0]);
        // an out-star only: no path of length 2
        let g = csr(5, &[(0, 1), (0, 2), (0, 3), (0, 4)]);
        close(&betweenness(&g, 10, 0, 1), &[0.0; 5]);
    }

    #[test]
    fn betweenness_splits_over_equal_paths() {
        // 0 → 1 → 3 and 0 → 2 → 3: each middle node carries half of 0→3
        let g = csr(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        close(
            &betweenness(&g, 10, 0, 3),
            &[0.0, 0.5 / 6.0, 0.5 / 6.0, 0.0],
        );
    }

    #[test]
    fn betweenness_does_not_depend_on_threads_and_samples_estimate() {
        let mut rng = Rng::new(3);
        let n = 300;
        let e: Vec<(u32, u32)> = (0..1500)
            .map(|_| (rng.below(n) as u32, rng.below(n) as u32))
            .collect();
        let g = Csr::from_pairs(n, e);
        let one = betweenness(&g, 1000, 0, 1);
        let two = betweenness(&g, 1000, 0, 2);
        let five = betweenness(&g, 1000, 0, 5);
        assert_eq!(one, two);
        assert_eq!(one, five);
        // sampling all sources is the exact value; half of them, close
        assert_eq!(betweenness(&g, 10, n, 2), one);
        let half = betweenness(&g, 10, n / 2, 2);
        assert_eq!(half, betweenness(&g, 10, n / 2, 1));
        let err: f64 = one
            .iter()
            .zip(&half)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / one.iter().sum::<f64>();
        assert!(err < 0.2, "{err}");
    }

    #[test]
    fn clustering_of_triangle_star_and_path() {
        let tri = undirected(3, &[(0, 1), (1, 2), (2, 0)]);
        close(&clustering(&tri), &[1.0, 1.0, 1.0]);
        let star = undirected(4, &[(0, 1), (0, 2), (0, 3)]);
        close(&clustering(&star), &[0.0; 4]);
        let path = undirected(3, &[(0, 1), (1, 2)]);
        close(&clustering(&path), &[0.0; 3]);
        // a triangle with a tail: 0-1-2 triangle, 2-3; node 2 has degree 3
        // and one triangle among its three neighbour pairs
        let g = undirected(4, &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 3)]);
        close(&clustering(&g), &[1.0, 1.0, 1.0 / 3.0, 0.0]);
    }

    /// Two 5-cliques joined by the edge 4–5.
    fn two_cliques() -> Vec<(u32, u32)> {
        let mut e = Vec::new();
        for base in [0u32, 5] {
            for i in 0..5 {
                for j in i + 1..5 {
                    e.push((base + i, base + j));
                }
            }
        }
        e.push((4, 5));
        e
    }

    #[test]
    fn communities_of_two_cliques_joined_by_a_bridge() {
        let e = two_cliques();
        let want = vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        assert_eq!(louvain(10, &e), want);
        assert_eq!(label_propagation(10, &e), want);
        assert_eq!(greedy_modularity(10, &e), want);
        // m = 21, each half: 10 inner edges, degree sum 21
        let q = 2.0 * (10.0 / 21.0 - (21.0f64 / 42.0).powi(2));
        assert!((modularity(10, &e, &want) - q).abs() < 1e-12);
        // edges go from low to high id only: every path from the first
        // clique to the second crosses 4 → 5
        let bc = betweenness(&Csr::from_pairs(10, e.clone()), 100, 0, 1);
        assert!(bc[4] > bc[0] && bc[5] > bc[9]);
    }

    #[test]
    fn communities_of_a_star_and_isolated_self_loop() {
        let e = [(0, 1), (0, 2), (0, 3), (4, 4)];
        let c = louvain(5, &e);
        assert_eq!(c[..4], [0, 0, 0, 0]);
        assert_eq!(c[4], 1);
        assert_eq!(louvain(3, &[]), vec![0, 1, 2]);
    }

    #[test]
    fn louvain_beats_singletons_on_random_graphs() {
        let mut rng = Rng::new(11);
        for n in [20usize, 200, 2000] {
            let e: Vec<(u32, u32)> = (0..n * 3)
                .map(|_| (rng.below(n) as u32, rng.below(n) as u32))
                .collect();
            let c = louvain(n, &e);
            let single: Vec<u32> = (0..n as u32).collect();
            assert!(modularity(n, &e, &c) > modularity(n, &e, &single) + 0.1);
            assert_eq!(c, louvain(n, &e));
        }
    }
}
