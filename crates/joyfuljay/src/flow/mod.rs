//! The flow table: packets in, finished flows out.
//!
//! Each flow holds accumulators only (counts, sums, first/last times; the
//! feature groups' per-flow state lives beside it, see [`FlowStates`]),
//! never packets, so memory grows with the number of concurrently active
//! flows, not with the input. Flows end by idle timeout, active timeout,
//! TCP close, eviction or end of input (`docs/semantics.md#flow-termination`).
//!
//! - `key`: the canonical bidirectional 5-tuple;
//! - `record`: a flow's accumulators and end;
//! - `index`: the open-addressing index over the dense flow vector;
//! - `states`: the trait through which the table keeps group state;
//! - `expiry`: the idle queues, the sweep clock and the output-order sort;
//! - `fragments`: later IP fragments joined to their datagram's flow;
//! - `lookahead`: batches with lookups prefetched ahead;
//! - `table`: the table itself.
//!
//! This module knows nothing of feature groups: `features` implements
//! [`FlowStates`].

mod expiry;
mod fragments;
mod index;
mod key;
mod lookahead;
mod record;
mod states;
mod table;

pub(crate) use expiry::prefetch_ahead;
pub use expiry::SweepClock;
pub use fragments::Fragments;
pub use key::{ip_text, to_ip, Direction, Endpoint, FlowKey};
pub(crate) use lookahead::with_lookahead;
pub use record::{flow_stat, EndReason, EndTag, Flow};
pub use states::{FlowStates, NoStates};
pub(crate) use table::KIND_EVICTED_MEMORY;
pub use table::{FlowTable, TableConfig, CLOSE_LINGER_US};
