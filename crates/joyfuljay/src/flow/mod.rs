//! The flow table: packets in, finished flows out.
//!
//! Each flow holds accumulators only (counts, sums, first/last times and the
//! per-extractor state), never packets, so memory grows with the number of
//! concurrently active flows, not with the input. Flows end by idle timeout,
//! active timeout, TCP close, eviction or end of input, as `SPEC.md` says.

mod index;
mod key;

pub use key::{ip_text, to_ip, Direction, Endpoint, FlowKey};

use crate::decode::{tcp_flags, Decoded, Fragment, Stack};
use crate::features::{FlowState, PacketObs};
use crate::hint::prefetch;
use hashbrown::HashMap;
use index::FlowIndex;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hash::BuildHasher;

/// `flow_stat` bits.
pub mod flow_stat {
    /// SYN (without ACK) from the initiator.
    pub const SYN: u8 = 0x01;
    /// SYN-ACK from the responder.
    pub const SYN_ACK: u8 = 0x02;
    /// FIN from the initiator.
    pub const FIN_FWD: u8 = 0x04;
    /// FIN from the responder.
    pub const FIN_BWD: u8 = 0x08;
    /// RST from either side.
    pub const RST: u8 = 0x10;
    /// Ended by a timeout (idle or active) or by eviction.
    pub const TIMEOUT: u8 = 0x20;
    /// Proper termination: handshake seen, then FIN from both sides or an RST.
    pub const PROPER_CLOSE: u8 = 0x40;
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for longer than `flow_timeout`.
    IdleTimeout,
    /// The flow lasted longer than `active_timeout`.
    ActiveTimeout,
    /// TCP FIN from both sides, or RST.
    TcpClose,
    /// Evicted to respect `max_concurrent_flows`.
    Evicted,
    /// Still open when the input ended.
    EndOfInput,
}

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
}

/// A flow: its key, orientation and accumulators.
#[repr(C, align(64))]
pub struct Flow {
    // Hot: read or written by every packet, first so that one lookup touches
    // as few cache lines as possible (the table is memory-bound).
    /// Canonical 5-tuple.
    pub key: FlowKey,
    /// Latest packet timestamp (µs).
    pub end_us: i64,
    /// True when endpoint `a` of the key is the initiator.
    pub initiator_is_a: bool,
    /// `flow_stat` bits seen so far (final bits are set by [`Flow::flow_stat`]).
    pub stat: u8,
    /// True once TCP close was seen (with `terminate_on_fin_rst`).
    pub closed: bool,
    /// Why the flow ended (`EndOfInput` while open).
    pub end_reason: EndReason,
    /// The table index's hash part of `key` (fills what would be padding).
    pub(crate) index_tag: u32,
    /// Packets per direction.
    pub packets: [u64; 2],
    /// IP-level bytes per direction.
    pub bytes: [u64; 2],
    /// Payload bytes per direction.
    pub payload: [u64; 2],
    /// Earliest packet timestamp (µs).
    pub start_us: i64,
    /// Index of the most recent packet.
    pub last_index: u64,
    // Cold: set once, or read when the flow ends.
    /// Timestamp of the first packet (µs), for the active timeout.
    pub first_us: i64,
    /// Index (in the input) of the first packet.
    pub first_index: u64,
    /// Index of the packet at which the flow ended, and the kind of end (see
    /// [`EndTag`]).
    pub end_event: (u64, u8),
    /// Per-extractor state, in extractor order.
    pub states: Vec<Box<dyn FlowState>>,
    /// Decoded stack of the first packet.
    pub stack: Stack,
}

impl Flow {
    /// The initiator endpoint.
    pub fn src(&self) -> Endpoint {
        if self.initiator_is_a {
            self.key.a()
        } else {
            self.key.b()
        }
    }

    /// The responder endpoint.
    pub fn dst(&self) -> Endpoint {
        if self.initiator_is_a {
            self.key.b()
        } else {
            self.key.a()
        }
    }

