//! The flow table: packets in, finished flows out.
//!
//! Each flow holds accumulators only (counts, sums, first/last times and the
//! per-extractor state), never packets, so memory grows with the number of
//! concurrently active flows, not with the input. Flows end by idle timeout,
//! active timeout, TCP close, eviction or end of input, as `SPEC.md` says.

mod key;

pub use key::{ip_text, to_ip, Direction, Endpoint, FlowKey};

use crate::decode::{tcp_flags, Decoded, Fragment, Stack};
use crate::features::{FlowState, PacketObs};
use hashbrown::HashMap;

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
pub struct Flow {
    /// Canonical 5-tuple.
    pub key: FlowKey,
    /// True when endpoint `a` of the key is the initiator.
    pub initiator_is_a: bool,
    /// Earliest packet timestamp (µs).
    pub start_us: i64,
    /// Latest packet timestamp (µs).
    pub end_us: i64,
    /// Timestamp of the first packet (µs), for the active timeout.
    pub first_us: i64,
    /// Packets per direction.
    pub packets: [u64; 2],
    /// IP-level bytes per direction.
    pub bytes: [u64; 2],
    /// Payload bytes per direction.
    pub payload: [u64; 2],
    /// `flow_stat` bits seen so far (final bits are set by [`Flow::flow_stat`]).
    pub stat: u8,
    /// True once TCP close was seen (with `terminate_on_fin_rst`).
    pub closed: bool,
    /// Decoded stack of the first packet.
    pub stack: Stack,
    /// Index (in the input) of the first packet.
    pub first_index: u64,
    /// Index of the most recent packet.
    pub last_index: u64,
    /// Why the flow ended (`EndOfInput` while open).
    pub end_reason: EndReason,
    /// Per-extractor state, in extractor order.
    pub states: Vec<Box<dyn FlowState>>,
}

impl Flow {
    /// The initiator endpoint.
    pub fn src(&self) -> Endpoint {
        if self.initiator_is_a {
            self.key.a
        } else {
            self.key.b
        }
    }

