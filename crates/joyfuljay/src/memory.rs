//! The memory budget (`max_memory`): how much memory a run may use, and
//! how many flows fit in it (docs/semantics.md#memory-budget).

use crate::flow::Flow;

/// Share of the available memory a run takes by default: one half.
pub const DEFAULT_SHARE: (u64, u64) = (1, 2);

/// Budget when the available memory cannot be read (no `/proc/meminfo`):
/// 2 GiB.
pub const FALLBACK_BUDGET: u64 = 2 << 30;

/// Memory kept out of the flow table's share for the rest of a run
/// (capture reading, packet batches between threads, output buffers, the
/// program itself): a quarter of the budget, at most this much.
pub const RESERVE_MAX: u64 = 48 << 20;

/// Bytes one live flow costs in the table besides the groups' states: its
/// record (counted twice: a growing vector may hold twice its length),
/// its index slots (at most half full, so up to 4 slots of 8 bytes, 6
/// while the index doubles), its expiry-queue entries (24 bytes in each
/// of two queues, up to twice as many entries as flows between
/// compactions, twice that for growth) and, with `"oldest"` eviction, its
/// start-order entry (16 bytes, same slack).
pub fn table_bytes_per_flow(evict_oldest: bool) -> usize {
    let flow = 2 * std::mem::size_of::<Flow>();
    let index = 6 * 8;
    let queues = 2 * 2 * 2 * 24;
    let starts = if evict_oldest { 2 * 2 * 16 } else { 0 };
    flow + index + queues + starts
}

/// Memory available to this process, in bytes: `MemAvailable` of
/// `/proc/meminfo`, or what the cgroup (v2 `memory.max` minus
/// `memory.current`, or v1 `memory.limit_in_bytes` minus
/// `memory.usage_in_bytes`) still allows, whichever is lower; `None` when
/// neither can be read.
pub fn available() -> Option<u64> {
    let mem = meminfo_available();
    let cg = cgroup_available();
    match (mem, cg) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn cgroup_available() -> Option<u64> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in cg.lines() {
        // cgroup v2: "0::/path".
        if let Some(path) = line.strip_prefix("0::") {
            let dir = format!("/sys/fs/cgroup{}", path.trim_end_matches('/'));
            if let Some(max) = read_u64(&format!("{dir}/memory.max")) {
                let used = read_u64(&format!("{dir}/memory.current")).unwrap_or(0);
                return Some(max.saturating_sub(used));
            }
        }
    }
    // cgroup v1 (a limit near u64::MAX means none).
    let max = read_u64("/sys/fs/cgroup/memory/memory.limit_in_bytes")?;
    if max >= 1 << 60 {
        return None;
    }
    let used = read_u64("/sys/fs/cgroup/memory/memory.usage_in_bytes").unwrap_or(0);
    Some(max.saturating_sub(used))
}

/// The default budget: half of [`available`], or [`FALLBACK_BUDGET`].
pub fn default_budget() -> u64 {
    available().map_or(FALLBACK_BUDGET, |a| a / DEFAULT_SHARE.1 * DEFAULT_SHARE.0)
}

/// The most live flows each of `tables` flow tables may hold within
/// `budget` bytes when one flow costs `per_flow` bytes: the budget less
/// the reserve (a quarter, at most [`RESERVE_MAX`]), shared evenly; at
/// least one.
pub fn flow_cap(budget: u64, per_flow: usize, tables: usize) -> usize {
    let cap = table_share(budget, tables) / per_flow.max(1);
    cap.max(1)
}

/// Each of `tables` flow tables' share of `budget`, after the reserve (a
/// quarter, at most [`RESERVE_MAX`]).
pub fn table_share(budget: u64, tables: usize) -> usize {
    let reserve = (budget / 4).min(RESERVE_MAX);
    let share = (budget - reserve) / tables.max(1) as u64;
    usize::try_from(share).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_follow_the_budget() {
        // 64 MiB: a 16 MiB reserve, 48 MiB for flows.
        assert_eq!(flow_cap(64 << 20, 1024, 1), 48 << 10);
        assert_eq!(flow_cap(64 << 20, 1024, 2), 24 << 10);
        // 1 GiB: the reserve stops at 48 MiB.
        assert_eq!(flow_cap(1 << 30, 1 << 20, 1), 1024 - 48);
        assert_eq!(flow_cap(10, 1 << 20, 1), 1);
    }

    #[test]
    fn the_default_is_a_share_of_what_is_available() {
        let b = default_budget();
        match available() {
            Some(a) => assert_eq!(b, a / 2),
            None => assert_eq!(b, FALLBACK_BUDGET),
        }
        assert!(table_bytes_per_flow(true) > table_bytes_per_flow(false));
    }
}
