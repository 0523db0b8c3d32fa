//! `tcp_fingerprint`: a p0f-like signature of each side's opening SYN
//! (the initiator's SYN, the responder's SYN-ACK), a coarse OS hint from
//! it, and an uptime estimate from TCP timestamps
//! (docs/semantics.md#tcp_fingerprint).
//!
//! The signature is `ver:ittl:window:mss:ws:layout`, e.g.
//! `4:64:64240:1460:7:mss,sok,ts,nop,ws`:
//!
//! - `ver`: IP version, `4` or `6`;
//! - `ittl`: the initial TTL (hop limit), the smallest of
//!   [`INITIAL_TTLS`] at or above the observed one;
//! - `window`: the raw window field;
//! - `mss`, `ws`: the MSS and window scale shift as written (`-` when the
//!   option is absent);
//! - `layout`: the option kinds in order, as read by
//!   [`super::tcp_options::walk`] (up to and including the first EOL),
//!   comma-separated: `eol`, `nop`, `mss`, `ws`, `sok` (SACK permitted),
//!   `sack`, `ts`, `mptcp`, any other kind as `?N` (decimal); `-` when the
//!   SYN has no options. At most [`MAX_LAYOUT_KINDS`] kinds are listed; a
//!   longer list (only possible with runs of NOPs) ends with `,+`.

use super::tcp_options::walk;
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::decode::tcp_flags::{ACK, SYN};
use crate::packet::{Direction, PacketView};
use std::fmt::Write as _;
use std::sync::Arc;

/// Initial TTLs: an observed TTL (hop limit) is taken to have started at
/// the smallest of these at or above it.
pub const INITIAL_TTLS: [u8; 3] = [64, 128, 255];

/// Option kinds a signature's layout lists at most (then `+`).
pub const MAX_LAYOUT_KINDS: usize = 16;

/// TCP timestamp clock rate assumed by the uptime estimate (ticks per
/// second).
pub const UPTIME_TS_HZ: f64 = 100.0;

/// OS hints, first match wins: (initial TTL, windows of the SYN, hint).
/// A SYN that matches none is `unknown`.
pub const OS_HINTS: &[(u8, &[u16], &str)] = &[
    (64, &[29200, 65535], "linux"),
    (64, &[5840], "linux-old"),
    (128, &[65535, 8192], "windows"),
    (128, &[65520], "windows-10"),
    (255, &[], "bsd"),
];

const INT: ColumnType = ColumnType::Int;
const STR: ColumnType = ColumnType::Str;
const FLOAT: ColumnType = ColumnType::Float;

/// The `tcp_fingerprint` columns, in output order (the reference package's names).
pub const COLUMNS: &[Column] = &[
    Column::nullable("tcp_fp_fwd", STR, "", "Signature ver:ittl:window:mss:ws:layout of the initiator's first SYN without ACK (docs/semantics.md#tcp_fingerprint; initial TTL from INITIAL_TTLS = 64, 128, 255; layout at most MAX_LAYOUT_KINDS = 16 option kinds, then +), e.g. 4:64:64240:1460:7:mss,sok,ts,nop,ws; null if none."),
    Column::nullable("tcp_fp_bwd", STR, "", "The same signature of the responder's first SYN-ACK; null if none."),
    Column::nullable("tcp_os_hint_fwd", STR, "", "OS hint from the initiator's SYN: first match in OS_HINTS on (initial TTL from INITIAL_TTLS = 64, 128, 255; window): linux (64; 29200, 65535), linux-old (64; 5840), windows (128; 65535, 8192), windows-10 (128; 65520), bsd (255), else unknown; null without a SYN."),
    Column::nullable("tcp_os_hint_bwd", STR, "", "OS hint from the responder's SYN-ACK, as tcp_os_hint_fwd; null without a SYN-ACK."),
    Column::nullable("tcp_uptime_fwd", FLOAT, "hours", "TSval of the initiator's first packet with timestamps / UPTIME_TS_HZ (100) / 3600: uptime if its clock started at 0 and ticks at 100 Hz; null without timestamps."),
    Column::nullable("tcp_uptime_bwd", FLOAT, "hours", "The same from the responder's first TSval; null without timestamps."),
    Column::nullable("tcp_fp_fwd_window", INT, "bytes", "Raw window field of the initiator's SYN; null without a SYN."),
    Column::nullable("tcp_fp_fwd_ttl", INT, "hops", "IPv4 TTL or IPv6 hop limit of the initiator's SYN as observed; null without a SYN."),
    Column::nullable("tcp_fp_fwd_mss", INT, "bytes", "MSS option of the initiator's SYN; null without a SYN or an MSS option."),
    Column::nullable("tcp_fp_fwd_ws", INT, "shift", "Window scale shift of the initiator's SYN as written; null without a SYN or the option."),
    Column::nullable("tcp_fp_bwd_window", INT, "bytes", "Raw window field of the responder's SYN-ACK; null without one."),
    Column::nullable("tcp_fp_bwd_ttl", INT, "hops", "TTL or hop limit of the responder's SYN-ACK as observed; null without one."),
    Column::nullable("tcp_fp_bwd_mss", INT, "bytes", "MSS option of the responder's SYN-ACK; null without one or the option."),
    Column::nullable("tcp_fp_bwd_ws", INT, "shift", "Window scale shift of the responder's SYN-ACK as written; null without one or the option."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "tcp_fingerprint",
    summary: "p0f-like SYN/SYN-ACK signatures, OS hints and uptime estimates.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(TcpFingerprint) },
};

struct TcpFingerprint;

/// What a signature needs of one SYN. 28 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syn {
    /// The first `MAX_LAYOUT_KINDS` option kinds.
    kinds: [u8; MAX_LAYOUT_KINDS],
    window: u16,
    mss: Option<u16>,
    ws: Option<u8>,
    ttl: u8,
    v6: bool,
    seen: bool,
    /// Option kinds read (all of them, not only those kept).
    nkinds: u8,
}

