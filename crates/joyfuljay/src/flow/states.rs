//! Per-flow state of the feature groups, kept by the table beside its flows.
//!
//! The table stores its live flows in one dense vector and removes a flow
//! by moving the last one into its place. A [`FlowStates`] keeps the
//! groups' per-flow states in dense vectors of their own that follow the
//! same moves, so a flow's state is found by the flow's position: no box
//! per flow, no lookup. The table knows nothing about the groups: it calls
//! these methods at the moments a flow is created, updated and ended.

use crate::packet::PacketView;

/// The per-flow states of a run's feature groups.
pub trait FlowStates: Send {
    /// The states of ended flows, taken out of the table (to write their
    /// rows elsewhere, e.g. on another thread).
    type Ended: Send;

    /// True when no group keeps per-flow state: the table then skips
    /// every call below.
    fn is_empty(&self) -> bool;

    /// Add the state of a new flow, at live position `len()`.
    fn push(&mut self);

    /// Account one packet in the live state at `pos`.
    fn update(&mut self, pos: usize, pkt: &PacketView<'_>);

    /// Start loading the live state at `pos` into the cache, in steps a few
    /// packets apart: `step` 0 what can be found without reading memory
    /// not yet loaded, then (1, 2) what the memory loaded by the previous
    /// step points to. A hint only.
    fn prefetch(&self, pos: usize, step: u8);

    /// End the live state at `pos`: it goes to the end of the ended list
    /// and the last live state takes its place.
    fn retire(&mut self, pos: usize);

    /// End every live state, in position order.
    fn retire_all(&mut self);

    /// Swap ended states `i` and `j`.
    fn swap_ended(&mut self, i: usize, j: usize);

    /// Forget the ended states.
    fn clear_ended(&mut self);

    /// Take the ended states out, leaving the ended list empty.
    fn take_ended(&mut self) -> Self::Ended;

    /// Heap bytes the live states hold in parts that grow with a flow's
    /// traffic and are counted as they grow (stream-start buffers), for
    /// the memory budget; 0 when there are none.
    fn heap_bytes(&self) -> usize {
        0
    }
}

/// No per-flow state (flow-table tests and benchmarks of the table alone).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStates;

impl FlowStates for NoStates {
    type Ended = ();
    fn is_empty(&self) -> bool {
        true
    }
    fn push(&mut self) {}
    fn update(&mut self, _pos: usize, _pkt: &PacketView<'_>) {}
    fn prefetch(&self, _pos: usize, _step: u8) {}
    fn retire(&mut self, _pos: usize) {}
    fn retire_all(&mut self) {}
    fn swap_ended(&mut self, _i: usize, _j: usize) {}
    fn clear_ended(&mut self) {}
    fn take_ended(&mut self) {}
}
