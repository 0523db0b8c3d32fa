//! The feature-group trait, what a group declares it needs, and how its
//! per-flow state is kept.
//!
//! A group is configured once per run (its settings live in the group
//! value, shared by reference) and keeps a typed per-flow
//! [`FeatureGroup::State`]. The states of one group live in a dense arena
//! (`Vec<State>`) beside the flow table's flow vector and follow the
//! table's moves ([`crate::flow::FlowStates`]), so a packet's update is an
//! indexed write: no box per flow, no downcast, no copy of the settings per
//! flow. A group whose state is zero-sized (`()`) computes its columns from
//! the flow's common accumulators alone: it gets no arena and no calls
//! per packet.
//!
//! Most flows are short (real traffic is mostly flows of 2–4 packets), so
//! a group that reads only the decoded summary ([`Needs::SUMMARY`]) gets
//! its state late: the table keeps the first [`DEFERRED_PACKETS`] packets
//! of each flow as summaries ([`Recent`], shared by all such groups), and
//! only a flow that grows past them gets the groups' states, built by
//! replaying those packets in order. A shorter flow's values are computed
//! at its end by the same replay, into a state on the stack. Replay runs
//! the group's own `update`, in the same order, so the values are those of
//! an eager state, bit for bit; short flows cost such a group no memory and
//! no work per packet.

use super::row::RowWriter;
use crate::decode::{Decoded, Fragment};
use crate::flow::{Direction, Flow, FlowStates};
use crate::hint::prefetch;
use crate::packet::PacketView;
use std::sync::Arc;

/// Packets of a flow kept as summaries before the states of summary-only
/// groups are built (see the module documentation).
pub const DEFERRED_PACKETS: usize = 4;

/// The first [`DEFERRED_PACKETS`] packets of a flow, as summaries: what a
/// summary-only group's `update` reads of them. 72 bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recent {
    ts_us: [i64; DEFERRED_PACKETS],
    ip_len: [u32; DEFERRED_PACKETS],
    payload_len: [u32; DEFERRED_PACKETS],
    tcp_flags: [u8; DEFERRED_PACKETS],
    /// Bit `i`: packet `i` went responder → initiator.
    bwd: u8,
    /// Packets of the flow seen so far, saturating at `DEFERRED_PACKETS + 1`
    /// (past the buffer: the deferred states exist).
    n: u8,
}

impl Recent {
    #[inline]
    fn push(&mut self, pkt: &PacketView<'_>) {
        let i = self.n as usize;
        self.ts_us[i] = pkt.ts_us;
        self.ip_len[i] = pkt.ip_len();
        self.payload_len[i] = pkt.payload_len();
        self.tcp_flags[i] = pkt.tcp_flags();
        self.bwd |= (pkt.dir as u8) << i;
        self.n += 1;
    }

    /// Whether the flow outgrew the buffer (its deferred states exist).
    #[inline]
    fn spilled(&self) -> bool {
        self.n as usize > DEFERRED_PACKETS
    }

