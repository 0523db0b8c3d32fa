//! `tcp_options`: the TCP options each side used — MSS, window scale,
//! SACK, timestamps — and how many packets carried options.
//!
//! Options are read as Wireshark 4.0 reads them ([`walk`]): an option
//! with a wrong length for its kind is stepped over by its length byte
//! and its value ignored, while a length below 2 or one running past the
//! options area ends the list. Values that were never seen are null
//! (docs/semantics.md#tcp_options).

use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::{PacketView, TcpDetails};
use std::sync::Arc;

const INT: ColumnType = ColumnType::Int;
const BOOL: ColumnType = ColumnType::Bool;

/// The `tcp_options` columns, in output order (the reference package's names).
pub const COLUMNS: &[Column] = &[
    Column::nullable("tcp_mss_fwd", INT, "bytes", "MSS option value of the initiator: the first well-formed MSS option (length 4) in its packets; null if none."),
    Column::nullable("tcp_mss_bwd", INT, "bytes", "MSS option value of the responder; null if none."),
    Column::nullable("tcp_ws_fwd", INT, "shift", "Window scale shift count as written in the initiator's first window scale option (length 3), not capped at 14; null if none."),
    Column::nullable("tcp_ws_bwd", INT, "shift", "Window scale shift count of the responder's first window scale option; null if none."),
    Column::always("tcp_sack_permitted_fwd", BOOL, "", "Some initiator packet carried a SACK-permitted option (kind 4)."),
    Column::always("tcp_sack_permitted_bwd", BOOL, "", "Some responder packet carried a SACK-permitted option (kind 4)."),
    Column::always("tcp_sack_blocks_total", INT, "blocks", "SACK blocks over all packets of the flow, both directions ((length - 2) / 8 per SACK option)."),
    Column::always("tcp_ts_fwd_present", BOOL, "", "Some initiator packet carried a timestamps option (length 10)."),
    Column::nullable("tcp_ts_fwd_first", INT, "ticks", "TSval of the initiator's first packet with timestamps; null if none."),
    Column::nullable("tcp_ts_fwd_last", INT, "ticks", "TSval of the initiator's last packet with timestamps; null if none."),
    Column::nullable("tcp_ts_fwd_diff", INT, "ticks", "(tcp_ts_fwd_last - tcp_ts_fwd_first) modulo 2^32; null if no timestamps."),
    Column::nullable("tcp_ts_ecr_fwd_first", INT, "ticks", "TSecr of the initiator's first packet with timestamps; null if none."),
    Column::always("tcp_ts_bwd_present", BOOL, "", "Some responder packet carried a timestamps option (length 10)."),
    Column::nullable("tcp_ts_bwd_first", INT, "ticks", "TSval of the responder's first packet with timestamps; null if none."),
    Column::nullable("tcp_ts_bwd_last", INT, "ticks", "TSval of the responder's last packet with timestamps; null if none."),
    Column::nullable("tcp_ts_bwd_diff", INT, "ticks", "(tcp_ts_bwd_last - tcp_ts_bwd_first) modulo 2^32; null if no timestamps."),
    Column::nullable("tcp_ts_ecr_bwd_first", INT, "ticks", "TSecr of the responder's first packet with timestamps; null if none."),
    Column::always("tcp_options_bitmap", INT, "bitmap", "Options seen in either direction: 0x1 MSS, 0x2 window scale, 0x4 SACK permitted, 0x8 timestamps."),
    Column::always("tcp_options_pkt_count", INT, "packets", "TCP packets whose header carries option bytes (header length above 20)."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "tcp_options",
    summary:
        "TCP options per direction: MSS, window scale, SACK, timestamps; packets with options.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(TcpOptionsGroup) },
};

/// What one TCP header's options say, from [`walk`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OptionsSeen {
    /// The first MSS option of length 4.
    pub(crate) mss: Option<u16>,
    /// The first window scale option of length 3: its shift as written.
    pub(crate) ws: Option<u8>,
    /// An option of kind 4 (any length).
    pub(crate) sack_permitted: bool,
    /// SACK blocks: (length − 2) / 8 for each SACK option.
    pub(crate) sack_blocks: u8,
    /// The first timestamps option of length 10: (TSval, TSecr).
    pub(crate) ts: Option<(u32, u32)>,
    /// Bit n set: an MPTCP option (kind 30, length ≥ 3) of subtype n.
    pub(crate) mptcp: u16,
}

