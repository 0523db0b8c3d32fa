//! `http2`: cleartext HTTP/2 (h2c) over TCP — connection preface, frames
//! counted by type over the whole connection, streams, server push — and
//! HTTP/3 recognised by the ALPN of a QUIC client's Initial packets
//! (docs/semantics.md#http2).
//!
//! Each direction of a TCP flow is read as a stream in sequence order by
//! [`proto::http2::DirParser`](crate::proto::http2::DirParser): from the
//! stream start (prior knowledge: the client's 24-byte preface, the
//! server's SETTINGS) or after an HTTP/1.1 header block (Upgrade: the
//! client's request, the server's 101 response). Frames are counted as
//! their 9-byte headers complete, over the whole flow; payloads are
//! skipped, not kept. A [`SeqTracker`] gives each byte once
//! (retransmissions are skipped) and stops a direction at its first hole
//! (a lost or reordered segment, or one cut by the snaplen): frames after
//! a hole are not counted (`http2_incomplete`). A direction that does not
//! start like HTTP/2 is given up at once (or at the end of its first
//! HTTP/1 header block), and then costs one test per packet.
//!
//! UDP flows: a flow whose first datagram starts with a QUIC long header
//! is followed as the `quic` group does until its client's ClientHello is
//! decrypted and parsed (or given up); `http3_detected` is true when that
//! ClientHello offers an ALPN name starting with `h3`.

use super::quic::{starts_quic, QuicFlow};
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter};
use crate::config::Config;
use crate::packet::PacketView;
use crate::proto::http2::{self as h2, DirParser, Event, FrameHeader, Segment, SeqTracker};
use std::sync::Arc;

const INT: ColumnType = ColumnType::Int;
const STR: ColumnType = ColumnType::Str;
const BOOL: ColumnType = ColumnType::Bool;

/// The `http2` columns, in output order: the reference code's, then ours.
pub const COLUMNS: &[Column] = &[
    Column::always("http2_detected", BOOL, "", "The TCP flow speaks HTTP/2: a direction's client preface (at its start or after its first HTTP/1.1 request header block) or 101 response (Upgrade) is followed by a SETTINGS frame on stream 0 without ACK. Every count below is 0 when false."),
    Column::always("http3_detected", BOOL, "", "The UDP flow is QUIC and its client's ClientHello (decrypted from the Initial packets) offers an ALPN name starting with h3."),
    Column::always("http2_preface_seen", BOOL, "", "The client connection preface (PRI * HTTP/2.0 ... SM, 24 bytes) starts a direction's stream, or follows its first HTTP/1.1 request header block (even if no valid SETTINGS frame follows)."),
    Column::always("http2_frame_count", INT, "frames", "HTTP/2 frames (complete 9-byte headers) of both directions, any type."),
    Column::always("http2_data_frames", INT, "frames", "DATA (type 0) frames, both directions."),
    Column::always("http2_headers_frames", INT, "frames", "HEADERS (type 1) frames, both directions."),
    Column::always("http2_settings_frames", INT, "frames", "SETTINGS (type 4) frames, both directions, ACKs included."),
    Column::always("http2_push_promise_frames", INT, "frames", "PUSH_PROMISE (type 5) frames, both directions."),
    Column::always("http2_goaway_frames", INT, "frames", "GOAWAY (type 7) frames, both directions."),
    Column::always("http2_window_update_frames", INT, "frames", "WINDOW_UPDATE (type 8) frames, both directions."),
    Column::always("http2_streams_estimate", INT, "streams", "Distinct non-zero stream IDs of the frame headers, both directions (IDs of 1024 and above: those greater than every earlier one of the same parity, exact when each endpoint opens its streams in increasing order, RFC 9113 5.1.1)."),
    Column::always("http2_server_push", BOOL, "", "The flow has a PUSH_PROMISE frame."),
    Column::always("http2_multiplexed", BOOL, "", "More than one stream (http2_streams_estimate > 1)."),
    Column::nullable("http_version", STR, "", "h2 when http2_detected, h3 when http3_detected; null otherwise."),
    Column::always("http2_priority_frames", INT, "frames", "PRIORITY (type 2) frames, both directions."),
    Column::always("http2_rst_stream_frames", INT, "frames", "RST_STREAM (type 3) frames, both directions."),
    Column::always("http2_ping_frames", INT, "frames", "PING (type 6) frames, both directions, ACKs included."),
    Column::always("http2_continuation_frames", INT, "frames", "CONTINUATION (type 9) frames, both directions."),
    Column::always("http2_upgrade", BOOL, "", "HTTP/2 started by an HTTP/1.1 Upgrade: some HTTP/2 direction's frames follow an HTTP/1.1 header block (the client's request, the server's 101 response)."),
    Column::always("http2_incomplete", BOOL, "", "An HTTP/2 direction stopped at a hole in its TCP sequence (lost, reordered or snaplen-cut segment): its later frames are not counted."),
    Column::nullable("http2_client_settings", STR, "", "Entries of the client's first SETTINGS frame (the one after its preface) as id:value joined by ; in frame order (Akamai's HTTP/2 fingerprint's first field; empty text for no entry; at most 32 entries); null when not detected or no client preface."),
    Column::nullable("http2_server_settings", STR, "", "The same for the other direction's first SETTINGS frame (the server's connection preface); null when that direction is not HTTP/2."),
];

