//! `tcp_window`: the receive windows each side advertised — raw values,
//! their changes, zero windows — and the windows scaled as the handshake's
//! window scale options say, following Wireshark 4.0's rule
//! (docs/semantics.md#tcp_window).

use super::tcp_options::walk;
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::decode::tcp_flags::{ACK, SYN};
use crate::packet::PacketView;
use std::sync::Arc;

/// RFC 7323 §2.3: a larger shift count is used as 14.
pub const MAX_WINDOW_SHIFT: u8 = 14;

const INT: ColumnType = ColumnType::Int;
const FLOAT: ColumnType = ColumnType::Float;

/// The `tcp_window` columns, in output order (the reference package's names).
pub const COLUMNS: &[Column] = &[
    Column::nullable("tcp_init_win_fwd", INT, "bytes", "Window field (raw, unscaled) of the initiator's first TCP packet; null if it sent none."),
    Column::nullable("tcp_init_win_bwd", INT, "bytes", "Window field (raw) of the responder's first TCP packet; null if it sent none."),
    Column::nullable("tcp_win_scale_fwd", INT, "shift", "Shift count applied to the initiator's windows at the flow's end, by Wireshark's rule (docs/semantics.md#tcp_window): its own window scale option, at most 14, or 0 when a SYN without the option turned scaling off; null when unknown (neither seen)."),
    Column::nullable("tcp_win_scale_bwd", INT, "shift", "Shift count applied to the responder's windows at the flow's end, as tcp_win_scale_fwd; null when unknown."),
    Column::nullable("tcp_win_fwd_min", INT, "bytes", "Smallest raw window field of the initiator's TCP packets; null if none."),
    Column::nullable("tcp_win_fwd_max", INT, "bytes", "Largest raw window field of the initiator's TCP packets; null if none."),
    Column::nullable("tcp_win_fwd_mean", FLOAT, "bytes", "Mean raw window field of the initiator's TCP packets; null if none."),
    Column::always("tcp_win_fwd_zero_count", INT, "packets", "Initiator TCP packets with window field 0 (RST and SYN packets included)."),
    Column::nullable("tcp_win_bwd_min", INT, "bytes", "Smallest raw window field of the responder's TCP packets; null if none."),
    Column::nullable("tcp_win_bwd_max", INT, "bytes", "Largest raw window field of the responder's TCP packets; null if none."),
    Column::nullable("tcp_win_bwd_mean", FLOAT, "bytes", "Mean raw window field of the responder's TCP packets; null if none."),
    Column::always("tcp_win_bwd_zero_count", INT, "packets", "Responder TCP packets with window field 0."),
    Column::always("tcp_win_fwd_up_count", INT, "changes", "Initiator packets whose raw window is above that of the initiator's previous TCP packet."),
    Column::always("tcp_win_fwd_down_count", INT, "changes", "Initiator packets whose raw window is below that of the initiator's previous TCP packet."),
    Column::always("tcp_win_fwd_change_count", INT, "changes", "tcp_win_fwd_up_count + tcp_win_fwd_down_count."),
    Column::always("tcp_win_bwd_up_count", INT, "changes", "Responder packets whose raw window is above that of the responder's previous TCP packet."),
    Column::always("tcp_win_bwd_down_count", INT, "changes", "Responder packets whose raw window is below that of the responder's previous TCP packet."),
    Column::always("tcp_win_bwd_change_count", INT, "changes", "tcp_win_bwd_up_count + tcp_win_bwd_down_count."),
    Column::nullable("tcp_scaled_win_fwd_max", INT, "bytes", "Largest scaled window of the initiator's packets: raw << shift in effect when the packet was seen (SYN windows never scaled; Wireshark's tcp.window_size); null if none."),
    Column::nullable("tcp_scaled_win_bwd_max", INT, "bytes", "Largest scaled window of the responder's packets, as tcp_scaled_win_fwd_max; null if none."),
    Column::nullable("tcp_zero_win_ratio", FLOAT, "", "(tcp_win_fwd_zero_count + tcp_win_bwd_zero_count) / TCP packets of the flow; null without TCP packets."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "tcp_window",
    summary:
        "TCP receive windows per direction: initial, min/max/mean, zero windows, changes, scaling.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(TcpWindow) },
};

struct TcpWindow;

/// A direction's window scale as Wireshark tracks it: unknown, not used,
/// or a shift count.
const WS_UNKNOWN: i8 = -1;
const WS_NONE: i8 = -2;

/// One direction's windows. 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirWindows {
    n: u32,
    zero: u32,
    up: u32,
    down: u32,
    sum: u64,
    scaled_max: u32,
    init: u16,
    last: u16,
    min: u16,
    max: u16,
    /// `WS_UNKNOWN`, `WS_NONE` or the shift (0–14).
    ws: i8,
}