    /// Feed the buffered packets, in order, to `f`, as views whose decoded
    /// summary is `like` with the packet's own lengths and flags, and its
    /// addresses and ports turned to the packet's direction (`like` being a
    /// packet in direction `like_dir`).
    fn replay(&self, like: &Decoded, like_dir: Direction, mut f: impl FnMut(&PacketView<'_>)) {
        for i in 0..(self.n as usize).min(DEFERRED_PACKETS) {
            let dir = if self.bwd >> i & 1 == 1 {
                Direction::Bwd
            } else {
                Direction::Fwd
            };
            let mut d = *like;
            if dir != like_dir {
                std::mem::swap(&mut d.src, &mut d.dst);
                std::mem::swap(&mut d.sport, &mut d.dport);
            }
            d.ip_len = self.ip_len[i];
            d.payload_len = self.payload_len[i];
            d.tcp_flags = self.tcp_flags[i];
            d.fragment = Fragment::None;
            f(&PacketView::new(self.ts_us[i], dir, &d, &[]));
        }
    }
}

/// A decoded summary of a packet from the initiator of `flow` (for
/// replaying buffered packets at the flow's end).
fn initiator_packet(flow: &Flow) -> Decoded {
    let (src, dst) = (flow.src(), flow.dst());
    Decoded {
        src: src.addr,
        dst: dst.addr,
        v6: flow.key.v6,
        sport: src.port,
        dport: dst.port,
        proto: flow.key.proto,
        ip_len: 0,
        payload_len: 0,
        tcp_flags: 0,
        fragment: Fragment::None,
        l3_off: 0,
        l4_off: 0,
        payload_off: 0,
        stack: flow.stack,
    }
}

/// What a group reads beyond the decoded summary (time, direction,
/// lengths, TCP flags), so that a run does only the work its selected
/// groups need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// Header details (`PacketView::tcp`, `PacketView::ipv4`, MACs, …):
    /// the frame's header bytes must reach the group.
    pub headers: bool,
    /// Transport payload bytes of each packet, at most this many
    /// (`PacketView::payload`); 0: none. A group that stops after a
    /// per-flow budget keeps that budget itself.
    pub payload_bytes: u32,
    /// The first this many bytes of each direction of a TCP connection,
    /// in sequence order ([`crate::packet::stream::StreamStart`]); 0: none.
    pub stream_start: u32,
    /// The group's columns depend on every flow of the input (host-level
    /// statistics), not on its own packets alone.
    pub whole_input: bool,
}

impl Needs {
    /// The decoded summary only: the default.
    pub const SUMMARY: Needs = Needs {
        headers: false,
        payload_bytes: 0,
        stream_start: 0,
        whole_input: false,
    };

    /// What two groups need together.
    pub fn union(self, o: Needs) -> Needs {
        Needs {
            headers: self.headers || o.headers,
            payload_bytes: self.payload_bytes.max(o.payload_bytes),
            stream_start: self.stream_start.max(o.stream_start),
            whole_input: self.whole_input || o.whole_input,
        }
    }

    /// Whether the groups read the frame's bytes at all (otherwise frames
    /// need not be kept or carried between threads).
    pub fn frame_bytes(self) -> bool {
        self.headers || self.payload_bytes > 0 || self.stream_start > 0
    }
}

/// A finished flow as a group's `write` sees it.
#[derive(Clone, Copy)]
pub struct FlowView<'a> {
    /// The flow's key, orientation and common accumulators.
    pub flow: &'a Flow,
}

impl std::ops::Deref for FlowView<'_> {
    type Target = Flow;
    fn deref(&self) -> &Flow {
        self.flow
    }
}

/// A feature group configured for one run.
///
/// Implement this, describe the columns in a `COLUMNS` table, and add a
/// [`super::GroupDef`] line to [`super::GROUPS`]: that is the whole of
/// adding a group (README, "Adding a feature group").
pub trait FeatureGroup: Send + Sync + Sized + 'static {
    /// Per-flow state; `()` for groups computed from the flow's common
    /// accumulators alone (they then cost nothing per packet).
    type State: Send + 'static;

    /// What the group reads beyond the decoded summary.
    fn needs(&self) -> Needs {
        Needs::SUMMARY
    }

    /// The state of a new flow.
    fn new_state(&self) -> Self::State;

    /// Account one packet of the flow.
    fn update(&self, state: &mut Self::State, pkt: &PacketView<'_>);

    /// Start loading memory the next [`FeatureGroup::update`] reads outside
    /// the state itself (the end of a growing list, …), so that the cache
    /// miss overlaps other packets' work. A hint only.
    fn prefetch(&self, _state: &Self::State) {}

    /// Write the group's values for a finished flow, in `COLUMNS` order:
    /// one `put` per column, present or not.
    fn write(&self, flow: &FlowView<'_>, state: &Self::State, out: &mut RowWriter<'_>);
}

/// A configured group with its state type erased: what the registry
/// builds and the pipeline holds.
pub trait Group: Send + Sync {
    /// What the group reads beyond the decoded summary.
    fn needs(&self) -> Needs;

    /// The arena for the group's per-flow states, `None` when the state is
    /// zero-sized.
    fn arena(self: Arc<Self>) -> Option<Box<dyn Arena>>;

    /// Write a flow's values for a group without per-flow state.
    fn write_stateless(&self, flow: &FlowView<'_>, out: &mut RowWriter<'_>);

