//! The flow table: finds each packet's flow, creates, updates and ends flows.

use super::expiry::{output_order, sort_by_first_index, Due, DueQueue, SweepClock};
use super::fragments::Fragments;
use super::index::FlowIndex;
use super::key::{Direction, Endpoint, FlowKey};
use super::record::{flow_stat, EndReason, Flow};
use super::states::{FlowStates, NoStates};
use crate::decode::{tcp_flags, Decoded};
use crate::packet::PacketView;
use std::collections::VecDeque;
use std::hash::BuildHasher;

/// Settings of the flow table (from [`crate::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct TableConfig {
    /// Idle timeout in microseconds.
    pub idle_us: i64,
    /// Active timeout in microseconds (`None`: off).
    pub active_us: Option<i64>,
    /// End TCP flows on FIN from both sides or RST.
    pub tcp_close: bool,
    /// Most concurrent flows (0: unlimited).
    pub max_flows: usize,
    /// Evictions end the flow that started first (its first packet came
    /// first in the input) instead of the least recently active one.
    pub evict_oldest: bool,
    /// Most concurrent flows the memory budget allows (0: unlimited);
    /// evictions it forces are counted apart ([`FlowTable::evicted_for_memory`]).
    pub memory_flows: usize,
    /// This table's share of the memory budget in bytes (0: none): flows
    /// are also evicted while `live flows × per_flow_bytes` plus the
    /// growing parts of their states ([`FlowStates::heap_bytes`]) exceed it.
    pub memory_bytes: usize,
    /// The fixed cost of one live flow, in bytes (see `memory_bytes`).
    pub per_flow_bytes: usize,
}

impl TableConfig {
    /// The flow count at which a new flow first evicts one (0: never).
    fn limit(&self) -> usize {
        match (self.max_flows, self.memory_flows) {
            (0, m) => m,
            (n, 0) => n,
            (n, m) => n.min(m),
        }
    }

    /// Whether evictions at the limit are the memory budget's doing.
    fn memory_bound(&self) -> bool {
        self.memory_flows > 0 && (self.max_flows == 0 || self.memory_flows < self.max_flows)
    }
}

/// Most flows a table's flow vector leaps to (see `FlowIndex::leap_to`):
/// 768 MiB of address space for 192-byte flows, backed only as used, and
/// within the memory budget, which counts two flows per flow.
const LEAP_FLOWS: usize = 1 << 22;

/// End-event kind of a flow evicted for `max_concurrent_flows`.
pub(crate) const KIND_EVICTED: u8 = 2;
/// End-event kind of a flow evicted for the memory budget (sorts like
/// [`KIND_EVICTED`]: a packet evicts at most one flow).
pub(crate) const KIND_EVICTED_MEMORY: u8 = 3;

/// A TCP-closed flow absorbs trailing packets (last ACK, retransmitted FIN)
/// until it has been idle this long (or `flow_timeout`, if shorter).
pub const CLOSE_LINGER_US: i64 = 5_000_000;

pub(super) type Hasher = foldhash::fast::RandomState;

/// A packet's flow key, orientation and hash, computed ahead so that its
/// lookup can be prefetched ([`FlowTable::prefetch_slot`]).
#[derive(Clone, Copy)]
pub(crate) struct Keyed {
    key: FlowKey,
    src_is_a: bool,
    hash: u64,
}

/// Assembles packets into bidirectional flows.
///
/// Flows live in a dense vector found through an open-addressing index on
/// their 5-tuple's seeded hash (`flow/index.rs`); callers that batch packets
/// (`with_lookahead`) prefetch a packet's slot and flow before its turn,
/// so that the cache misses of several packets overlap. Expiry uses two queues (open flows; TCP-closed flows
/// waiting for trailing packets) that packets never touch: an entry whose
/// flow saw packets since it was queued is re-queued when it reaches the
/// front, so a packet costs one table lookup and its accumulator updates.
pub struct FlowTable<S: FlowStates = NoStates> {
    cfg: TableConfig,
    hasher: Hasher,
    table: FlowIndex,
    queue: [DueQueue; 2],
    frags: Fragments,
    clock: SweepClock,
    /// Index of the packet being processed.
    now_index: u64,
    /// Ended flows not yet taken, in output order.
    finished: Vec<Flow>,
    /// The groups' per-flow states: live ones at their flow's position in
    /// the index, ended ones at their flow's position in `finished`.
    states: S,
    /// With `evict_oldest` and a limit: (first packet index, hash) of the
    /// flows in the order they started, ended ones removed lazily.
    starts: VecDeque<(u64, u64)>,
    peak_flows: usize,
    /// Flows ended early for the memory budget.
    evicted_memory: u64,
    /// When logged: (packet index, +1) for every flow started and
    /// (packet index, −1) for every flow ended before the end of input.
    occupancy: Option<Vec<(u64, i8)>>,
}

