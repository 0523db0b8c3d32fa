//! `connection`: host-level counts over every flow of the run — the
//! columns of the user's `connection` page (Tier 1, and Tier 3 with
//! `connection_include_temporal`), per the flow's source (its initiator,
//! `src_ip`) and destination (responder, `dst_ip`).
//!
//! The group reads the whole input (`Needs::whole_input`): the pipeline
//! runs the flow table once without writing rows and shows every ended flow
//! to [`WholeInput::observe`], which counts per host, host pair and
//! (pair, destination port); [`WholeInput::seal`] turns the counts into
//! per-host totals; the second pass writes each flow's row by looking its
//! hosts up. Memory grows with hosts, host pairs and (source, destination,
//! port) triples, never with packets; with `connection_include_temporal`,
//! pass 1 also keeps each flow's start time (8 bytes a flow) until the end
//! of pass 1, when the burst counts are computed and the times dropped.
//! With `connection_include_graph_metrics`, [`WholeInput::seal`] also
//! builds the host graph from the host pairs (a directed edge per pair
//! with at least one flow) and computes degrees, betweenness, clustering
//! and communities ([`graph`]); that adds a few arrays per host and per
//! host pair, still nothing per flow.
//! Definitions: `docs/semantics.md#connection`.

pub mod graph;

use super::{
    Column, ColumnType, FeatureGroup, FlowView, Gate, Group, GroupDef, Needs, RowWriter, WholeInput,
};
use crate::config::Config;
use crate::flow::Flow;
use crate::packet::PacketView;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use ColumnType::{Bool, Float, Int};
const GRAPH: Gate = Gate::on("connection_include_graph_metrics", |c| {
    c.connection_include_graph_metrics
});
const TEMPORAL: Gate = Gate::on("connection_include_temporal", |c| {
    c.connection_include_temporal
});

