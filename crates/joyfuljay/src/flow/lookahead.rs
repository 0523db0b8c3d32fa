//! Batches of packets with their flow-table lookups prefetched ahead.

use super::states::FlowStates;
use super::table::{FlowTable, Keyed};

/// Packets between computing a packet's key (and prefetching its index
/// slot) and looking it up.
const SLOT_AHEAD: usize = 32;
/// Packets between prefetching a packet's flow and looking it up.
const FLOW_AHEAD: usize = 8;
const RING: usize = 64;
/// Packets between the three steps of prefetching a packet's per-group
/// state and its turn (its index slot is in cache by then, so finding its
/// position is cheap): 0, what lies at the flow's position; 1, what that
/// points to (a long flow's boxed state); 2, what the state points to (a
/// growing list, a histogram).
const STATES_AHEAD: [usize; 3] = [6, 3, 1];

/// Run `each` over `items` in order, with the flow-table lookups of later
/// items prefetched a few items ahead, so that the cache misses of up to
/// [`SLOT_AHEAD`] packets overlap instead of stalling one after another.
/// `key_of` gives an item's key (`None`: no lookup, e.g. a sweep); `each`
/// gets the item with that key.
#[inline]
pub(crate) fn with_lookahead<S: FlowStates, T>(
    table: &mut FlowTable<S>,
    items: &[T],
    key_of: impl Fn(&FlowTable<S>, &T) -> Option<Keyed>,
    mut each: impl FnMut(&mut FlowTable<S>, &T, Option<Keyed>),
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
        if table.has_states() {
            for (step, ahead) in STATES_AHEAD.into_iter().enumerate() {
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
