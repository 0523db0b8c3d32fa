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

use super::row::RowWriter;
use crate::flow::{Flow, FlowStates};
use crate::hint::prefetch;
use crate::packet::PacketView;
use std::sync::Arc;

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
}

impl<G: FeatureGroup> Group for G {
    fn needs(&self) -> Needs {
        FeatureGroup::needs(self)
    }

    fn arena(self: Arc<Self>) -> Option<Box<dyn Arena>> {
        if std::mem::size_of::<G::State>() == 0 {
            return None;
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
}

/// One group's per-flow states, live and ended (type-erased).
pub trait Arena: Send {
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
    /// Write ended flow `i`'s values.
    fn write_ended(&self, i: usize, flow: &FlowView<'_>, out: &mut RowWriter<'_>);
}

/// One group's ended states, taken out of the table (type-erased).
pub trait EndedArena: Send {
    /// Write ended flow `i`'s values.
    fn write(&self, i: usize, flow: &FlowView<'_>, out: &mut RowWriter<'_>);
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
        self.ended.append(&mut self.live);
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

    fn write_ended(&self, i: usize, flow: &FlowView<'_>, out: &mut RowWriter<'_>) {
        self.group.write(flow, &self.ended[i], out);
    }
}

struct TypedEnded<G: FeatureGroup> {
    group: Arc<G>,
    states: Vec<G::State>,
}

impl<G: FeatureGroup> EndedArena for TypedEnded<G> {
    fn write(&self, i: usize, flow: &FlowView<'_>, out: &mut RowWriter<'_>) {
        self.group.write(flow, &self.states[i], out);
    }
}

/// The per-flow states of a run's stateful groups, one arena each, in
/// registry order: what the flow table keeps beside its flows.
#[derive(Default)]
pub struct GroupStates {
    arenas: Vec<Box<dyn Arena>>,
}

/// The ended states of a [`GroupStates`], taken out of the table.
#[derive(Default)]
pub struct EndedStates {
    arenas: Vec<Box<dyn EndedArena>>,
}

impl GroupStates {
    /// States for these arenas (registry order).
    pub fn new(arenas: Vec<Box<dyn Arena>>) -> GroupStates {
        GroupStates { arenas }
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
        self.arenas[arena].write_ended(i, flow, out);
    }
}

impl EndedSource for EndedStates {
    fn write(&self, arena: usize, i: usize, flow: &FlowView<'_>, out: &mut RowWriter<'_>) {
        self.arenas[arena].write(i, flow, out);
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
    }

    #[inline]
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>) {
        for a in &mut self.arenas {
            a.update(pos, pkt);
        }
    }

    #[inline]
    fn prefetch(&self, pos: usize, step: u8) {
        for a in &self.arenas {
            a.prefetch(pos, step);
        }
    }

    fn retire(&mut self, pos: usize) {
        for a in &mut self.arenas {
            a.retire(pos);
        }
    }

    fn retire_all(&mut self) {
        for a in &mut self.arenas {
            a.retire_all();
        }
    }

    fn swap_ended(&mut self, i: usize, j: usize) {
        for a in &mut self.arenas {
            a.swap_ended(i, j);
        }
    }

    fn clear_ended(&mut self) {
        for a in &mut self.arenas {
            a.clear_ended();
        }
    }

    fn take_ended(&mut self) -> EndedStates {
        EndedStates {
            arenas: self.arenas.iter_mut().map(|a| a.take_ended()).collect(),
        }
    }
}