/// MPTCP subtype MP_CAPABLE (RFC 8684).
pub(crate) const MP_CAPABLE: u16 = 1 << 0;
/// MPTCP subtype MP_JOIN.
pub(crate) const MP_JOIN: u16 = 1 << 1;

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Read the options of `tcp` as Wireshark 4.0 does, calling `kind` with
/// the kind of every option read, in order (NOP and EOL included):
///
/// - EOL (0) ends the list (what follows is padding); NOP (1) is one byte;
/// - any other option needs a length byte of at least 2 that stays inside
///   the options area (header length − 20); otherwise the list ends there
///   and that option is not reported;
/// - an option whose length is wrong for its kind (MSS ≠ 4, window scale
///   ≠ 3, timestamps ≠ 10, MPTCP < 3) is stepped over by its length and
///   its value ignored; SACK-permitted counts at any length; a SACK option
///   holds (length − 2) / 8 blocks;
/// - the first value of each kind wins;
/// - the list also ends where the capture ends (snaplen).
///
/// Allocates nothing.
///
/// Not [`TcpDetails::options`]: that parser stops at the first option of a
/// wrong length (the rule `tcp_analysis`, `tcp_rtt` and its etherparse
/// tests rely on), where Wireshark, and so this one, steps over it; see
/// [`crate::packet::TcpOptions`] for why both exist.
#[inline]
pub(crate) fn walk(tcp: &TcpDetails<'_>, mut kind: impl FnMut(u8)) -> OptionsSeen {
    let area = usize::from(tcp.header_len).saturating_sub(20);
    let b = tcp.options;
    let mut o = OptionsSeen::default();
    let mut i = 0;
    while let Some(&k) = b.get(i) {
        match k {
            0 => {
                kind(0);
                break;
            }
            1 => {
                kind(1);
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = b.get(i + 1) else { break };
        let len = usize::from(len);
        if len < 2 || i + len > area {
            break;
        }
        let Some(opt) = b.get(i..i + len) else { break };
        kind(k);
        match (k, len) {
            (2, 4) => {
                o.mss.get_or_insert(u16::from_be_bytes([opt[2], opt[3]]));
            }
            (3, 3) => {
                o.ws.get_or_insert(opt[2]);
            }
            (4, _) => o.sack_permitted = true,
            (5, _) => o.sack_blocks = o.sack_blocks.saturating_add(((len - 2) / 8) as u8),
            (8, 10) => {
                o.ts.get_or_insert((be32(opt, 2), be32(opt, 6)));
            }
            (30, 3..) => o.mptcp |= 1 << (opt[2] >> 4),
            _ => {}
        }
        i += len;
    }
    o
}

struct TcpOptionsGroup;

/// One direction's options. 20 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DirOptions {
    mss: Option<u16>,
    ws: Option<u8>,
    sack_permitted: bool,
    ts_seen: bool,
    ts_first: u32,
    ts_last: u32,
    ecr_first: u32,
}

/// Per-flow state: both directions, SACK blocks and packets with options.
/// 48 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OptionsState {
    dir: [DirOptions; 2],
    sack_blocks: u32,
    with_options: u32,
}

const _: () = assert!(std::mem::size_of::<OptionsState>() == 48);

impl FeatureGroup for TcpOptionsGroup {
    type State = OptionsState;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> OptionsState {
        OptionsState::default()
    }

    #[inline]
    fn update(&self, st: &mut OptionsState, pkt: &PacketView<'_>) {
        if pkt.proto() != 6 {
            return;
        }
        let Some(tcp) = pkt.tcp() else { return };
        if tcp.header_len <= 20 {
            return;
        }
        st.with_options += 1;
        let o = walk(&tcp, |_| {});
        st.sack_blocks += u32::from(o.sack_blocks);
        let d = &mut st.dir[pkt.dir as usize];
        if d.mss.is_none() {
            d.mss = o.mss;
        }
        if d.ws.is_none() {
            d.ws = o.ws;
        }
        d.sack_permitted |= o.sack_permitted;
        if let Some((val, ecr)) = o.ts {
            if !d.ts_seen {
                d.ts_seen = true;
                d.ts_first = val;
                d.ecr_first = ecr;
            }
            d.ts_last = val;
        }
    }

    fn write(&self, _flow: &FlowView<'_>, st: &OptionsState, out: &mut RowWriter<'_>) {
        let [f, b] = &st.dir;
        out.put(f.mss.map(i64::from));
        out.put(b.mss.map(i64::from));
        out.put(f.ws.map(i64::from));
        out.put(b.ws.map(i64::from));
        out.put(f.sack_permitted);
        out.put(b.sack_permitted);
        out.put(i64::from(st.sack_blocks));
        for d in [f, b] {
            let ts = |v: u32| d.ts_seen.then_some(i64::from(v));
            out.put(d.ts_seen);
            out.put(ts(d.ts_first));
            out.put(ts(d.ts_last));
            out.put(ts(d.ts_last.wrapping_sub(d.ts_first)));
            out.put(ts(d.ecr_first));
        }
        let either = |p: fn(&DirOptions) -> bool| p(f) || p(b);
        let bitmap = i64::from(either(|d| d.mss.is_some()))
            | i64::from(either(|d| d.ws.is_some())) << 1
            | i64::from(either(|d| d.sack_permitted)) << 2
            | i64::from(either(|d| d.ts_seen)) << 3;
        out.put(bitmap);
        out.put(i64::from(st.with_options));
    }
}

#[cfg(test)]
pub(crate) mod build;
#[cfg(test)]
mod tests;