impl<S: FlowStates> FlowTable<S> {
    /// A new, empty table whose flows carry `states`.
    pub fn new(cfg: TableConfig, states: S) -> FlowTable<S> {
        // Sized ahead for a user's flow limit only: the memory budget's cap
        // is usually far above what a run holds.
        let cap = if cfg.max_flows > 0 {
            cfg.limit().min(1 << 20)
        } else {
            4096
        };
        let mut table = FlowIndex::with_capacity(cap);
        if cfg.memory_flows > 0 {
            table.leap_to(cfg.limit().min(LEAP_FLOWS));
        }
        FlowTable {
            cfg,
            hasher: Hasher::default(),
            table,
            queue: [DueQueue::default(), DueQueue::default()],
            starts: VecDeque::new(),
            frags: Fragments::default(),
            clock: SweepClock::default(),
            now_index: 0,
            finished: Vec::new(),
            states,
            peak_flows: 0,
            evicted_memory: 0,
            occupancy: None,
        }
    }

    /// Number of flows currently in the table.
    pub fn active(&self) -> usize {
        self.table.len()
    }

    /// Flows ended early because the memory budget was reached.
    pub fn evicted_for_memory(&self) -> u64 {
        self.evicted_memory
    }

    /// Most flows held at once so far.
    pub fn peak(&self) -> usize {
        self.peak_flows
    }

    /// Flows that have ended, in output order; the state of `finished()[i]`
    /// is ended state `i` of [`FlowTable::states`]. Clear or take them after
    /// each call to [`FlowTable::process`] to keep memory bounded.
    pub fn finished(&self) -> &[Flow] {
        &self.finished
    }

    /// The groups' per-flow states.
    pub fn states(&self) -> &S {
        &self.states
    }

    /// Whether that has flows ended since they were last cleared or taken.
    #[inline]
    pub fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    /// Forget the ended flows and their states (after writing them).
    pub fn clear_finished(&mut self) {
        self.finished.clear();
        self.states.clear_ended();
    }

    /// Take the ended flows and their states out.
    pub fn take_finished(&mut self) -> (Vec<Flow>, S::Ended) {
        (std::mem::take(&mut self.finished), self.states.take_ended())
    }

    /// Log the moments flows start and end (see [`FlowTable::take_occupancy`]).
    pub(crate) fn log_occupancy(&mut self) {
        self.occupancy = Some(Vec::new());
    }

