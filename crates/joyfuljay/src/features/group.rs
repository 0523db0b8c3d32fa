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
use crate::decode::tcp_flags;
use crate::decode::{Decoded, Fragment};
use crate::flow::{Direction, Flow, FlowStates};
use crate::hint::prefetch;
use crate::packet::stream::StreamStart;
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

// The size the documentation states.
const _: () = assert!(std::mem::size_of::<Recent>() == 72);

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

    /// The decoded summary and header details: what a header group
    /// (`tcp`, `icmp`, `mac`, …) declares.
    pub const HEADERS: Needs = Needs {
        headers: true,
        ..Needs::SUMMARY
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
    type State: Send + Sync + 'static;

    /// What the group reads beyond the decoded summary.
    fn needs(&self) -> Needs {
        Needs::SUMMARY
    }

    /// The state of a new flow.
    fn new_state(&self) -> Self::State;

    /// Account one packet of the flow.
    fn update(&self, state: &mut Self::State, pkt: &PacketView<'_>);

    /// Start loading memory the next `update` reads outside the state
    /// itself (the end of a growing list, …), so that the cache miss
    /// overlaps other packets' work. A hint only.
    fn prefetch(&self, _state: &Self::State) {}

    /// Write the group's values for a finished flow, in `COLUMNS` order:
    /// one `put` per column, present or not.
    fn write(&self, flow: &FlowView<'_>, state: &Self::State, out: &mut RowWriter<'_>);

    /// For a group that reads the stream start (`Needs::stream_start`):
    /// whether it will never again look at direction `dir`'s stream bytes
    /// of this flow (its handshake is read, or the bytes are not its
    /// protocol). Once every such group says so, the engine frees that
    /// direction's buffer and stops reassembling it; `PacketView::stream`
    /// then shows no bytes. The default, never, is always correct.
    fn stream_done(&self, _state: &Self::State, _dir: Direction) -> bool {
        false
    }

    /// Heap bytes a flow's state typically holds beyond the state itself
    /// (boxed parts, lists), for the memory budget's flow cap
    /// (docs/semantics.md#memory-budget). The default,
    /// [`DEFAULT_HEAP_BYTES`], covers a lazily boxed part or two; groups
    /// whose state grows with the flow (sequence columns) declare more.
    fn heap_bytes(&self) -> usize {
        DEFAULT_HEAP_BYTES
    }

    /// For a group whose columns depend on every flow of the input
    /// (`Needs::whole_input`): its first-pass hooks.
    fn whole_input(&self) -> Option<&dyn WholeInput> {
        None
    }
}

/// The first pass of a group that reads the whole input
/// (`Needs::whole_input`). The pipeline runs the flow table over the whole
/// input once without writing rows, shows every ended flow to `observe`
/// (from any thread, in any order: what it keeps must not depend on the
/// order), calls `seal`, then runs again and writes rows.
pub trait WholeInput: Send + Sync {
    /// A first pass starts: forget what an earlier run kept.
    fn begin(&self);
    /// Account one ended flow of the first pass.
    fn observe(&self, flow: &Flow);
    /// The first pass is over: get ready to write rows.
    fn seal(&self);
}

/// The heap bytes per flow a stateful group is assumed to hold unless it
/// declares otherwise ([`FeatureGroup::heap_bytes`]).
pub const DEFAULT_HEAP_BYTES: usize = 64;

/// A group's declared heap bytes per flow; none for a state type without
/// drop glue, which therefore owns no heap memory (no `Vec`, `Box`, …).
fn heap_of<G: FeatureGroup>(g: &G) -> usize {
    if std::mem::needs_drop::<G::State>() {
        g.heap_bytes()
    } else {
        0
    }
}

/// Bytes the allocator adds to every heap block (glibc: 8-byte header,
/// 16-byte granularity), counted once per boxed part.
pub const ALLOC_OVERHEAD: usize = 16;

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

    /// The first-pass hooks of a whole-input group.
    fn whole_input(&self) -> Option<&dyn WholeInput>;
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
                slots: Slots::default(),
            }));
        }
        Some(Box::new(TypedArena::<G> {
            group: self,
            slots: Slots::default(),
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

    fn whole_input(&self) -> Option<&dyn WholeInput> {
        FeatureGroup::whole_input(self)
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
    /// Bytes one live flow's state costs: its slot in the live vector
    /// (counted twice: a growing vector may hold twice its length) plus the
    /// group's declared heap bytes.
    fn bytes_per_flow(&self) -> usize;
    /// Add a new flow's state at the end of the live states.
    fn push(&mut self);
    /// Account a packet in the live state at `pos`.
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>);
    /// Whether the group is done with direction `dir`'s stream start of
    /// the live flow at `pos` (see [`FeatureGroup::stream_done`]).
    fn stream_done(&self, _pos: usize, _dir: Direction) -> bool {
        true
    }
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
pub trait EndedArena: Send + Sync {
    /// Write ended flow `i`'s values (`recent` as for [`Arena::write_ended`]).
    fn write(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    );
}

/// Per-flow values kept beside the flow table: the live flows' at their
/// flow's position (moved as the table moves its flows), the ended flows'
/// at their position among the table's ended flows.
struct Slots<T> {
    live: Vec<T>,
    ended: Vec<T>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            live: Vec::new(),
            ended: Vec::new(),
        }
    }
}

impl<T> Slots<T> {
    /// End the live value at `pos`; the last live value takes its place.
    fn retire(&mut self, pos: usize) {
        self.ended.push(self.live.swap_remove(pos));
    }

    /// End every live value, in order (without a copy when none waits).
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

    fn take_ended(&mut self) -> Vec<T> {
        std::mem::take(&mut self.ended)
    }
}

struct TypedArena<G: FeatureGroup> {
    group: Arc<G>,
    slots: Slots<G::State>,
}

impl<G: FeatureGroup> Arena for TypedArena<G> {
    fn bytes_per_flow(&self) -> usize {
        2 * std::mem::size_of::<G::State>() + heap_of(&*self.group)
    }

    #[inline]
    fn push(&mut self) {
        self.slots.live.push(self.group.new_state());
    }

    #[inline]
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>) {
        self.group.update(&mut self.slots.live[pos], pkt);
    }

    fn stream_done(&self, pos: usize, dir: Direction) -> bool {
        self.group.stream_done(&self.slots.live[pos], dir)
    }

    #[inline]
    fn prefetch(&self, pos: usize, step: u8) {
        if pos >= self.slots.live.len() {
            return;
        }
        if step == 0 {
            let p = self.slots.live.as_ptr().wrapping_add(pos).cast::<u8>();
            let size = std::mem::size_of::<G::State>();
            let mut off = 0;
            while off < size {
                prefetch(p.wrapping_add(off));
                off += 64;
            }
        } else if step == 2 {
            self.group.prefetch(&self.slots.live[pos]);
        }
    }

    fn retire(&mut self, pos: usize) {
        self.slots.retire(pos);
    }

    fn retire_all(&mut self) {
        self.slots.retire_all();
    }

    fn swap_ended(&mut self, i: usize, j: usize) {
        self.slots.swap_ended(i, j);
    }

    fn clear_ended(&mut self) {
        self.slots.clear_ended();
    }

    fn take_ended(&mut self) -> Box<dyn EndedArena> {
        Box::new(TypedEnded::<G> {
            group: Arc::clone(&self.group),
            states: self.slots.take_ended(),
        })
    }

    fn write_ended(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        _recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    ) {
        self.group.write(flow, &self.slots.ended[i], out);
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
    slots: Slots<Option<Box<G::State>>>,
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

    fn bytes_per_flow(&self) -> usize {
        // The slot (a pointer) and, once materialized, the boxed state.
        2 * std::mem::size_of::<Option<Box<G::State>>>()
            + std::mem::size_of::<G::State>()
            + ALLOC_OVERHEAD
            + heap_of(&*self.group)
    }

    fn materialize(&mut self, pos: usize, recent: &Recent, pkt: &PacketView<'_>) {
        let mut st = Box::new(self.group.new_state());
        recent.replay(pkt.decoded, pkt.dir, |p| self.group.update(&mut st, p));
        self.slots.live[pos] = Some(st);
    }

    #[inline]
    fn push(&mut self) {
        self.slots.live.push(None);
    }

    #[inline]
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>) {
        if let Some(st) = &mut self.slots.live[pos] {
            self.group.update(st, pkt);
        }
    }

    #[inline]
    fn prefetch(&self, pos: usize, step: u8) {
        if step == 0 {
            // The slot only: reading it now would stall on it.
            prefetch(self.slots.live.as_ptr().wrapping_add(pos));
        } else if let Some(Some(s)) = self.slots.live.get(pos) {
            if step == 1 {
                // A long flow's state, a few cache lines.
                let p = (&**s as *const G::State).cast::<u8>();
                let mut off = 0;
                while off < std::mem::size_of::<G::State>() {
                    prefetch(p.wrapping_add(off));
                    off += 64;
                }
            } else {
                // What its next update reads beyond it.
                self.group.prefetch(s);
            }
        }
    }

    fn retire(&mut self, pos: usize) {
        self.slots.retire(pos);
    }

    fn retire_all(&mut self) {
        self.slots.retire_all();
    }

    fn swap_ended(&mut self, i: usize, j: usize) {
        self.slots.swap_ended(i, j);
    }

    fn clear_ended(&mut self) {
        self.slots.clear_ended();
    }

    fn take_ended(&mut self) -> Box<dyn EndedArena> {
        Box::new(DeferredEnded::<G> {
            group: Arc::clone(&self.group),
            states: self.slots.take_ended(),
        })
    }

    fn write_ended(
        &self,
        i: usize,
        flow: &FlowView<'_>,
        recent: Option<&Recent>,
        out: &mut RowWriter<'_>,
    ) {
        write_deferred(
            &*self.group,
            self.slots.ended[i].as_deref(),
            flow,
            recent,
            out,
        );
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
    /// Buffered packets (only with deferred groups).
    recent: Slots<Recent>,
    /// The start of each direction's TCP byte stream, when a group needs
    /// it (see [`Streams`]).
    streams: Option<Streams>,
    /// Positions in `arenas` of the groups that read the stream start.
    stream_readers: Vec<usize>,
}

/// TCP stream-start reassembly, done once per flow for every group that
/// needs it: the first `budget` bytes of each direction, in sequence
/// order, tolerant of loss, retransmission and reordering
/// ([`StreamStart`]). Only TCP flows use it: a flow's pair is boxed at its
/// first TCP packet (other flows keep an empty pointer, 8 bytes), and a
/// direction allocates no bytes before it carries payload.
struct Streams {
    budget: usize,
    slots: Slots<Option<Box<[StreamStart; 2]>>>,
    /// Heap bytes of the live flows' buffers ([`StreamStart::heap_bytes`]).
    heap: usize,
}

impl Streams {
    fn pair_heap(pair: &Option<Box<[StreamStart; 2]>>) -> usize {
        pair.as_ref()
            .map_or(0, |p| p[0].heap_bytes() + p[1].heap_bytes())
    }
}

/// The ended states of a [`GroupStates`], taken out of the table.
#[derive(Default)]
pub struct EndedStates {
    arenas: Vec<Box<dyn EndedArena>>,
    recent: Vec<Recent>,
}

impl GroupStates {
    /// States for these arenas (registry order), with TCP stream-start
    /// reassembly of `stream_start` bytes per direction (0: none).
    pub fn new(arenas: Vec<Box<dyn Arena>>, stream_start: u32) -> GroupStates {
        GroupStates::with_readers(arenas, stream_start, None)
    }

    /// [`GroupStates::new`], naming the arenas whose groups read the
    /// stream start (`None`: all of them); a direction's stream buffer is
    /// freed once they are all done with it.
    pub fn with_readers(
        arenas: Vec<Box<dyn Arena>>,
        stream_start: u32,
        readers: Option<Vec<usize>>,
    ) -> GroupStates {
        let (deferred, eager): (Vec<usize>, Vec<usize>) =
            (0..arenas.len()).partition(|&i| arenas[i].deferred());
        let stream_readers = readers.unwrap_or_else(|| (0..arenas.len()).collect());
        GroupStates {
            stream_readers,
            arenas,
            eager,
            deferred,
            recent: Slots::default(),
            streams: (stream_start > 0).then(|| Streams {
                budget: stream_start as usize,
                slots: Slots::default(),
                heap: 0,
            }),
        }
    }

    /// The stream starts of ended flow `i` (both directions), when kept.
    pub fn ended_streams(&self, i: usize) -> Option<&[StreamStart; 2]> {
        self.streams
            .as_ref()
            .and_then(|s| s.slots.ended.get(i))
            .and_then(|b| b.as_deref())
    }

    fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Bytes one live flow's states cost besides their stream-start bytes
    /// (docs/semantics.md#memory-budget): every arena's
    /// [`Arena::bytes_per_flow`], the buffered packets of deferred groups,
    /// and the stream-start pair's box (as if every flow were TCP). The
    /// stream bytes themselves are counted as they grow
    /// ([`FlowStates::heap_bytes`]).
    pub fn bytes_per_flow(&self) -> usize {
        let mut n: usize = self.arenas.iter().map(|a| a.bytes_per_flow()).sum();
        if self.has_deferred() {
            n += 2 * std::mem::size_of::<Recent>();
        }
        if self.streams.is_some() {
            n += 2 * std::mem::size_of::<Option<Box<[StreamStart; 2]>>>()
                + std::mem::size_of::<[StreamStart; 2]>()
                + ALLOC_OVERHEAD;
        }
        n
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
        self.arenas[arena].write_ended(i, flow, self.recent.ended.get(i), out);
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
        self.arenas.is_empty() && self.streams.is_none()
    }

    #[inline]
    fn push(&mut self) {
        for a in &mut self.arenas {
            a.push();
        }
        if self.has_deferred() {
            self.recent.live.push(Recent::default());
        }
        if let Some(s) = &mut self.streams {
            s.slots.live.push(Default::default());
        }
    }

    #[inline]
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>) {
        let with_stream;
        let pkt = match &mut self.streams {
            Some(s) if pkt.proto() == 6 => {
                let pair = s.slots.live[pos].get_or_insert_with(Default::default);
                let st = &mut pair[pkt.dir as usize];
                if !st.is_complete(s.budget) {
                    if let Some(t) = pkt.tcp() {
                        let before = st.heap_bytes();
                        st.push(
                            s.budget,
                            t.seq,
                            t.flags & tcp_flags::SYN != 0,
                            pkt.payload(),
                        );
                        s.heap = (s.heap + st.heap_bytes()).saturating_sub(before);
                    }
                }
                with_stream = PacketView {
                    stream: Some(&*st),
                    ..*pkt
                };
                &with_stream
            }
            _ => pkt,
        };
        for &i in &self.eager {
            self.arenas[i].update(pos, pkt);
        }
        // Every stream reader done with this direction: free its bytes.
        let close = pkt.stream.is_some_and(|st| !st.is_closed())
            && self
                .stream_readers
                .iter()
                .all(|&i| self.arenas[i].stream_done(pos, pkt.dir));
        let dir = pkt.dir as usize;
        if !self.deferred.is_empty() {
            let r = &mut self.recent.live[pos];
            if !r.spilled() && (r.n as usize) < DEFERRED_PACKETS {
                r.push(pkt);
            } else {
                if !r.spilled() {
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
        if close {
            if let Some(s) = &mut self.streams {
                if let Some(pair) = &mut s.slots.live[pos] {
                    s.heap = s.heap.saturating_sub(pair[dir].heap_bytes());
                    pair[dir].close();
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.streams.as_ref().map_or(0, |s| s.heap)
    }

    #[inline]
    fn prefetch(&self, pos: usize, step: u8) {
        if step == 0 && !self.deferred.is_empty() {
            prefetch(self.recent.live.as_ptr().wrapping_add(pos));
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
            self.recent.retire(pos);
        }
        if let Some(s) = &mut self.streams {
            s.heap = s
                .heap
                .saturating_sub(Streams::pair_heap(&s.slots.live[pos]));
            s.slots.retire(pos);
        }
    }

    fn retire_all(&mut self) {
        for a in &mut self.arenas {
            a.retire_all();
        }
        self.recent.retire_all();
        if let Some(s) = &mut self.streams {
            s.slots.retire_all();
            s.heap = 0;
        }
    }

    fn swap_ended(&mut self, i: usize, j: usize) {
        for a in &mut self.arenas {
            a.swap_ended(i, j);
        }
        if self.has_deferred() {
            self.recent.swap_ended(i, j);
        }
        if let Some(s) = &mut self.streams {
            s.slots.swap_ended(i, j);
        }
    }

    fn clear_ended(&mut self) {
        for a in &mut self.arenas {
            a.clear_ended();
        }
        self.recent.clear_ended();
        if let Some(s) = &mut self.streams {
            s.slots.clear_ended();
        }
    }

    fn take_ended(&mut self) -> EndedStates {
        // Groups read stream starts as packets arrive; ended ones are dropped.
        if let Some(s) = &mut self.streams {
            s.slots.clear_ended();
        }
        EndedStates {
            arenas: self.arenas.iter_mut().map(|a| a.take_ended()).collect(),
            recent: self.recent.take_ended(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{decoded_of, flow_of, obs, PacketObs, SplitMix};
    use super::super::{size, timing, GroupDef, Value};
    use super::*;
    use crate::config::Config;
    use crate::decode::decode;
    use crate::flow::{FlowTable, TableConfig};

    #[test]
    fn headers_needs_header_details_only() {
        let h = Needs::HEADERS;
        assert!(h.headers && h.frame_bytes());
        assert_eq!(
            h,
            Needs {
                headers: true,
                payload_bytes: 0,
                stream_start: 0,
                whole_input: false
            }
        );
        assert_eq!(Needs::SUMMARY.union(h), h);
    }

    /// Feed `flows` (each a list of packets) through `arena` as the table
    /// does (all live at once, interleaved, ended in reverse order), and
    /// return each flow's row.
    fn rows_through(
        arena: Box<dyn Arena>,
        def: &GroupDef,
        flows: &[Vec<PacketObs>],
    ) -> Vec<Vec<Value>> {
        let mut states = GroupStates::new(vec![arena], 0);
        for _ in flows {
            states.push();
        }
        let longest = flows.iter().map(Vec::len).max().unwrap_or(0);
        for k in 0..longest {
            for (pos, f) in flows.iter().enumerate() {
                if let Some(p) = f.get(k) {
                    let d = decoded_of(p);
                    states.update(pos, &PacketView::new(p.ts_us, p.dir, &d, &[]));
                }
            }
        }
        // End the last flow first: positions never move then.
        for pos in (0..flows.len()).rev() {
            states.retire(pos);
        }
        let mask = vec![true; def.columns.len()];
        (0..flows.len())
            .map(|pos| {
                let i = flows.len() - 1 - pos;
                let flow = flow_of(&flows[pos]);
                let mut row = Vec::new();
                let mut w = RowWriter::new(&mut row, &mask);
                states.write(0, i, &FlowView { flow: &flow }, &mut w);
                row
            })
            .collect()
    }

    fn random_flows(seed: u64) -> Vec<Vec<PacketObs>> {
        let mut rng = SplitMix(seed);
        (0..=12)
            .map(|n| {
                let mut t = 1_000_000i64;
                (0..n)
                    .map(|_| {
                        t += (rng.next_u64() % 3_000_000) as i64 - 200_000;
                        let dir = if rng.unit() < 0.4 {
                            Direction::Bwd
                        } else {
                            Direction::Fwd
                        };
                        let len = 40 + (rng.next_u64() % 1400) as u32;
                        obs(t, dir, len, len - 40)
                    })
                    .collect()
            })
            .collect()
    }

    /// Deferred states (built by replay, or replayed at the end for short
    /// flows) give exactly the values of states kept from the first packet,
    /// for flows of 0 to 12 packets, in every configuration of the groups.
    #[test]
    fn deferred_states_equal_eager_states_bit_for_bit() {
        let cfgs = [
            Config::default(),
            Config {
                include_raw_sequences: true,
                include_splt: true,
                bidirectional_split: true,
                max_sequence_length: 3,
                burst_threshold_ms: 500.0,
                ..Config::default()
            },
        ];
        for cfg in &cfgs {
            for seed in 1..20 {
                let flows = random_flows(seed);
                macro_rules! check {
                    ($def:expr, $ty:ty) => {{
                        let group = Arc::new(<$ty>::from_config(cfg));
                        let deferred = Arc::clone(&group).arena().unwrap();
                        assert!(deferred.deferred());
                        let eager: Box<dyn Arena> = Box::new(TypedArena::<$ty> {
                            group,
                            slots: Slots::default(),
                        });
                        let a = rows_through(deferred, &$def, &flows);
                        let b = rows_through(eager, &$def, &flows);
                        for (n, (x, y)) in a.iter().zip(&b).enumerate() {
                            assert_eq!(
                                format!("{x:?}"),
                                format!("{y:?}"),
                                "{} seed {seed}, {n} packets",
                                $def.id
                            );
                        }
                    }};
                }
                check!(timing::DEF, timing::Timing);
                check!(size::DEF, size::Size);
            }
        }
    }

    /// A test group that needs the stream start and records what it saw.
    struct Echo;

    impl FeatureGroup for Echo {
        type State = [Vec<u8>; 2];
        fn needs(&self) -> Needs {
            Needs {
                stream_start: 12,
                ..Needs::SUMMARY
            }
        }
        fn new_state(&self) -> [Vec<u8>; 2] {
            Default::default()
        }
        fn update(&self, st: &mut [Vec<u8>; 2], pkt: &PacketView<'_>) {
            let s = pkt.stream.expect("TCP packets carry the stream start");
            st[pkt.dir as usize] = s.bytes().to_vec();
        }
        fn write(&self, _flow: &FlowView<'_>, st: &[Vec<u8>; 2], out: &mut RowWriter<'_>) {
            out.put(String::from_utf8_lossy(&st[0]).into_owned());
            out.put(String::from_utf8_lossy(&st[1]).into_owned());
        }
    }

    fn tcp_frame(fwd: bool, seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let (src, dst, sp, dp) = if fwd {
            (a, b, 1000, 80)
        } else {
            (b, a, 80, 1000)
        };
        let mut builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, seq, 1000);
        if syn {
            builder = builder.syn();
        }
        let mut v = Vec::new();
        builder.ack(1).write(&mut v, payload).unwrap();
        v
    }

    /// A group that declares `stream_start` sees each direction's bytes in
    /// sequence order, through reordering, retransmission and overlap,
    /// cut at its budget; the table keeps no stream for other runs.
    #[test]
    fn stream_start_is_reassembled_once_for_the_groups_that_need_it() {
        let segments: &[(bool, u32, bool, &[u8])] = &[
            (true, 100, true, b""),
            (false, 900, true, b""),
            (true, 107, false, b"world"), // ahead: held
            (true, 101, false, b"hello "),
            (false, 901, false, b"OK"),
            (true, 101, false, b"HELLO "), // retransmission: first copy wins
            (true, 110, false, b"ld, and more"), // overlap, then past the budget
            (false, 903, false, b" thanks"),
        ];
        let frames: Vec<Vec<u8>> = segments
            .iter()
            .map(|&(f, seq, syn, p)| tcp_frame(f, seq, syn, p))
            .collect();
        let group = Arc::new(Echo);
        assert_eq!(FeatureGroup::needs(&*group).stream_start, 12);
        let arena = Arc::clone(&group).arena().unwrap();
        assert!(!arena.deferred());
        let mut table = FlowTable::new(
            TableConfig {
                idle_us: 60_000_000,
                active_us: None,
                tcp_close: true,
                max_flows: 0,
                evict_oldest: false,
                memory_flows: 0,
                memory_bytes: 0,
                per_flow_bytes: 0,
            },
            GroupStates::new(vec![arena], 12),
        );
        for (i, f) in frames.iter().enumerate() {
            let d = decode(1, f, f.len() as u32).unwrap();
            table.process(i as u64, 1_000 + i as i64, &d, f);
        }
        table.flush();
        assert_eq!(table.finished().len(), 1);
        let streams = table.states().ended_streams(0).unwrap();
        assert_eq!(streams[0].bytes(), b"hello world,");
        assert_eq!(streams[1].bytes(), b"OK thanks");
        let mask = [true, true];
        let mut row = Vec::new();
        let flow = &table.finished()[0];
        table.states().write(
            0,
            0,
            &FlowView { flow },
            &mut RowWriter::new(&mut row, &mask),
        );
        assert_eq!(
            row,
            [
                Value::Str("hello world,".into()),
                Value::Str("OK thanks".into())
            ]
        );
        // Without the need, no stream is kept.
        let plain = GroupStates::new(Vec::new(), 0);
        assert!(plain.is_empty() && plain.ended_streams(0).is_none());
    }

    /// A stream reader that is done with a direction once it has seen 10
    /// contiguous bytes of it; it remembers the most it saw.
    struct Sated;

    impl FeatureGroup for Sated {
        type State = [usize; 2];
        fn needs(&self) -> Needs {
            Needs {
                stream_start: 12,
                ..Needs::SUMMARY
            }
        }
        fn new_state(&self) -> [usize; 2] {
            [0; 2]
        }
        fn update(&self, st: &mut [usize; 2], pkt: &PacketView<'_>) {
            let n = pkt
                .stream
                .expect("TCP packets carry the stream start")
                .bytes()
                .len();
            let d = &mut st[pkt.dir as usize];
            *d = (*d).max(n);
        }
        fn stream_done(&self, st: &[usize; 2], dir: Direction) -> bool {
            st[dir as usize] >= 10
        }
        fn write(&self, _flow: &FlowView<'_>, st: &[usize; 2], out: &mut RowWriter<'_>) {
            out.put(st[0] as i64);
            out.put(st[1] as i64);
        }
    }

    /// Once every stream reader is done with a direction, its bytes are
    /// freed and no more are taken; a reader that is never done keeps it.
    #[test]
    fn a_direction_every_reader_is_done_with_is_freed() {
        let segments: &[(bool, u32, bool, &[u8])] = &[
            (true, 100, true, b""),
            (false, 900, true, b""),
            (true, 107, false, b"world"),
            (true, 101, false, b"hello "), // 11 contiguous: done
            (false, 901, false, b"OK"),
            (true, 110, false, b"ld, and more"),
            (false, 903, false, b" thanks"), // 9: not done
        ];
        let run = |with_echo: bool| {
            let mut arenas = vec![Arc::new(Sated).arena().unwrap()];
            if with_echo {
                arenas.push(Arc::new(Echo).arena().unwrap());
            }
            let readers = (0..arenas.len()).collect();
            let mut table = FlowTable::new(
                TableConfig {
                    idle_us: 60_000_000,
                    active_us: None,
                    tcp_close: true,
                    max_flows: 0,
                    evict_oldest: false,
                    memory_flows: 0,
                    memory_bytes: 0,
                    per_flow_bytes: 0,
                },
                GroupStates::with_readers(arenas, 12, Some(readers)),
            );
            for (i, &(f, seq, syn, p)) in segments.iter().enumerate() {
                let fr = tcp_frame(f, seq, syn, p);
                let d = decode(1, &fr, fr.len() as u32).unwrap();
                table.process(i as u64, 1_000 + i as i64, &d, &fr);
            }
            table.flush();
            let streams = table.states().ended_streams(0).unwrap().clone();
            let mut row = Vec::new();
            let mask = [true, true];
            let flow = &table.finished()[0];
            table.states().write(
                0,
                0,
                &FlowView { flow },
                &mut RowWriter::new(&mut row, &mask),
            );
            (streams, row)
        };
        let (streams, row) = run(false);
        assert!(streams[0].is_closed() && streams[0].bytes().is_empty());
        assert!(!streams[1].is_closed());
        assert_eq!(streams[1].bytes(), b"OK thanks");
        // The closed direction took nothing after "hello world".
        assert_eq!(row, [Value::Int(11), Value::Int(9)]);
        // Echo never says it is done: both directions stay.
        let (streams, row) = run(true);
        assert!(!streams[0].is_closed() && streams[0].bytes() == b"hello world,");
        assert_eq!(row, [Value::Int(12), Value::Int(9)]);
    }

    #[test]
    fn needs_union_and_frame_bytes() {
        assert!(!Needs::SUMMARY.frame_bytes());
        let h = Needs {
            headers: true,
            ..Needs::SUMMARY
        };
        let p = Needs {
            payload_bytes: 64,
            whole_input: true,
            ..Needs::SUMMARY
        };
        let u = h.union(p);
        assert!(u.headers && u.whole_input && u.payload_bytes == 64 && u.frame_bytes());
        assert_eq!(Needs::SUMMARY.union(Needs::SUMMARY), Needs::SUMMARY);
    }
}