    /// Write the values of a short flow of a summary-only group, from its
    /// buffered packets (see the module documentation).
    fn write_replayed(&self, flow: &FlowView<'_>, recent: &Recent, out: &mut RowWriter<'_>);
}

impl<G: FeatureGroup> Group for G {
    fn needs(&self) -> Needs {
        FeatureGroup::needs(self)
    }

    fn arena(self: Arc<Self>) -> Option<Box<dyn Arena>> {
        if std::mem::size_of::<G::State>() == 0 {
            return None;
        }
        if FeatureGroup::needs(&*self) == Needs::SUMMARY {
            return Some(Box::new(DeferredArena::<G> {
                group: self,
                live: Vec::new(),
                ended: Vec::new(),
            }));
        }
        Some(Box::new(TypedArena::<G> {
            group: self,
            live: Vec::new(),
            ended: Vec::new(),
        }))
    }

    fn write_stateless(&self, flow: &FlowView<'_>, out: &mut RowWriter<'_>) {
        self.write(flow, &self.new_state(), out);
    }

    fn write_replayed(&self, flow: &FlowView<'_>, recent: &Recent, out: &mut RowWriter<'_>) {
        let mut st = self.new_state();
        recent.replay(&initiator_packet(flow), Direction::Fwd, |p| {
            self.update(&mut st, p)
        });
        self.write(flow, &st, out);
    }
}

/// One group's per-flow states, live and ended (type-erased).
pub trait Arena: Send {
    /// True for a summary-only group whose states are built late (see the
    /// module documentation): it gets `update` calls only for flows past
    /// their buffered packets, and `materialize` once for each such flow.
    fn deferred(&self) -> bool {
        false
    }
    /// Build the state at `pos` from the buffered packets (`pkt` is the
    /// packet that outgrew them, not yet accounted).
    fn materialize(&mut self, _pos: usize, _recent: &Recent, _pkt: &PacketView<'_>) {}
    /// Add a new flow's state at the end of the live states.
    fn push(&mut self);
    /// Account a packet in the live state at `pos`.
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>);
    /// Cache hint for the live state at `pos` (see [`FlowStates::prefetch`]).
    fn prefetch(&self, pos: usize, step: u8);
    /// Move the live state at `pos` to the ended list (the last live state
    /// takes its place).
    fn retire(&mut self, pos: usize);
    /// Move every live state to the ended list, in order.
    fn retire_all(&mut self);
    /// Swap ended states `i` and `j`.
    fn swap_ended(&mut self, i: usize, j: usize);
    /// Forget the ended states.
    fn clear_ended(&mut self);
    /// Take the ended states out.
    fn take_ended(&mut self) -> Box<dyn EndedArena>;
    /// Write ended flow `i`'s values (`recent`: its buffered packets, for
    /// deferred groups).
    fn write_ended(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    );
}

/// One group's ended states, taken out of the table (type-erased).
pub trait EndedArena: Send {
    /// Write ended flow `i`'s values (`recent` as for [`Arena::write_ended`]).
    fn write(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    );
}

struct TypedArena<G: FeatureGroup> {
    group: Arc<G>,
    live: Vec<G::State>,
    ended: Vec<G::State>,
}

impl<G: FeatureGroup> Arena for TypedArena<G> {
    #[inline]
    fn push(&mut self) {
        self.live.push(self.group.new_state());
    }

    #[inline]
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>) {
        self.group.update(&mut self.live[pos], pkt);
    }

    #[inline]
    fn prefetch(&self, pos: usize, step: u8) {
        let Some(s) = self.live.get(pos) else { return };
        if step == 0 {
            let p = (s as *const G::State).cast::<u8>();
            let size = std::mem::size_of::<G::State>();
            let mut off = 0;
            while off < size {
                prefetch(p.wrapping_add(off));
                off += 64;
            }
        } else {
            self.group.prefetch(s);
        }
    }

    fn retire(&mut self, pos: usize) {
        self.ended.push(self.live.swap_remove(pos));
    }

    fn retire_all(&mut self) {
        if self.ended.is_empty() {
            // No copy of every live state at the end of input.
            std::mem::swap(&mut self.ended, &mut self.live);
        } else {
            self.ended.append(&mut self.live);
        }
    }

    fn swap_ended(&mut self, i: usize, j: usize) {
        self.ended.swap(i, j);
    }

    fn clear_ended(&mut self) {
        self.ended.clear();
    }

    fn take_ended(&mut self) -> Box<dyn EndedArena> {
        Box::new(TypedEnded::<G> {
            group: Arc::clone(&self.group),
            states: std::mem::take(&mut self.ended),
        })
    }

    fn write_ended(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        _recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    ) {
        self.group.write(flow, &self.ended[i], out);
    }
}