    /// The moments logged since the last call: (packet index, +1) for a
    /// flow started, (packet index, −1) for a flow ended. Merged over
    /// several tables, they give the most flows held at once.
    pub(crate) fn take_occupancy(&mut self) -> Vec<(u64, i8)> {
        self.occupancy
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Whether flows carry per-group state (the lookahead then prefetches it).
    #[inline]
    pub(crate) fn has_states(&self) -> bool {
        !self.states.is_empty()
    }

    #[inline]
    fn hash(&self, key: &FlowKey) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Key, orientation and hash of a packet with ports `sport`/`dport`.
    #[inline]
    pub(crate) fn keyed(&self, d: &Decoded, sport: u16, dport: u16) -> Keyed {
        let (key, src_is_a) = FlowKey::new(
            Endpoint {
                addr: d.src,
                port: sport,
            },
            Endpoint {
                addr: d.dst,
                port: dport,
            },
            d.proto,
            d.v6,
        );
        Keyed {
            key,
            src_is_a,
            hash: self.hash(&key),
        }
    }

    /// Start loading the index slot of a packet a few packets ahead.
    #[inline]
    pub(crate) fn prefetch_slot(&self, k: &Keyed) {
        self.table.prefetch_slot(k.hash);
    }

    /// Start loading the flow of a packet a few packets ahead (after
    /// [`FlowTable::prefetch_slot`] for it had time to complete).
    #[inline]
    pub(crate) fn prefetch_flow(&self, k: &Keyed) {
        self.table.prefetch_flow(k.hash);
    }

    /// Start loading the per-group state of a packet's flow a few packets
    /// ahead (its index slot and flow are in cache by then), in two steps
    /// (see [`FlowStates::prefetch`]).
    #[inline]
    pub(crate) fn prefetch_states(&self, k: &Keyed, step: u8) {
        if let Some(pos) = self.table.find(k.hash, &k.key) {
            self.states.prefetch(pos, step);
        }
    }

    /// Account one decoded packet, `index` being its position in the input
    /// and `frame` its captured bytes (may be empty when the groups read
    /// nothing beyond the decoded summary).
    #[inline]
    pub fn process(&mut self, index: u64, ts_us: i64, d: &Decoded, frame: &[u8]) {
        let k = self.keyed(d, d.sport, d.dport);
        self.process_keyed(index, ts_us, d, frame, k);
    }

    /// [`FlowTable::process`] with the key computed ahead from the packet's
    /// own ports (later fragments are re-keyed here).
    #[inline]
    pub(crate) fn process_keyed(
        &mut self,
        index: u64,
        ts_us: i64,
        d: &Decoded,
        frame: &[u8],
        mut k: Keyed,
    ) {
        let (sport, dport) = self.frags.resolve(ts_us, d);
        if (sport, dport) != (d.sport, d.dport) {
            k = self.keyed(d, sport, dport);
        }
        if self.clock.due(ts_us) {
            self.sweep_at(index, ts_us);
        }
        self.account_keyed(index, ts_us, d, frame, k);
    }

    /// End every flow idle for longer than its timeout at time `now_us`,
    /// as seen at packet `index`. [`FlowTable::process`] calls this itself;
    /// sharded runs call it at the moments a [`SweepClock`] over all packets
    /// says.
    pub(crate) fn sweep_at(&mut self, index: u64, now_us: i64) {
        self.now_index = index;
        self.sweep(now_us);
    }

    /// Account a packet whose ports are already resolved (fragments) and
    /// whose sweeps are driven from outside.
    #[inline]
    pub(crate) fn account_keyed(
        &mut self,
        index: u64,
        ts_us: i64,
        d: &Decoded,
        frame: &[u8],
        k: Keyed,
    ) {
        self.now_index = index;
        let Keyed {
            key,
            src_is_a,
            hash,
        } = k;
        let cfg = self.cfg;
        let ending = match self.table.find(hash, &key) {
            None => None,
            Some(pos) => {
                let flow = self.table.get(pos);
                let idle = if flow.closed {
                    cfg.idle_us.min(CLOSE_LINGER_US)
                } else {
                    cfg.idle_us
                };
                if ts_us - flow.end_us > idle {
                    Some(EndReason::IdleTimeout)
                } else if matches!(cfg.active_us, Some(a) if ts_us - flow.first_us > a) {
                    Some(EndReason::ActiveTimeout)
                } else if flow.closed
                    && d.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN
                {
                    Some(EndReason::TcpClose)
                } else {
                    self.update(pos, hash, src_is_a, index, ts_us, d, frame);
                    self.within_budget();
                    return;
                }
            }
        };
        if let Some(reason) = ending {
            self.end(hash, &key, reason, 1);
        }
        let limit = cfg.limit();
        if limit > 0 {
            if self.table.len() >= limit {
                let kind = if cfg.memory_bound() {
                    KIND_EVICTED_MEMORY
                } else {
                    KIND_EVICTED
                };
                if cfg.evict_oldest {
                    self.evict_oldest(kind);
                } else {
                    self.evict(kind);
                }
            }
            self.compact_queues();
        }
        let flow = Flow::new(key, src_is_a, ts_us, index, d.stack, FlowIndex::tag(hash));
        let pos = self.table.insert(hash, flow);
        if let Some(log) = &mut self.occupancy {
            log.push((index, 1));
        }
        if self.has_states() {
            self.states.push();
        }
        self.queue[0].push(Due {
            hash,
            first_index: index,
            stamp_us: ts_us,
        });
        if cfg.evict_oldest && limit > 0 {
            self.starts.push_back((index, hash));
        }
        self.peak_flows = self.peak_flows.max(self.table.len());
        self.update(pos, hash, src_is_a, index, ts_us, d, frame);
        self.within_budget();
    }

    /// Evict flows while the growing parts of the live states (stream
    /// buffers) push the table past its share of the memory budget.
    #[inline]
    fn within_budget(&mut self) {
        let cfg = self.cfg;
        if cfg.memory_bytes == 0 {
            return;
        }
        loop {
            let heap = self.states.heap_bytes();
            if heap == 0
                || self.table.len() <= 1
                || self.table.len() * cfg.per_flow_bytes + heap <= cfg.memory_bytes
            {
                return;
            }
            let before = self.table.len();
            if cfg.evict_oldest {
                self.evict_oldest(KIND_EVICTED_MEMORY);
            } else {
                self.evict(KIND_EVICTED_MEMORY);
            }
            if self.table.len() == before {
                return;
            }
        }
    }

    /// Add a packet to the flow at position `pos`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        pos: usize,
        hash: u64,
        src_is_a: bool,
        index: u64,
        ts_us: i64,
        d: &Decoded,
        frame: &[u8],
    ) {
        let tcp_close = self.cfg.tcp_close;
        let flow = self.table.get_mut(pos);
        let dir = if src_is_a == flow.initiator_is_a {
            Direction::Fwd
        } else {
            Direction::Bwd
        };
        let di = dir as usize;
        flow.packets[di] += 1;
        flow.bytes[di] += u64::from(d.ip_len);
        flow.payload[di] += u64::from(d.payload_len);
        flow.start_us = flow.start_us.min(ts_us);
        flow.end_us = flow.end_us.max(ts_us);
        flow.last_index = index;
        let mut just_closed = false;
        if d.proto == 6 {
            let f = d.tcp_flags;
            let syn = f & tcp_flags::SYN != 0;
            let ack = f & tcp_flags::ACK != 0;
            let mut s = 0;
            if syn && !ack && dir == Direction::Fwd {
                s |= flow_stat::SYN;
            }
            if syn && ack && dir == Direction::Bwd {
                s |= flow_stat::SYN_ACK;
            }
            if f & tcp_flags::FIN != 0 {
                s |= if dir == Direction::Fwd {
                    flow_stat::FIN_FWD
                } else {
                    flow_stat::FIN_BWD
                };
            }
            if f & tcp_flags::RST != 0 {
                s |= flow_stat::RST;
            }
            flow.stat |= s;
            if tcp_close && !flow.closed {
                let st = flow.stat;
                if st & flow_stat::RST != 0
                    || st & (flow_stat::FIN_FWD | flow_stat::FIN_BWD)
                        == (flow_stat::FIN_FWD | flow_stat::FIN_BWD)
                {
                    flow.closed = true;
                    flow.end_reason = EndReason::TcpClose;
                    just_closed = true;
                }
            }
        }
        let first_index = flow.first_index;
        if self.has_states() {
            self.states
                .update(pos, &PacketView::new(ts_us, dir, d, frame));
        }
        if just_closed {
            self.queue[1].push(Due {
                hash,
                first_index,
                stamp_us: ts_us,
            });
        }
    }

