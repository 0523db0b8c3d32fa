//! IP fragments: later fragments carry no ports, so they join the flow of
//! their datagram's first fragment (same source, destination, protocol and
//! id; see `docs/semantics.md#ip-fragments`).

use super::table::Hasher;
use crate::decode::{Decoded, Fragment};
use hashbrown::HashMap;

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