struct TypedEnded<G: FeatureGroup> {
    group: Arc<G>,
    states: Vec<G::State>,
}

impl<G: FeatureGroup> EndedArena for TypedEnded<G> {
    fn write(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        _recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    ) {
        self.group.write(flow, &self.states[i], out);
    }
}

/// The states of a summary-only group: `None` until the flow outgrows its
/// buffered packets.
struct DeferredArena<G: FeatureGroup> {
    group: Arc<G>,
    live: Vec<Option<Box<G::State>>>,
    ended: Vec<Option<Box<G::State>>>,
}

/// Write a deferred group's values: from its state, or by replay.
fn write_deferred<G: FeatureGroup>(
    group: &G,
    state: Option<&G::State>,
    flow: &FlowView<'_>,
    recent: Option<&Recent>,
    out: &mut RowWriter<'_>,
) {
    match (state, recent) {
        (Some(s), _) => group.write(flow, s, out),
        (None, Some(r)) => Group::write_replayed(group, flow, r, out),
        (None, None) => group.write(flow, &group.new_state(), out),
    }
}

impl<G: FeatureGroup> Arena for DeferredArena<G> {
    fn deferred(&self) -> bool {
        true
    }

    fn materialize(&mut self, pos: usize, recent: &Recent, pkt: &PacketView<'_>) {
        let mut st = Box::new(self.group.new_state());
        recent.replay(pkt.decoded, pkt.dir, |p| self.group.update(&mut st, p));
        self.live[pos] = Some(st);
    }

    #[inline]
    fn push(&mut self) {
        self.live.push(None);
    }

    #[inline]
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>) {
        if let Some(st) = &mut self.live[pos] {
            self.group.update(st, pkt);
        }
    }

    #[inline]
    fn prefetch(&self, pos: usize, step: u8) {
        if let Some(Some(s)) = self.live.get(pos) {
            if step == 0 {
                prefetch((&**s as *const G::State).cast::<u8>());
            } else {
                self.group.prefetch(s);
            }
        }
    }

    fn retire(&mut self, pos: usize) {
        self.ended.push(self.live.swap_remove(pos));
    }

    fn retire_all(&mut self) {
        if self.ended.is_empty() {
            std::mem::swap(&mut self.ended, &mut self.live);
        } else {
            self.ended.append(&mut self.live);
        }
    }

    fn swap_ended(&mut self, i: usize, j: usize) {
        self.ended.swap(i, j);
    }

    fn clear_ended(&mut self) {
        self.ended.clear();
    }

    fn take_ended(&mut self) -> Box<dyn EndedArena> {
        Box::new(DeferredEnded::<G> {
            group: Arc::clone(&self.group),
            states: std::mem::take(&mut self.ended),
        })
    }

    fn write_ended(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    ) {
        write_deferred(&*self.group, self.ended[i].as_deref(), flow, recent, out);
    }
}

struct DeferredEnded<G: FeatureGroup> {
    group: Arc<G>,
    states: Vec<Option<Box<G::State>>>,
}

impl<G: FeatureGroup> EndedArena for DeferredEnded<G> {
    fn write(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    ) {
        write_deferred(&*self.group, self.states[i].as_deref(), flow, recent, out);
    }
}

/// The per-flow states of a run's stateful groups, one arena each, in
/// registry order, and the buffered packets of deferred groups: what the
/// flow table keeps beside its flows.
#[derive(Default)]
pub struct GroupStates {
    arenas: Vec<Box<dyn Arena>>,
    /// Positions in `arenas` of the groups whose states exist from a
    /// flow's first packet, and of the deferred ones.
    eager: Vec<usize>,
    deferred: Vec<usize>,
    /// Buffered packets, live and ended (only with deferred groups).
    recent: Vec<Recent>,
    recent_ended: Vec<Recent>,
}