    /// End every remaining flow (end of input); they are written in the
    /// order they started.
    pub fn flush(&mut self) {
        let start = self.finished.len();
        let mut rest = self.table.take_all();
        for f in &mut rest {
            f.end_event = (u64::MAX, 0);
        }
        if start == 0 {
            // No copy of every live flow at the end of input.
            self.finished = rest;
        } else {
            self.finished.append(&mut rest);
        }
        if self.has_states() {
            self.states.retire_all();
        }
        self.sort_ended(start);
        self.queue[0].clear();
        self.queue[1].clear();
        self.starts.clear();
        self.frags.clear();
    }

    /// [`FlowTable::flush`] without putting the ended flows in output
    /// order: returns their positions (in [`FlowTable::finished`], and of
    /// their states) in output order instead. At the end of a flow-dense
    /// capture most flows are still open, and permuting them in place costs
    /// more than reading them in that order.
    pub fn flush_ordered(&mut self) -> Vec<usize> {
        if !self.finished.is_empty() {
            self.flush();
            return (0..self.finished.len()).collect();
        }
        let mut rest = self.table.take_all();
        for f in &mut rest {
            f.end_event = (u64::MAX, 0);
        }
        self.finished = rest;
        if self.has_states() {
            self.states.retire_all();
        }
        self.queue[0].clear();
        self.queue[1].clear();
        self.starts.clear();
        self.frags.clear();
        output_order(&self.finished)
    }

    /// Remove the flow of `key` and queue it as finished.
    fn end(&mut self, hash: u64, key: &FlowKey, reason: EndReason, kind: u8) {
        if let Some((pos, mut flow)) = self.table.remove(hash, key) {
            flow.end_event = (self.now_index, kind);
            if !flow.closed {
                flow.end_reason = reason;
            }
            self.finished.push(flow);
            if let Some(log) = &mut self.occupancy {
                log.push((self.now_index, -1));
            }
            if self.has_states() {
                self.states.retire(pos);
            }
            if kind == KIND_EVICTED_MEMORY {
                self.evicted_memory += 1;
            }
        }
    }