/// SETTINGS entries kept per direction; more are not listed.
pub const MAX_SETTINGS: usize = 32;

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "http2",
    summary: "Cleartext HTTP/2 (h2c, prior knowledge or Upgrade): preface, frames by type over the whole flow, streams, server push; HTTP/3 from the QUIC ClientHello's ALPN.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Http2) },
};

struct Http2;

/// One direction of a TCP flow: its sequence tracker and frame reader.
#[derive(Debug, Default)]
struct Side {
    seq: SeqTracker,
    parser: DirParser,
}

/// What the frames added up to (allocated at the flow's first frame).
#[derive(Debug, Default)]
struct Acc {
    /// Frames by type 0–9.
    by_type: [u32; 10],
    /// Frames of every type.
    total: u32,
    /// Stream IDs below [`EXACT_IDS`] seen (bit per ID).
    low_ids: [u64; EXACT_IDS as usize / 64],
    /// Largest odd and even stream ID seen at or above [`EXACT_IDS`].
    max_id: [u32; 2],
    streams: u32,
    /// Per direction: the entries of its first frame (the SETTINGS frame
    /// of its connection preface).
    settings: [Vec<(u16, u32)>; 2],
    /// Per direction: a partial settings entry and its length.
    part: [[u8; 6]; 2],
    part_len: [u8; 2],
    /// Per direction: payload bytes of the first SETTINGS frame not read
    /// yet, and whether that frame's entries are being read (then 1), not
    /// reached yet (0) or done (2).
    set_left: [u32; 2],
    set_state: [u8; 2],
}

/// Stream IDs below this are counted exactly (a bitmap); above it, a
/// stream counts when its ID exceeds every earlier one of its parity.
pub const EXACT_IDS: u32 = 1024;

impl Acc {
    fn event(&mut self, d: usize, e: Event<'_>) {
        match e {
            Event::Frame(h) => {
                if self.set_state[d] == 0 && h.ty == h2::SETTINGS && h.length > 0 {
                    self.set_state[d] = 1;
                    self.set_left[d] = h.length;
                } else {
                    self.set_state[d] = 2;
                }
                self.frame(h);
            }
            Event::Payload(b) if self.set_state[d] == 1 => {
                let take = b.len().min(self.set_left[d] as usize);
                for &x in &b[..take] {
                    self.part[d][self.part_len[d] as usize] = x;
                    self.part_len[d] += 1;
                    if self.part_len[d] == 6 {
                        self.part_len[d] = 0;
                        if self.settings[d].len() < MAX_SETTINGS {
                            self.settings[d].extend(h2::settings(&self.part[d]));
                        }
                    }
                }
                self.set_left[d] -= take as u32;
                if self.set_left[d] == 0 {
                    self.set_state[d] = 2;
                }
            }
            Event::Payload(_) => {}
        }
    }

    fn frame(&mut self, h: FrameHeader) {
        self.total += 1;
        if let Some(c) = self.by_type.get_mut(h.ty as usize) {
            *c += 1;
        }
        let id = h.stream;
        if id == 0 {
            return;
        }
        if id < EXACT_IDS {
            let (w, bit) = ((id / 64) as usize, 1u64 << (id % 64));
            if self.low_ids[w] & bit == 0 {
                self.low_ids[w] |= bit;
                self.streams += 1;
            }
        } else {
            let m = &mut self.max_id[(id & 1) as usize];
            if id > *m {
                *m = id;
                self.streams += 1;
            }
        }
    }
}

/// No QUIC look-up yet for this UDP flow.
const H3_UNKNOWN: u8 = 0;
/// Decided: not HTTP/3.
const H3_NO: u8 = 1;
/// Decided: HTTP/3.
const H3_YES: u8 = 2;

/// Per-flow state: 96 bytes (two direction readers of 28 bytes and
/// trackers of 8, two boxes); a TCP flow's counters (256 bytes, with the
/// 128-byte bitmap of stream IDs, plus each direction's SETTINGS entries,
/// at most 32) are boxed at its first frame;
/// a QUIC flow holds the `quic` group's flow state (about 120 bytes, plus
/// its CRYPTO reassembly) until the ClientHello is parsed or given up.
#[derive(Debug, Default)]
pub(crate) struct Http2State {
    sides: [Side; 2],
    acc: Option<Box<Acc>>,
    quic: Option<Box<QuicFlow>>,
    h3: u8,
    /// Some direction stopped at a hole.
    gap: bool,
}