/// The ended states of a [`GroupStates`], taken out of the table.
#[derive(Default)]
pub struct EndedStates {
    arenas: Vec<Box<dyn EndedArena>>,
    recent: Vec<Recent>,
}

impl GroupStates {
    /// States for these arenas (registry order).
    pub fn new(arenas: Vec<Box<dyn Arena>>) -> GroupStates {
        let (deferred, eager): (Vec<usize>, Vec<usize>) =
            (0..arenas.len()).partition(|&i| arenas[i].deferred());
        GroupStates {
            arenas,
            eager,
            deferred,
            recent: Vec::new(),
            recent_ended: Vec::new(),
        }
    }

    fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }
}

/// Where the values of an ended flow's stateful groups come from: the
/// table's own ended states, or states taken out of it.
pub trait EndedSource {
    /// Write ended flow `i`'s values of stateful group `arena`.
    fn write(&self, arena: usize, i: usize, flow: &FlowView<'_>, out: &mut RowWriter<'_>);
}

impl EndedSource for GroupStates {
    fn write(&self, arena: usize, i: usize, flow: &FlowView<'_>, out: &mut RowWriter<'_>) {
        self.arenas[arena].write_ended(i, flow, self.recent_ended.get(i), out);
    }
}

impl EndedSource for EndedStates {
    fn write(&self, arena: usize, i: usize, flow: &FlowView<'_>, out: &mut RowWriter<'_>) {
        self.arenas[arena].write(i, flow, self.recent.get(i), out);
    }
}

impl FlowStates for GroupStates {
    type Ended = EndedStates;

    #[inline]
    fn is_empty(&self) -> bool {
        self.arenas.is_empty()
    }

    #[inline]
    fn push(&mut self) {
        for a in &mut self.arenas {
            a.push();
        }
        if self.has_deferred() {
            self.recent.push(Recent::default());
        }
    }

    #[inline]
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>) {
        for &i in &self.eager {
            self.arenas[i].update(pos, pkt);
        }
        if self.has_deferred() {
            let r = &mut self.recent[pos];
            if !r.spilled() {
                if (r.n as usize) < DEFERRED_PACKETS {
                    r.push(pkt);
                    return;
                }
                // The flow outgrows its buffer: build the deferred states.
                r.n += 1;
                for &i in &self.deferred {
                    self.arenas[i].materialize(pos, r, pkt);
                }
            }
            for &i in &self.deferred {
                self.arenas[i].update(pos, pkt);
            }
        }
    }

    #[inline]
    fn prefetch(&self, pos: usize, step: u8) {
        if step == 0 {
            if let Some(r) = self.recent.get(pos) {
                prefetch((r as *const Recent).cast::<u8>());
            }
        }
        for a in &self.arenas {
            a.prefetch(pos, step);
        }
    }

    fn retire(&mut self, pos: usize) {
        for a in &mut self.arenas {
            a.retire(pos);
        }
        if self.has_deferred() {
            self.recent_ended.push(self.recent.swap_remove(pos));
        }
    }

    fn retire_all(&mut self) {
        for a in &mut self.arenas {
            a.retire_all();
        }
        if self.recent_ended.is_empty() {
            std::mem::swap(&mut self.recent_ended, &mut self.recent);
        } else {
            self.recent_ended.append(&mut self.recent);
        }
    }

    fn swap_ended(&mut self, i: usize, j: usize) {
        for a in &mut self.arenas {
            a.swap_ended(i, j);
        }
        if self.has_deferred() {
            self.recent_ended.swap(i, j);
        }
    }

    fn clear_ended(&mut self) {
        for a in &mut self.arenas {
            a.clear_ended();
        }
        self.recent_ended.clear();
    }

    fn take_ended(&mut self) -> EndedStates {
        EndedStates {
            arenas: self.arenas.iter_mut().map(|a| a.take_ended()).collect(),
            recent: std::mem::take(&mut self.recent_ended),
        }
    }
}