impl Default for Syn {
    fn default() -> Self {
        Syn {
            window: 0,
            mss: None,
            ws: None,
            ttl: 0,
            v6: false,
            seen: false,
            nkinds: 0,
            kinds: [0; MAX_LAYOUT_KINDS],
        }
    }
}

/// Per-flow state: each side's opening SYN and first TSval. 72 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FingerprintState {
    syn: [Syn; 2],
    ts_first: [Option<u32>; 2],
}

const _: () = assert!(std::mem::size_of::<FingerprintState>() == 72);

/// The initial TTL of an observed one (see [`INITIAL_TTLS`]).
pub fn initial_ttl(ttl: u8) -> u8 {
    INITIAL_TTLS
        .iter()
        .copied()
        .find(|&t| t >= ttl)
        .unwrap_or(255)
}

/// The OS hint of a SYN with initial TTL `ittl` and window `window`.
pub fn os_hint(ittl: u8, window: u16) -> &'static str {
    OS_HINTS
        .iter()
        .find(|(t, w, _)| *t == ittl && (w.is_empty() || w.contains(&window)))
        .map_or("unknown", |h| h.2)
}

/// The name of option kind `k` in a signature's layout (`None`: `?k`).
pub fn kind_name(k: u8) -> Option<&'static str> {
    Some(match k {
        0 => "eol",
        1 => "nop",
        2 => "mss",
        3 => "ws",
        4 => "sok",
        5 => "sack",
        8 => "ts",
        30 => "mptcp",
        _ => return None,
    })
}

impl Syn {
    fn signature(&self) -> String {
        let mut s = String::with_capacity(48);
        let opt = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        let _ = write!(
            s,
            "{}:{}:{}:{}:{}:",
            if self.v6 { 6 } else { 4 },
            initial_ttl(self.ttl),
            self.window,
            opt(self.mss.map(u32::from)),
            opt(self.ws.map(u32::from)),
        );
        let kinds = &self.kinds[..usize::from(self.nkinds).min(MAX_LAYOUT_KINDS)];
        if kinds.is_empty() {
            s.push('-');
        }
        for (i, &k) in kinds.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            match kind_name(k) {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "?{k}");
                }
            }
        }
        if usize::from(self.nkinds) > MAX_LAYOUT_KINDS {
            s.push_str(",+");
        }
        s
    }
}

impl FeatureGroup for TcpFingerprint {
    type State = FingerprintState;

    fn needs(&self) -> Needs {
        Needs::HEADERS
    }

    fn new_state(&self) -> FingerprintState {
        FingerprintState::default()
    }

    #[inline]
    fn update(&self, st: &mut FingerprintState, pkt: &PacketView<'_>) {
        if pkt.proto() != 6 {
            return;
        }
        let me = pkt.dir as usize;
        // The opening SYN of each side: the initiator's SYN without ACK,
        // the responder's SYN with ACK.
        let want = match pkt.dir {
            Direction::Fwd => SYN,
            Direction::Bwd => SYN | ACK,
        };
        let is_syn = pkt.tcp_flags() & (SYN | ACK) == want && !st.syn[me].seen;
        if !is_syn && st.ts_first[me].is_some() {
            return;
        }
        let Some(tcp) = pkt.tcp() else { return };
        if is_syn {
            let s = &mut st.syn[me];
            s.seen = true;
            s.window = tcp.window;
            s.ttl = pkt.ttl().unwrap_or(0);
            s.v6 = pkt.decoded.v6;
            let (kinds, n) = (&mut s.kinds, &mut s.nkinds);
            let o = walk(&tcp, |k| {
                if let Some(slot) = kinds.get_mut(usize::from(*n)) {
                    *slot = k;
                }
                *n = n.saturating_add(1);
            });
            s.mss = o.mss;
            s.ws = o.ws;
            if st.ts_first[me].is_none() {
                st.ts_first[me] = o.ts.map(|t| t.0);
            }
        } else if tcp.header_len > 20 {
            st.ts_first[me] = walk(&tcp, |_| {}).ts.map(|t| t.0);
        }
    }

    fn write(&self, _flow: &FlowView<'_>, st: &FingerprintState, out: &mut RowWriter<'_>) {
        let seen = |d: usize| st.syn[d].seen.then_some(&st.syn[d]);
        for d in 0..2 {
            out.put_with(|| seen(d).map(Syn::signature));
        }
        for d in 0..2 {
            out.put(seen(d).map(|s| os_hint(initial_ttl(s.ttl), s.window)));
        }
        for d in 0..2 {
            out.put(st.ts_first[d].map(|v| f64::from(v) / UPTIME_TS_HZ / 3600.0));
        }
        for d in 0..2 {
            let s = seen(d);
            out.put(s.map(|s| i64::from(s.window)));
            out.put(s.map(|s| i64::from(s.ttl)));
            out.put(s.and_then(|s| s.mss).map(i64::from));
            out.put(s.and_then(|s| s.ws).map(i64::from));
        }
    }
}

#[cfg(test)]
mod tests;