const _: () = assert!(std::mem::size_of::<Http2State>() <= 96);

impl FeatureGroup for Http2 {
    type State = Http2State;

    fn needs(&self) -> Needs {
        Needs {
            headers: true,
            payload_bytes: u32::from(u16::MAX),
            ..Needs::SUMMARY
        }
    }

    fn new_state(&self) -> Http2State {
        Http2State::default()
    }

    #[inline]
    fn update(&self, st: &mut Http2State, pkt: &PacketView<'_>) {
        match pkt.proto() {
            6 => tcp_segment(st, pkt),
            17 => udp_datagram(st, pkt),
            _ => {}
        }
    }

    fn write(&self, _flow: &FlowView<'_>, st: &Http2State, out: &mut RowWriter<'_>) {
        let sides = &st.sides;
        // A server that sends SETTINGS at once to any client (prior
        // knowledge) is HTTP/2 only if the client's preface comes too.
        let detected = sides
            .iter()
            .any(|s| s.parser.is_http2() && (s.parser.preface_seen() || s.parser.upgraded()));
        let none = Acc::default();
        let a = match &st.acc {
            Some(a) if detected => a,
            _ => &none,
        };
        let h3 = st.h3 == H3_YES;
        let n = |t: u8| i64::from(a.by_type[t as usize]);
        out.put(detected);
        out.put(h3);
        out.put(sides.iter().any(|s| s.parser.preface_seen()));
        out.put(i64::from(a.total));
        out.put(n(h2::DATA));
        out.put(n(h2::HEADERS));
        out.put(n(h2::SETTINGS));
        out.put(n(h2::PUSH_PROMISE));
        out.put(n(h2::GOAWAY));
        out.put(n(h2::WINDOW_UPDATE));
        out.put(i64::from(a.streams));
        out.put(n(h2::PUSH_PROMISE) > 0);
        out.put(a.streams > 1);
        out.put(if detected {
            Some("h2")
        } else if h3 {
            Some("h3")
        } else {
            None
        });
        out.put(n(h2::PRIORITY));
        out.put(n(h2::RST_STREAM));
        out.put(n(h2::PING));
        out.put(n(h2::CONTINUATION));
        out.put(
            detected
                && sides
                    .iter()
                    .any(|s| s.parser.upgraded() && s.parser.is_http2()),
        );
        out.put(detected && st.gap);
        let client = sides
            .iter()
            .position(|s| s.parser.is_http2() && s.parser.preface_seen());
        let text = |d: usize| {
            let mut t = String::new();
            for (i, (id, v)) in a.settings[d].iter().enumerate() {
                if i > 0 {
                    t.push(';');
                }
                t.push_str(&format!("{id}:{v}"));
            }
            t
        };
        out.put_with(|| client.filter(|_| detected).map(text));
        let server = match client {
            Some(c) => Some(1 - c),
            None => sides.iter().position(|s| s.parser.is_http2()),
        };
        out.put_with(|| {
            server
                .filter(|&d| detected && sides[d].parser.is_http2())
                .map(text)
        });
    }
}

/// Feed one TCP segment to its direction.
#[inline]
fn tcp_segment(st: &mut Http2State, pkt: &PacketView<'_>) {
    let side = &mut st.sides[pkt.dir as usize];
    if side.parser.is_done() {
        return;
    }
    let Some(tcp) = pkt.tcp() else { return };
    let syn = pkt.tcp_flags() & 0x02 != 0;
    let fresh = match side
        .seq
        .segment(tcp.seq, syn, pkt.payload(), pkt.payload_len())
    {
        Segment::New(b) => b,
        Segment::Last(b) => b,
        Segment::Gap | Segment::Stopped => &[],
    };
    if !fresh.is_empty() {
        let acc = &mut st.acc;
        let d = pkt.dir as usize;
        side.parser.feed(fresh, &mut |e| {
            acc.get_or_insert_with(Default::default).event(d, e);
        });
    }
    if side.seq.stopped() {
        st.gap |= side.parser.is_http2();
        side.parser.stop();
    }
}

/// Follow a UDP flow's QUIC client Initials until the ClientHello is read.
#[inline]
fn udp_datagram(st: &mut Http2State, pkt: &PacketView<'_>) {
    if st.h3 != H3_UNKNOWN {
        return;
    }
    let payload = pkt.payload();
    if payload.is_empty() {
        return;
    }
    let q = match &mut st.quic {
        Some(q) => q,
        None => {
            let Some((v, dcid, scid)) = starts_quic(payload) else {
                // The flow's first datagram is not QUIC's.
                st.h3 = H3_NO;
                return;
            };
            st.quic.insert(Box::new(QuicFlow::new(v, dcid, scid)))
        }
    };
    q.datagram(payload, pkt.dir);
    if let Some(yes) = q.offers_h3() {
        st.h3 = if yes { H3_YES } else { H3_NO };
        st.quic = None;
    }
}

#[cfg(test)]
mod tests;