    /// Total packets in both directions.
    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    /// Total IP-level bytes in both directions.
    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }

    /// The flow's place in the output order.
    pub fn end_tag(&self) -> EndTag {
        EndTag {
            event: self.end_event.0,
            kind: self.end_event.1,
            first_index: self.first_index,
        }
    }

    /// The final `flow_stat` bitmap.
    pub fn flow_stat(&self) -> u8 {
        let mut s = self.stat;
        let handshake =
            s & (flow_stat::SYN | flow_stat::SYN_ACK) == (flow_stat::SYN | flow_stat::SYN_ACK);
        let both_fin = s & (flow_stat::FIN_FWD | flow_stat::FIN_BWD)
            == (flow_stat::FIN_FWD | flow_stat::FIN_BWD);
        if handshake && (both_fin || s & flow_stat::RST != 0) {
            s |= flow_stat::PROPER_CLOSE;
        }
        if matches!(
            self.end_reason,
            EndReason::IdleTimeout | EndReason::ActiveTimeout | EndReason::Evicted
        ) {
            s |= flow_stat::TIMEOUT;
        }
        s
    }
}

/// An expiry-queue entry: the flow (its first packet index, which
/// identifies it among the live flows, and its key's hash, to find it) and
/// a time no later than its last packet when it was queued. Ordered by that
/// time (then by flow). 24 bytes: there is one per live flow.
#[derive(Clone, Copy)]
struct Due {
    stamp_us: i64,
    first_index: u64,
    hash: u64,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.stamp_us, self.first_index) == (o.stamp_us, o.first_index)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.stamp_us, self.first_index).cmp(&(o.stamp_us, o.first_index))
    }
}

/// A min-queue of [`Due`] entries. Flows are queued in packet-time order
/// almost always, so entries go to a FIFO while their stamps do not
/// decrease (O(1)), and to a min-heap otherwise (out-of-order timestamps,
/// re-queued flows); the least entry is the smaller of both fronts.
#[derive(Default)]
struct DueQueue {
    fifo: VecDeque<Due>,
    heap: BinaryHeap<Reverse<Due>>,
}

impl DueQueue {
    fn push(&mut self, d: Due) {
        if self.fifo.back().is_none_or(|b| *b <= d) {
            self.fifo.push_back(d);
        } else {
            self.heap.push(Reverse(d));
        }
    }

    /// The least entry, and whether it is the FIFO's.
    fn least(&self) -> Option<(Due, bool)> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(f), Some(Reverse(h))) if h < f => Some((*h, false)),
            (Some(f), _) => Some((*f, true)),
            (None, Some(Reverse(h))) => Some((*h, false)),
            (None, None) => None,
        }
    }

    fn peek(&self) -> Option<Due> {
        self.least().map(|(d, _)| d)
    }

    fn pop(&mut self) -> Option<Due> {
        let (_, in_fifo) = self.least()?;
        if in_fifo {
            self.fifo.pop_front()
        } else {
            self.heap.pop().map(|Reverse(d)| d)
        }
    }

    fn clear(&mut self) {
        self.fifo.clear();
        self.heap.clear();
    }
}

/// Where a flow's end stands in the output order: flows are written by the
/// packet index at which they ended, then by kind (idle sweep before the
/// arriving packet's own flow before an eviction), then by first packet.
/// The order does not depend on how flows are spread over threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EndTag {
    /// Index of the packet at which the flow ended (`u64::MAX`: end of input).
    pub event: u64,
    /// 0: idle sweep or end of input; 1: ended by a packet of its own
    /// 5-tuple; 2: evicted.
    pub kind: u8,
    /// Index of the flow's first packet.
    pub first_index: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FragKey {
    src: u128,
    dst: u128,
    id: u32,
    proto: u8,
    v6: bool,
}