/// The `connection` columns, in output order (the page's).
pub const COLUMNS: &[Column] = &[
    Column::describe("conn_src_unique_dsts", Int, "hosts", Gate::ALWAYS, "Distinct destination addresses of the flows this flow's source initiated, over every flow of the run."),
    Column::describe("conn_dst_unique_srcs", Int, "hosts", Gate::ALWAYS, "Distinct source addresses of the flows this flow's destination answered, over every flow of the run."),
    Column::describe("conn_src_dst_flows", Int, "flows", Gate::ALWAYS, "Flows from this source address to this destination address (this flow included)."),
    Column::describe("conn_src_port_flows", Int, "flows", Gate::ALWAYS, "Flows from this source address to this destination address on this destination port (this flow included)."),
    Column::describe("conn_src_total_flows", Int, "flows", Gate::ALWAYS, "Flows this source address initiated."),
    Column::describe("conn_dst_total_flows", Int, "flows", Gate::ALWAYS, "Flows this destination address answered (was the responder of)."),
    Column::describe("conn_src_total_packets", Int, "packets", Gate::ALWAYS, "Packets (both directions) of the flows this source initiated."),
    Column::describe("conn_src_total_bytes", Int, "bytes", Gate::ALWAYS, "IP-level bytes (both directions) of the flows this source initiated."),
    Column::describe("conn_dst_total_packets", Int, "packets", Gate::ALWAYS, "Packets (both directions) of the flows this destination answered."),
    Column::describe("conn_dst_total_bytes", Int, "bytes", Gate::ALWAYS, "IP-level bytes (both directions) of the flows this destination answered."),
    Column::describe("conn_src_unique_ports", Int, "ports", Gate::ALWAYS, "Distinct destination ports of the flows this source initiated (0 for protocols without ports)."),
    Column::describe("conn_src_out_degree", Int, "hosts", GRAPH, "Out-degree of the source in the directed host graph (edge = at least one flow from one address to another): equals conn_src_unique_dsts."),
    Column::describe("conn_dst_in_degree", Int, "hosts", GRAPH, "In-degree of the destination in the directed host graph: equals conn_dst_unique_srcs."),
    Column::describe("conn_src_betweenness", Float, "", GRAPH, "Betweenness centrality of the source in the directed, unweighted host graph, normalised by (n-1)(n-2) as NetworkX's betweenness_centrality (0-1); exact up to 5000 hosts, above that estimated from 1000 sampled sources (fixed seed)."),
    Column::describe("conn_dst_betweenness", Float, "", GRAPH, "Betweenness centrality of the destination, as conn_src_betweenness."),
    Column::describe("conn_src_community", Int, "", GRAPH, "Community of the source in the undirected, unweighted host graph (connection_community_algorithm; deterministic); communities are numbered 0, 1, ... in order of their lowest address (IPv4 before IPv6)."),
    Column::describe("conn_dst_community", Int, "", GRAPH, "Community of the destination, as conn_src_community."),
    Column::describe("conn_same_community", Bool, "", GRAPH, "Whether source and destination are in the same community."),
    Column::describe("conn_src_clustering", Float, "", GRAPH, "Local clustering coefficient of the source in the undirected simple host graph (self-loops ignored), as NetworkX's clustering (0-1; 0 below two neighbours)."),
    Column::describe("conn_dst_clustering", Float, "", GRAPH, "Local clustering coefficient of the destination, as conn_src_clustering."),
    Column::describe("conn_src_flow_rate", Float, "flows/s", TEMPORAL, "conn_src_total_flows / conn_temporal_spread; null when the spread is 0.").or_null(),
    Column::describe("conn_temporal_spread", Float, "s", TEMPORAL, "Time from the earliest start to the latest end of the flows this source initiated."),
    Column::describe("conn_burst_connections", Int, "flows", TEMPORAL, "Most flows this source initiated whose start times lie in one closed window of 1 second."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "connection",
    summary: "Host-level counts over every flow of the run (fan-out, fan-in, pair and port counts, totals; optional temporal spread and bursts). Reads the input twice.",
    columns: COLUMNS,
    build,
};

fn build(cfg: &Config) -> Arc<dyn Group> {
    let graph = cfg.connection_include_graph_metrics.then(|| GraphCfg {
        algorithm: match cfg.connection_community_algorithm.as_str() {
            "greedy" => Algorithm::Greedy,
            "label_propagation" => Algorithm::LabelPropagation,
            _ => Algorithm::Louvain,
        },
        threads: cfg
            .num_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    });
    Arc::new(Connection {
        temporal: cfg.connection_include_temporal,
        graph,
        building: Mutex::new(None),
        ready: RwLock::new(None),
    })
}

/// A host: its address as an integer (IPv4 in the low 32 bits) and
/// whether it is IPv6.
type Host = (u128, bool);

/// Per-host values (index = host id).
#[derive(Debug, Clone, Copy, Default)]
struct HostAgg {
    out_flows: u64,
    in_flows: u64,
    out_packets: u64,
    out_bytes: u64,
    in_packets: u64,
    in_bytes: u64,
    unique_dsts: u64,
    unique_srcs: u64,
    unique_ports: u64,
    /// Earliest start and latest end of the flows the host initiated (µs).
    first_us: i64,
    last_us: i64,
    /// Most initiated flows starting in one 1-second window.
    burst: u64,
}

/// Community detection of the graph metrics.
#[derive(Debug, Clone, Copy)]
enum Algorithm {
    Louvain,
    Greedy,
    LabelPropagation,
}

/// What the graph metrics need to know.
#[derive(Debug, Clone, Copy)]
struct GraphCfg {
    algorithm: Algorithm,
    /// Threads for betweenness (results do not depend on it).
    threads: usize,
}

/// Per-host graph values (index = host id).
#[derive(Debug, Clone, Copy, Default)]
struct HostGraph {
    betweenness: f64,
    clustering: f64,
    community: u32,
}

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// What pass 1 counts.
#[derive(Default)]
struct Builder {
    ids: Map<Host, u32>,
    hosts: Vec<HostAgg>,
    /// Flows per (source id, destination id).
    pairs: Map<(u32, u32), u64>,
    /// Flows per (source id, destination id, destination port).
    pair_ports: Map<(u32, u32, u16), u64>,
    /// Distinct (source id, destination port).
    src_ports: Map<(u32, u16), ()>,
    /// Start times of each source's flows (µs), with the temporal columns.
    starts: Map<u32, Vec<i64>>,
}

impl Builder {
    fn id(&mut self, h: Host) -> u32 {
        let next = self.hosts.len() as u32;
        let id = *self.ids.entry(h).or_insert(next);
        if id == next {
            self.hosts.push(HostAgg {
                first_us: i64::MAX,
                last_us: i64::MIN,
                ..HostAgg::default()
            });
        }
        id
    }

    fn add(&mut self, flow: &Flow, temporal: bool) {
        let v6 = flow.key.v6;
        let (src, dst) = (flow.src(), flow.dst());
        let s = self.id((src.addr, v6));
        let d = self.id((dst.addr, v6));
        let (packets, bytes) = (flow.total_packets(), flow.total_bytes());
        let h = &mut self.hosts[s as usize];
        h.out_flows += 1;
        h.out_packets += packets;
        h.out_bytes += bytes;
        h.first_us = h.first_us.min(flow.start_us);
        h.last_us = h.last_us.max(flow.end_us);
        let h = &mut self.hosts[d as usize];
        h.in_flows += 1;
        h.in_packets += packets;
        h.in_bytes += bytes;
        *self.pairs.entry((s, d)).or_insert(0) += 1;
        *self.pair_ports.entry((s, d, dst.port)).or_insert(0) += 1;
        self.src_ports.insert((s, dst.port), ());
        if temporal {
            self.starts.entry(s).or_default().push(flow.start_us);
        }
    }

    fn seal(mut self, graph: Option<GraphCfg>) -> Aggregates {
        let graph = graph.map(|g| self.graph(g));
        for &(s, d) in self.pairs.keys() {
            self.hosts[s as usize].unique_dsts += 1;
            self.hosts[d as usize].unique_srcs += 1;
        }
        for &(s, _) in self.src_ports.keys() {
            self.hosts[s as usize].unique_ports += 1;
        }
        for (s, mut v) in self.starts {
            self.hosts[s as usize].burst = burst(&mut v);
        }
        Aggregates {
            ids: self.ids,
            hosts: self.hosts,
            graph,
            pairs: self.pairs,
            pair_ports: self.pair_ports,
        }
    }
}

impl Builder {
    /// The graph metrics of every host. Hosts are renumbered in address
    /// order first (IPv4 before IPv6), so that the results do not depend
    /// on the order in which pass 1 saw the flows.
    fn graph(&self, cfg: GraphCfg) -> Vec<HostGraph> {
        let n = self.hosts.len();
        let mut by_addr: Vec<(bool, u128, u32)> =
            self.ids.iter().map(|(&(a, v6), &id)| (v6, a, id)).collect();
        by_addr.sort_unstable();
        let mut rank = vec![0u32; n];
        for (r, &(_, _, id)) in by_addr.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        drop(by_addr);
        let mut edges: Vec<(u32, u32)> = self
            .pairs
            .keys()
            .map(|&(s, d)| (rank[s as usize], rank[d as usize]))
            .collect();
        edges.sort_unstable();
        let bc = {
            let directed = graph::Csr::from_pairs(n, edges.clone());
            graph::betweenness(
                &directed,
                graph::EXACT_BETWEENNESS_MAX_NODES,
                graph::BETWEENNESS_PIVOTS,
                cfg.threads,
            )
        };
        let cl = graph::clustering(&graph::undirected(n, &edges));
        let comm = match cfg.algorithm {
            Algorithm::Louvain => graph::louvain(n, &edges),
            Algorithm::Greedy => graph::greedy_modularity(n, &edges),
            Algorithm::LabelPropagation => graph::label_propagation(n, &edges),
        };
        (0..n)
            .map(|id| {
                let r = rank[id] as usize;
                HostGraph {
                    betweenness: bc[r],
                    clustering: cl[r],
                    community: comm[r],
                }
            })
            .collect()
    }
}

/// Most of `starts` (µs) in one closed window of 1 second: a sliding
/// window over the sorted times.
fn burst(starts: &mut [i64]) -> u64 {
    starts.sort_unstable();
    let mut best = 0;
    let mut i = 0;
    for j in 0..starts.len() {
        while starts[j] - starts[i] > 1_000_000 {
            i += 1;
        }
        best = best.max(j - i + 1);
    }
    best as u64
}

/// What pass 2 reads.
struct Aggregates {
    ids: Map<Host, u32>,
    hosts: Vec<HostAgg>,
    /// With the graph metrics.
    graph: Option<Vec<HostGraph>>,
    pairs: Map<(u32, u32), u64>,
    pair_ports: Map<(u32, u32, u16), u64>,
}

struct Connection {
    temporal: bool,
    graph: Option<GraphCfg>,
    building: Mutex<Option<Builder>>,
    ready: RwLock<Option<Aggregates>>,
}

impl WholeInput for Connection {
    fn begin(&self) {
        *self.building.lock().expect("connection lock") = Some(Builder::default());
        *self.ready.write().expect("connection lock") = None;
    }

    fn observe(&self, flow: &Flow) {
        if let Some(b) = self.building.lock().expect("connection lock").as_mut() {
            b.add(flow, self.temporal);
        }
    }

    fn seal(&self) {
        let b = self.building.lock().expect("connection lock").take();
        *self.ready.write().expect("connection lock") = b.map(|b| b.seal(self.graph));
    }
}

impl FeatureGroup for Connection {
    type State = ();

    fn needs(&self) -> Needs {
        Needs {
            whole_input: true,
            ..Needs::SUMMARY
        }
    }

    fn new_state(&self) {}

    fn update(&self, _state: &mut (), _pkt: &PacketView<'_>) {}

    fn whole_input(&self) -> Option<&dyn WholeInput> {
        Some(self)
    }

    fn write(&self, flow: &FlowView<'_>, _state: &(), out: &mut RowWriter<'_>) {
        let ready = self.ready.read().expect("connection lock");
        let own;
        // Outside a two-pass run (a group test writing one flow), the
        // input is this flow alone.
        let agg = match ready.as_ref() {
            Some(a) => a,
            None => {
                let mut b = Builder::default();
                b.add(flow.flow, self.temporal);
                own = b.seal(self.graph);
                &own
            }
        };
        let v6 = flow.key.v6;
        let (src, dst) = (flow.src(), flow.dst());
        let s = agg.ids.get(&(src.addr, v6)).copied();
        let d = agg.ids.get(&(dst.addr, v6)).copied();
        let (Some(s), Some(d)) = (s, d) else {
            unreachable!("pass 1 saw every flow of pass 2");
        };
        let hs = &agg.hosts[s as usize];
        let hd = &agg.hosts[d as usize];
        out.put(hs.unique_dsts);
        out.put(hd.unique_srcs);
        out.put(agg.pairs.get(&(s, d)).copied().unwrap_or(0));
        out.put(agg.pair_ports.get(&(s, d, dst.port)).copied().unwrap_or(0));
        out.put(hs.out_flows);
        out.put(hd.in_flows);
        out.put(hs.out_packets);
        out.put(hs.out_bytes);
        out.put(hd.in_packets);
        out.put(hd.in_bytes);
        out.put(hs.unique_ports);
        if let Some(g) = &agg.graph {
            let (gs, gd) = (&g[s as usize], &g[d as usize]);
            out.put(hs.unique_dsts);
            out.put(hd.unique_srcs);
            out.put(gs.betweenness);
            out.put(gd.betweenness);
            out.put(u64::from(gs.community));
            out.put(u64::from(gd.community));
            out.put(gs.community == gd.community);
            out.put(gs.clustering);
            out.put(gd.clustering);
        } else {
            // the columns are off (RowWriter skips them); typed fillers
            out.put(0u64);
            out.put(0u64);
            out.put(0.0);
            out.put(0.0);
            out.put(0u64);
            out.put(0u64);
            out.put(false);
            out.put(0.0);
            out.put(0.0);
        }
        let span_us = hs.last_us - hs.first_us;
        let spread = span_us as f64 / 1e6;
        out.put((span_us > 0).then(|| hs.out_flows as f64 / spread));
        out.put(spread);
        out.put(hs.burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive: for every start, count the starts within 1 s after it.
    fn burst_naive(v: &[i64]) -> u64 {
        v.iter()
            .map(|&t| v.iter().filter(|&&u| u >= t && u - t <= 1_000_000).count() as u64)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn burst_is_the_most_starts_in_one_closed_second() {
        let mut rng = super::super::testutil::SplitMix(7);
        for n in 0..60 {
            let v: Vec<i64> = (0..n)
                .map(|_| (rng.next_u64() % 4_000_000) as i64)
                .collect();
            let mut w = v.clone();
            assert_eq!(burst(&mut w), burst_naive(&v), "{v:?}");
        }
        assert_eq!(burst(&mut [0, 1_000_000, 1_000_001]), 2);
        assert_eq!(burst(&mut [5, 5, 5]), 3);
        assert_eq!(burst(&mut []), 0);
    }
}