    /// The responder endpoint.
    pub fn dst(&self) -> Endpoint {
        if self.initiator_is_a {
            self.key.b
        } else {
            self.key.a
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

const NIL: u32 = u32::MAX;

struct Slot {
    flow: Option<Flow>,
    prev: u32,
    next: u32,
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
/// Idle flows are swept at most this often (packet time).
const SWEEP_INTERVAL_US: i64 = 1_000_000;

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Creates the per-extractor state of a new flow.
pub type StateFactory = Box<dyn Fn() -> Vec<Box<dyn FlowState>> + Send + Sync>;

/// Assembles packets into bidirectional flows.
pub struct FlowTable {
    cfg: TableConfig,
    map: Map<FlowKey, u32>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Least recently active flow.
    head: u32,
    /// Most recently active flow.
    tail: u32,
    frags: Map<FragKey, (u16, u16, i64)>,
    next_sweep_us: i64,
    finished: Vec<Flow>,
    new_states: StateFactory,
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
            map: Map::with_capacity_and_hasher(cap, foldhash::fast::RandomState::default()),
            slots: Vec::with_capacity(cap),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            frags: Map::default(),
            next_sweep_us: i64::MIN,
            finished: Vec::new(),
            new_states,
            peak_flows: 0,
        }
    }

    /// Number of flows currently in the table.
    pub fn active(&self) -> usize {
        self.map.len()
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

    /// Account one decoded packet, `index` being its position in the input.
    #[inline]
    pub fn process(&mut self, index: u64, ts_us: i64, d: &Decoded) {
        let (mut sport, mut dport) = (d.sport, d.dport);
        match d.fragment {
            Fragment::None => {}
            Fragment::First { id } => self.remember_fragment(d, id, ts_us),
            Fragment::Later { id } => {
                let fk = FragKey {
                    src: d.src,
                    dst: d.dst,
                    id,
                    proto: d.proto,
                    v6: d.v6,
                };
                if let Some(&(s, p, _)) = self.frags.get(&fk) {
                    sport = s;
                    dport = p;
                }
            }
        }
        if ts_us >= self.next_sweep_us {
            self.sweep(ts_us);
            self.next_sweep_us = ts_us.saturating_add(SWEEP_INTERVAL_US);
        }
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
        let slot = match self.map.get(&key) {
            Some(&slot) => {
                let flow = self.slots[slot as usize]
                    .flow
                    .as_ref()
                    .expect("mapped slot holds a flow");
                let ending = if ts_us - flow.end_us > self.cfg.idle_us {
                    Some(EndReason::IdleTimeout)
                } else if matches!(self.cfg.active_us, Some(a) if ts_us - flow.first_us > a) {
                    Some(EndReason::ActiveTimeout)
                } else if flow.closed
                    && d.tcp_flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN
                {
                    Some(EndReason::TcpClose)
                } else {
                    None
                };
                match ending {
                    None => {
                        self.touch(slot);
                        slot
                    }
                    Some(reason) => {
                        self.end_slot(slot, reason);
                        self.create(key, src_is_a, index, ts_us, d)
                    }
                }
            }
            None => self.create(key, src_is_a, index, ts_us, d),
        };
        let tcp_close = self.cfg.tcp_close;
        let flow = self.slots[slot as usize]
            .flow
            .as_mut()
            .expect("slot holds a flow");
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
    }

    /// End every remaining flow (end of input), oldest first.
    pub fn flush(&mut self) {
        let start = self.finished.len();
        while self.head != NIL {
            let h = self.head;
            self.end_slot(h, EndReason::EndOfInput);
        }
        self.finished[start..].sort_by_key(|f| f.first_index);
        self.frags.clear();
    }

    fn remember_fragment(&mut self, d: &Decoded, id: u32, ts_us: i64) {
        if self.frags.len() >= MAX_FRAGMENTS {
            self.frags
                .retain(|_, v| ts_us.saturating_sub(v.2) <= FRAGMENT_TTL_US);
            if self.frags.len() >= MAX_FRAGMENTS {
                self.frags.clear();
            }
        }
        self.frags.insert(
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

    /// End flows idle for longer than the timeout, least recently active first.
    fn sweep(&mut self, now_us: i64) {
        let start = self.finished.len();
        while self.head != NIL {
            let h = self.head;
            let end_us = self.slots[h as usize]
                .flow
                .as_ref()
                .expect("listed slot holds a flow")
                .end_us;
            if now_us - end_us > self.cfg.idle_us {
                self.end_slot(h, EndReason::IdleTimeout);
            } else {
                break;
            }
        }
        self.finished[start..].sort_by_key(|f| f.first_index);
    }

    fn create(&mut self, key: FlowKey, src_is_a: bool, index: u64, ts_us: i64, d: &Decoded) -> u32 {
        if self.cfg.max_flows > 0 && self.map.len() >= self.cfg.max_flows && self.head != NIL {
            let h = self.head;
            self.end_slot(h, EndReason::Evicted);
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
            states: (self.new_states)(),
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize].flow = Some(flow);
                s
            }
            None => {
                self.slots.push(Slot {
                    flow: Some(flow),
                    prev: NIL,
                    next: NIL,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.link_tail(slot);
        self.map.insert(key, slot);
        self.peak_flows = self.peak_flows.max(self.map.len());
        slot
    }

    fn end_slot(&mut self, slot: u32, reason: EndReason) {
        self.unlink(slot);
        let mut flow = self.slots[slot as usize]
            .flow
            .take()
            .expect("ending slot holds a flow");
        self.map.remove(&flow.key);
        self.free.push(slot);
        if !flow.closed {
            flow.end_reason = reason;
        }
        self.finished.push(flow);
    }

    #[inline]
    fn touch(&mut self, slot: u32) {
        if self.tail != slot {
            self.unlink(slot);
            self.link_tail(slot);
        }
    }

    #[inline]
    fn unlink(&mut self, slot: u32) {
        let (prev, next) = {
            let s = &self.slots[slot as usize];
            (s.prev, s.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[slot as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    #[inline]
    fn link_tail(&mut self, slot: u32) {
        let old = self.tail;
        {
            let s = &mut self.slots[slot as usize];
            s.prev = old;
            s.next = NIL;
        }
        if old == NIL {
            self.head = slot;
        } else {
            self.slots[old as usize].next = slot;
        }
        self.tail = slot;
    }
}