/// Most fragment-to-ports entries remembered at once.
const MAX_FRAGMENTS: usize = 65_536;
/// Fragment entries older than this (packet time) may be forgotten.
const FRAGMENT_TTL_US: i64 = 60_000_000;
/// A TCP-closed flow absorbs trailing packets (last ACK, retransmitted FIN)
/// until it has been idle this long (or `flow_timeout`, if shorter).
pub const CLOSE_LINGER_US: i64 = 5_000_000;
/// Idle flows are swept at most this often (packet time).
const SWEEP_INTERVAL_US: i64 = 1_000_000;

type Hasher = foldhash::fast::RandomState;

/// A packet's flow key, orientation and hash, computed ahead so that its
/// lookup can be prefetched ([`FlowTable::prefetch_slot`]).
#[derive(Clone, Copy)]
pub(crate) struct Keyed {
    key: FlowKey,
    src_is_a: bool,
    hash: u64,
}

/// Creates the per-extractor state of a new flow.
pub type StateFactory = Box<dyn Fn() -> Vec<Box<dyn FlowState>> + Send + Sync>;

/// Assembles packets into bidirectional flows.
///
/// Flows live in a dense vector found through an open-addressing index on
/// their 5-tuple's seeded hash (`flow/index.rs`); callers that batch packets
/// (`with_lookahead`) prefetch a packet's slot and flow before its turn,
/// so that the cache misses of several packets overlap. Expiry uses two queues (open flows; TCP-closed flows
/// waiting for trailing packets) that packets never touch: an entry whose
/// flow saw packets since it was queued is re-queued when it reaches the
/// front, so a packet costs one table lookup and its accumulator updates.
pub struct FlowTable {
    cfg: TableConfig,
    hasher: Hasher,
    table: FlowIndex,
    queue: [DueQueue; 2],
    frags: Fragments,
    clock: SweepClock,
    /// Index of the packet being processed.
    now_index: u64,
    finished: Vec<Flow>,
    new_states: StateFactory,
    /// Whether flows carry per-group state (timing, size); the lookahead
    /// then prefetches it too.
    has_states: bool,
    peak_flows: usize,
}

impl FlowTable {
    /// A new, empty table.
    pub fn new(cfg: TableConfig, new_states: StateFactory) -> FlowTable {
        let cap = if cfg.max_flows > 0 {
            cfg.max_flows.min(1 << 20)
        } else {
            4096
        };
        FlowTable {
            cfg,
            hasher: Hasher::default(),
            table: FlowIndex::with_capacity(cap),
            queue: [DueQueue::default(), DueQueue::default()],
            frags: Fragments::default(),
            clock: SweepClock::default(),
            now_index: 0,
            finished: Vec::new(),
            has_states: !new_states().is_empty(),
            new_states,
            peak_flows: 0,
        }
    }

    /// Number of flows currently in the table.
    pub fn active(&self) -> usize {
        self.table.len()
    }

    /// Most flows held at once so far.
    pub fn peak(&self) -> usize {
        self.peak_flows
    }