impl Default for DirWindows {
    fn default() -> Self {
        DirWindows {
            n: 0,
            zero: 0,
            up: 0,
            down: 0,
            sum: 0,
            scaled_max: 0,
            init: 0,
            last: 0,
            min: 0,
            max: 0,
            ws: WS_UNKNOWN,
        }
    }
}

/// Per-flow state: both directions. 80 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WindowState {
    dir: [DirWindows; 2],
}

const _: () = assert!(std::mem::size_of::<WindowState>() == 80);

impl FeatureGroup for TcpWindow {
    type State = WindowState;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> WindowState {
        WindowState::default()
    }

    #[inline]
    fn update(&self, st: &mut WindowState, pkt: &PacketView<'_>) {
        if pkt.proto() != 6 {
            return;
        }
        let Some(tcp) = pkt.tcp() else { return };
        let me = pkt.dir as usize;
        let syn = tcp.flags & SYN != 0;
        let raw = tcp.window;
        let d = &mut st.dir[me];
        // The window of a SYN is never scaled; others by the shift known
        // before this packet's own options.
        let scaled = if !syn && d.ws >= 0 {
            u32::from(raw) << d.ws
        } else {
            u32::from(raw)
        };
        if d.n == 0 {
            (d.init, d.min, d.max, d.scaled_max) = (raw, raw, raw, scaled);
        } else {
            d.up += u32::from(raw > d.last);
            d.down += u32::from(raw < d.last);
            d.min = d.min.min(raw);
            d.max = d.max.max(raw);
            d.scaled_max = d.scaled_max.max(scaled);
        }
        d.n += 1;
        d.sum += u64::from(raw);
        d.zero += u32::from(raw == 0);
        d.last = raw;
        // A window scale option, in any packet, sets the sender's shift.
        if tcp.header_len > 20 {
            if let Some(ws) = walk(&tcp, |_| {}).ws {
                d.ws = ws.min(MAX_WINDOW_SHIFT) as i8;
            }
        }
        // A SYN without window scale turns scaling off both ways; so does a
        // SYN-ACK with it after a SYN without.
        if syn {
            let other = 1 - me;
            if st.dir[me].ws == WS_UNKNOWN {
                st.dir[me].ws = WS_NONE;
                st.dir[other].ws = WS_NONE;
            } else if tcp.flags & ACK != 0 && st.dir[other].ws == WS_NONE {
                st.dir[me].ws = WS_NONE;
            }
        }
    }

    fn write(&self, _flow: &FlowView<'_>, st: &WindowState, out: &mut RowWriter<'_>) {
        let [f, b] = &st.dir;
        let some = |d: &DirWindows, v: u32| (d.n > 0).then_some(i64::from(v));
        out.put(some(f, f.init.into()));
        out.put(some(b, b.init.into()));
        for d in [f, b] {
            out.put(match d.ws {
                WS_UNKNOWN => None,
                WS_NONE => Some(0),
                s => Some(i64::from(s)),
            });
        }
        for d in [f, b] {
            out.put(some(d, d.min.into()));
            out.put(some(d, d.max.into()));
            out.put((d.n > 0).then(|| d.sum as f64 / f64::from(d.n)));
            out.put(i64::from(d.zero));
        }
        for d in [f, b] {
            out.put(i64::from(d.up));
            out.put(i64::from(d.down));
            out.put(i64::from(d.up + d.down));
        }
        out.put(some(f, f.scaled_max));
        out.put(some(b, b.scaled_max));
        let n = u64::from(f.n) + u64::from(b.n);
        out.put((n > 0).then(|| (u64::from(f.zero) + u64::from(b.zero)) as f64 / n as f64));
    }
}

#[cfg(test)]
mod tests;