    fn idle_of(&self, list: usize) -> i64 {
        if list == 1 {
            self.cfg.idle_us.min(CLOSE_LINGER_US)
        } else {
            self.cfg.idle_us
        }
    }

    /// The last-packet time of the live flow of a queue entry, or `None`
    /// when the entry is stale (flow ended, or an open-queue entry of a flow
    /// that has since closed).
    fn live(&self, list: usize, d: &Due) -> Option<(i64, FlowKey)> {
        let pos = self
            .table
            .find_where(d.hash, |f| f.first_index == d.first_index)?;
        let f = self.table.get(pos);
        (list == 1 || !f.closed).then_some((f.end_us, f.key))
    }

    /// End flows idle for longer than their timeout; flows ending in one
    /// sweep are written in the order they started.
    fn sweep(&mut self, now_us: i64) {
        let start = self.finished.len();
        for list in 0..2 {
            let idle = self.idle_of(list);
            // The heap's least stamp is a lower bound of every queued flow's
            // last packet, so this ends exactly the flows idle too long.
            while let Some(d) = self.queue[list].peek() {
                if now_us - d.stamp_us <= idle {
                    break;
                }
                self.queue[list].pop();
                let Some((end_us, key)) = self.live(list, &d) else {
                    continue;
                };
                if now_us - end_us > idle {
                    self.end(d.hash, &key, EndReason::IdleTimeout, 0);
                } else {
                    self.queue[list].push(Due {
                        stamp_us: end_us,
                        ..d
                    });
                }
            }
        }
        self.sort_ended(start);
    }

    /// Put the flows that ended from `finished[start]` on in the order they
    /// started, their states with them.
    fn sort_ended(&mut self, start: usize) {
        let states = &mut self.states;
        if states.is_empty() {
            sort_by_first_index(&mut self.finished, start, |_, _| {});
        } else {
            sort_by_first_index(&mut self.finished, start, |i, j| {
                states.swap_ended(start + i, start + j)
            });
        }
    }

    /// Drop the queue entries of ended flows once they outnumber the live
    /// flows (plus slack): flows that end other than by the queues (TCP
    /// close, a packet past a timeout, eviction) leave entries behind,
    /// which would otherwise outgrow the flow limit. Amortised O(1) per
    /// new flow (a pass over n entries follows at least n new ones).
    fn compact_queues(&mut self) {
        let slack = self.table.len() + 1024;
        for list in 0..2 {
            if self.queue[list].len() > 2 * slack {
                let mut q = std::mem::take(&mut self.queue[list]);
                q.retain(|d| self.live(list, d).is_some());
                self.queue[list] = q;
            }
        }
        if self.starts.len() > 2 * slack {
            let mut s = std::mem::take(&mut self.starts);
            s.retain(|&(first, hash)| {
                self.table
                    .find_where(hash, |f| f.first_index == first)
                    .is_some()
            });
            self.starts = s;
        }
    }

    /// End the flow that started first (to make room): the front of
    /// `starts` once the entries of flows already ended are dropped.
    /// Amortised O(1): every entry is pushed and popped once.
    fn evict_oldest(&mut self, kind: u8) {
        while let Some((first, hash)) = self.starts.pop_front() {
            if let Some(pos) = self.table.find_where(hash, |f| f.first_index == first) {
                let key = self.table.get(pos).key;
                self.end(hash, &key, EndReason::Evicted, kind);
                return;
            }
        }
    }

    /// End the least recently active flow (to make room).
    fn evict(&mut self, kind: u8) {
        loop {
            // The queue whose least entry is older.
            let mut pick: Option<(usize, i64)> = None;
            for list in 0..2 {
                while let Some(d) = self.queue[list].peek() {
                    if self.live(list, &d).is_some() {
                        if pick.is_none_or(|(_, s)| d.stamp_us < s) {
                            pick = Some((list, d.stamp_us));
                        }
                        break;
                    }
                    self.queue[list].pop();
                }
            }
            let Some((list, _)) = pick else { return };
            let d = self.queue[list].pop().expect("least entry was live");
            let (end_us, key) = self.live(list, &d).expect("least entry was live");
            if end_us > d.stamp_us {
                self.queue[list].push(Due {
                    stamp_us: end_us,
                    ..d
                });
            } else {
                self.end(d.hash, &key, EndReason::Evicted, kind);
                return;
            }
        }
    }
}