    /// Flows that have ended, in the order they ended. Drain after each call to
    /// [`FlowTable::process`] to keep memory bounded.
    pub fn finished(&mut self) -> &mut Vec<Flow> {
        &mut self.finished
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
    /// ahead, in three steps that each follow a pointer the previous step
    /// brought in: 0, the flow's list of states; 1, the states; 2, what
    /// each state's next update reads beyond itself.
    #[inline]
    pub(crate) fn prefetch_states(&self, k: &Keyed, step: u8) {
        let Some(pos) = self.table.find(k.hash, &k.key) else {
            return;
        };
        let states = &self.table.get(pos).states;
        match step {
            0 => prefetch(states.as_ptr()),
            1 => {
                for s in states {
                    let p = (&**s as *const dyn FlowState).cast::<u8>();
                    for line in 0..STATE_LINES {
                        prefetch(p.wrapping_add(64 * line));
                    }
                }
            }
            _ => {
                for s in states {
                    s.prefetch();
                }
            }
        }
    }

    /// Account one decoded packet, `index` being its position in the input.
    #[inline]
    pub fn process(&mut self, index: u64, ts_us: i64, d: &Decoded) {
        let k = self.keyed(d, d.sport, d.dport);
        self.process_keyed(index, ts_us, d, k);
    }

    /// [`FlowTable::process`] with the key computed ahead from the packet's
    /// own ports (later fragments are re-keyed here).
    #[inline]
    pub(crate) fn process_keyed(&mut self, index: u64, ts_us: i64, d: &Decoded, mut k: Keyed) {
        let (sport, dport) = self.frags.resolve(ts_us, d);
        if (sport, dport) != (d.sport, d.dport) {
            k = self.keyed(d, sport, dport);
        }
        if self.clock.due(ts_us) {
            self.sweep_at(index, ts_us);
        }
        self.account_keyed(index, ts_us, d, k);
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
    pub(crate) fn account_keyed(&mut self, index: u64, ts_us: i64, d: &Decoded, k: Keyed) {
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
                    return self.update(pos, hash, src_is_a, index, ts_us, d);
                }
            }
        };
        if let Some(reason) = ending {
            self.end(hash, &key, reason, 1);
        }
        if cfg.max_flows > 0 && self.table.len() >= cfg.max_flows {
            self.evict();
        }
        let flow = Flow {
            key,
            initiator_is_a: src_is_a,
            start_us: ts_us,
            end_us: ts_us,
            first_us: ts_us,
            packets: [0; 2],
            bytes: [0; 2],
            payload: [0; 2],
            stat: 0,
            closed: false,
            stack: d.stack,
            first_index: index,
            last_index: index,
            end_reason: EndReason::EndOfInput,
            end_event: (u64::MAX, 0),
            states: (self.new_states)(),
            index_tag: FlowIndex::tag(hash),
        };
        let pos = self.table.insert(hash, flow);
        self.queue[0].push(Due {
            hash,
            first_index: index,
            stamp_us: ts_us,
        });
        self.peak_flows = self.peak_flows.max(self.table.len());
        self.update(pos, hash, src_is_a, index, ts_us, d);
    }

    /// Add a packet to the flow at position `pos`.
    #[inline]
    fn update(
        &mut self,
        pos: usize,
        hash: u64,
        src_is_a: bool,
        index: u64,
        ts_us: i64,
        d: &Decoded,
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
        if !flow.states.is_empty() {
            let obs = PacketObs {
                ts_us,
                dir,
                ip_len: d.ip_len,
                payload_len: d.payload_len,
                tcp_flags: d.tcp_flags,
            };
            for s in flow.states.iter_mut() {
                s.update(&obs);
            }
        }
        if just_closed {
            let first_index = flow.first_index;
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
        self.finished.extend(self.table.drain().map(|mut f| {
            f.end_event = (u64::MAX, 0);
            f
        }));
        sort_by_first_index(&mut self.finished, start);
        self.queue[0].clear();
        self.queue[1].clear();
        self.frags.clear();
    }

    /// Remove the flow of `key` and queue it as finished.
    fn end(&mut self, hash: u64, key: &FlowKey, reason: EndReason, kind: u8) {
        if let Some(mut flow) = self.table.remove(hash, key) {
            flow.end_event = (self.now_index, kind);
            if !flow.closed {
                flow.end_reason = reason;
            }
            self.finished.push(flow);
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
        sort_by_first_index(&mut self.finished, start);
    }

    /// End the least recently active flow (to make room).
    fn evict(&mut self) {
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
                self.end(d.hash, &key, EndReason::Evicted, 2);
                return;
            }
        }
    }
}

/// Sort `v[start..]` by first packet index (distinct within a table) in
/// place: the order is computed on (index, position) pairs, then applied
/// by following its cycles, so each 192-byte flow moves a fixed number of
/// times and no second copy of the flows is needed (at the end of input
/// that would double the memory of every live flow).
fn sort_by_first_index(v: &mut [Flow], start: usize) {
    let v = &mut v[start..];
    if v.len() < 2 {
        return;
    }
    let mut order: Vec<(u64, usize)> = v
        .iter()
        .enumerate()
        .map(|(i, f)| (f.first_index, i))
        .collect();
    order.sort_unstable();
    // Position i receives the flow now at order[i].1.
    let mut placed = vec![false; v.len()];
    for i in 0..v.len() {
        if placed[i] {
            continue;
        }
        let mut j = i;
        loop {
            placed[j] = true;
            let k = order[j].1;
            if k == i {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

/// Packets between computing a packet's key (and prefetching its index
/// slot) and looking it up.
const SLOT_AHEAD: usize = 32;
/// Packets between prefetching a packet's flow and looking it up.
const FLOW_AHEAD: usize = 8;
const RING: usize = 64;
/// Packets between the three steps of prefetching per-group state.
const STATES_AHEAD: [usize; 3] = [6, 3, 1];
/// Cache lines of a state prefetched (timing's state spans about seven).
const STATE_LINES: usize = 8;

/// Run `each` over `items` in order, with the flow-table lookups of later
/// items prefetched a few items ahead, so that the cache misses of up to
/// [`SLOT_AHEAD`] packets overlap instead of stalling one after another.
/// `key_of` gives an item's key (`None`: no lookup, e.g. a sweep); `each`
/// gets the item with that key.
#[inline]
pub(crate) fn with_lookahead<T>(
    table: &mut FlowTable,
    items: &[T],
    key_of: impl Fn(&FlowTable, &T) -> Option<Keyed>,
    mut each: impl FnMut(&mut FlowTable, &T, Option<Keyed>),
) {
    let n = items.len();
    let mut ring: [Option<Keyed>; RING] = [None; RING];
    for (j, it) in items.iter().enumerate().take(SLOT_AHEAD) {
        ring[j] = key_of(table, it);
        if let Some(k) = &ring[j] {
            table.prefetch_slot(k);
        }
    }
    for (i, it) in items.iter().enumerate() {
        if let Some(ahead) = items.get(i + SLOT_AHEAD) {
            let k = key_of(table, ahead);
            if let Some(k) = &k {
                table.prefetch_slot(k);
            }
            ring[(i + SLOT_AHEAD) % RING] = k;
        }
        if i + FLOW_AHEAD < n {
            if let Some(k) = &ring[(i + FLOW_AHEAD) % RING] {
                table.prefetch_flow(k);
            }
        }
        if table.has_states {
            for (step, ahead) in STATES_AHEAD.iter().enumerate() {
                if i + ahead < n {
                    if let Some(k) = &ring[(i + ahead) % RING] {
                        table.prefetch_states(k, step as u8);
                    }
                }
            }
        }
        each(table, it, ring[i % RING]);
    }
}

/// When idle flows are swept: at the first packet, then at the first packet
/// at least `SWEEP_INTERVAL_US` (1 s) after the previous sweep (packet time).
#[derive(Debug, Clone)]
pub struct SweepClock {
    next_us: i64,
}

impl Default for SweepClock {
    fn default() -> Self {
        SweepClock { next_us: i64::MIN }
    }
}

impl SweepClock {
    /// Whether a packet at `ts_us` triggers a sweep (and if so, schedule the next).
    #[inline]
    pub(crate) fn due(&mut self, ts_us: i64) -> bool {
        if ts_us >= self.next_us {
            self.next_us = ts_us.saturating_add(SWEEP_INTERVAL_US);
            true
        } else {
            false
        }
    }
}

/// Remembers the ports of first IP fragments so that later fragments of the
/// same datagram (same source, destination, protocol and id) join its flow.
#[derive(Default)]
pub struct Fragments {
    map: HashMap<FragKey, (u16, u16, i64), Hasher>,
}

impl Fragments {
    /// The ports to key packet `d` on.
    #[inline]
    pub(crate) fn resolve(&mut self, ts_us: i64, d: &Decoded) -> (u16, u16) {
        match d.fragment {
            Fragment::None => (d.sport, d.dport),
            Fragment::First { id } => {
                self.remember(d, id, ts_us);
                (d.sport, d.dport)
            }
            Fragment::Later { id } => {
                let fk = FragKey {
                    src: d.src,
                    dst: d.dst,
                    id,
                    proto: d.proto,
                    v6: d.v6,
                };
                self.map
                    .get(&fk)
                    .map_or((d.sport, d.dport), |&(s, p, _)| (s, p))
            }
        }
    }

    fn remember(&mut self, d: &Decoded, id: u32, ts_us: i64) {
        if self.map.len() >= MAX_FRAGMENTS {
            self.map
                .retain(|_, v| ts_us.saturating_sub(v.2) <= FRAGMENT_TTL_US);
            if self.map.len() >= MAX_FRAGMENTS {
                self.map.clear();
            }
        }
        self.map.insert(
            FragKey {
                src: d.src,
                dst: d.dst,
                id,
                proto: d.proto,
                v6: d.v6,
            },
            (d.sport, d.dport, ts_us),
        );
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(stamp_us: i64, first_index: u64) -> Due {
        Due {
            stamp_us,
            first_index,
            hash: first_index.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
    }

    /// In-place sorting by first index keeps every flow once, in order,
    /// and leaves the prefix alone.
    #[test]
    fn flows_sort_by_first_index_in_place() {
        let mut rng = 0x1234_5678_9abc_def1u64;
        for n in [0usize, 1, 2, 3, 10, 257] {
            let mut firsts: Vec<u64> = (0..n as u64).map(|i| i * 7 + 3).collect();
            for i in (1..firsts.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                firsts.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            let flow = |first: u64| {
                let mut f = crate::features::testutil::flow_of(&[]);
                f.first_index = first;
                f.last_index = first.wrapping_mul(2);
                f
            };
            let mut v: Vec<Flow> = [u64::MAX, 0].into_iter().map(flow).collect();
            v.extend(firsts.iter().map(|&x| flow(x)));
            sort_by_first_index(&mut v, 2);
            assert_eq!(v[0].first_index, u64::MAX);
            assert_eq!(v[1].first_index, 0);
            let got: Vec<u64> = v[2..].iter().map(|f| f.first_index).collect();
            let want: Vec<u64> = (0..n as u64).map(|i| i * 7 + 3).collect();
            assert_eq!(got, want, "n = {n}");
            // Each flow moved whole.
            assert!(v
                .iter()
                .all(|f| f.last_index == f.first_index.wrapping_mul(2)));
        }
    }

    /// The FIFO-plus-heap queue pops exactly what a plain min-heap pops,
    /// for mostly ordered stamps with some going back in time.
    #[test]
    fn due_queue_pops_like_a_min_heap() {
        let mut q = DueQueue::default();
        let mut model: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut now = 0i64;
        let mut fifo_pushes = 0;
        for i in 0..50_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            match rng % 10 {
                0..=5 => {
                    now += (rng >> 8) as i64 % 50;
                    // One in eight goes back in time.
                    let stamp = if (rng >> 20).is_multiple_of(8) {
                        now - (rng >> 24) as i64 % 500
                    } else {
                        now
                    };
                    let before = q.fifo.len();
                    q.push(due(stamp, i));
                    fifo_pushes += usize::from(q.fifo.len() > before);
                    model.push(Reverse((stamp, i)));
                }
                6..=8 => {
                    let got = q.pop().map(|d| (d.stamp_us, d.first_index));
                    assert_eq!(got, model.pop().map(|Reverse(x)| x), "pop {i}");
                }
                _ => {
                    let got = q.peek().map(|d| (d.stamp_us, d.first_index));
                    assert_eq!(got, model.peek().map(|Reverse(x)| *x), "peek {i}");
                }
            }
        }
        // Both paths were exercised.
        assert!(fifo_pushes > 10_000, "{fifo_pushes} FIFO pushes");
        assert!(fifo_pushes < 29_000, "{fifo_pushes} FIFO pushes");
        while let Some(Reverse(x)) = model.pop() {
            assert_eq!(q.pop().map(|d| (d.stamp_us, d.first_index)), Some(x));
        }
        assert!(q.pop().is_none());
    }
}
