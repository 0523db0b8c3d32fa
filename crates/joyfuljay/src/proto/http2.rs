//! Cleartext HTTP/2 (RFC 9113, "h2c"): the connection preface and the
//! frame headers of one direction of a TCP connection, read as a stream.
//!
//! [`DirParser`] is fed the bytes of one direction in sequence order, in
//! pieces of any size (as TCP segments bring them), and reports every
//! frame header it completes and the frame payload bytes as they come
//! ([`Event`]); [`settings`] reads the entries of a SETTINGS payload. It keeps no more than one partial 9-byte
//! frame header and the count of payload bytes left in the current frame,
//! so a whole connection is read in constant memory. Where the frames
//! start:
//!
//! - **Prior knowledge (RFC 9113 §3.3).** The client's stream starts with
//!   the 24-byte preface [`PREFACE`], then frames; the server's stream
//!   starts with frames.
//! - **HTTP/1.1 Upgrade (RFC 7540 §3.2).** The client's stream starts with
//!   an HTTP/1.1 request (header block ended by an empty line), then the
//!   preface, then frames; the server's stream starts with a `101`
//!   response (`HTTP/1.x 101`, header block ended by an empty line), then
//!   frames. A request body before the preface is not supported (the
//!   bytes after the request's header block must be the preface).
//!
//! In both cases the first frame of each side must be a SETTINGS frame
//! (RFC 9113 §3.4: the server's preface, and the client's after the 24
//! magic bytes) on stream 0 without the ACK flag and with a length that is
//! a multiple of 6 and at most 16384; a direction that fails this is not
//! HTTP/2 and is read no further. A direction is also given up when its
//! first byte cannot start any of the above (not `P`, not 0, not an
//! upper-case ASCII letter), when an HTTP/1 header block runs past
//! [`MAX_HTTP1_HEADER`] bytes, or when what follows a request's header
//! block is not the preface.
//!
//! [`SeqTracker`] turns TCP segments (sequence number, SYN flag, payload)
//! into the new in-order bytes of the direction: retransmitted bytes are
//! given once, and a segment that starts beyond the next expected byte (a
//! lost or reordered segment: a hole) stops the direction for good.
//!
//! Nothing here panics on any input.

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Longest HTTP/1.1 header block (status or request line included) read
/// before the preface or the frames of an Upgrade; a longer one gives the
/// direction up.
pub const MAX_HTTP1_HEADER: u32 = 8192;

/// Largest first SETTINGS frame accepted (the initial
/// SETTINGS_MAX_FRAME_SIZE).
pub const MAX_FIRST_SETTINGS: u32 = 16384;

/// Frame type DATA.
pub const DATA: u8 = 0x0;
/// Frame type HEADERS.
pub const HEADERS: u8 = 0x1;
/// Frame type PRIORITY.
pub const PRIORITY: u8 = 0x2;
/// Frame type RST_STREAM.
pub const RST_STREAM: u8 = 0x3;
/// Frame type SETTINGS.
pub const SETTINGS: u8 = 0x4;
/// Frame type PUSH_PROMISE.
pub const PUSH_PROMISE: u8 = 0x5;
/// Frame type PING.
pub const PING: u8 = 0x6;
/// Frame type GOAWAY.
pub const GOAWAY: u8 = 0x7;
/// Frame type WINDOW_UPDATE.
pub const WINDOW_UPDATE: u8 = 0x8;
/// Frame type CONTINUATION.
pub const CONTINUATION: u8 = 0x9;

/// A frame header (RFC 9113 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub length: u32,
    /// Frame type.
    pub ty: u8,
    /// Flags.
    pub flags: u8,
    /// Stream identifier (31 bits; the reserved bit dropped).
    pub stream: u32,
}

impl FrameHeader {
    /// The header in these 9 bytes.
    pub fn parse(b: &[u8; 9]) -> FrameHeader {
        FrameHeader {
            length: u32::from_be_bytes([0, b[0], b[1], b[2]]),
            ty: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        }
    }

    /// Whether this can be a side's first frame: SETTINGS on stream 0,
    /// not an ACK, length a multiple of 6 and at most
    /// [`MAX_FIRST_SETTINGS`].
    pub fn is_preface_settings(&self) -> bool {
        self.ty == SETTINGS
            && self.stream == 0
            && self.flags & 0x1 == 0
            && self.length.is_multiple_of(6)
            && self.length <= MAX_FIRST_SETTINGS
    }
}

/// What [`DirParser::feed`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A frame header, complete.
    Frame(FrameHeader),
    /// The next payload bytes of the frame last reported, in order (a
    /// frame's payload may come in several pieces, or not at all if the
    /// stream ends first).
    Payload(&'a [u8]),
}

/// Where a [`DirParser`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    /// No byte seen.
    #[default]
    Start,
    /// Matching the preface; `n` bytes matched.
    Preface,
    /// In an HTTP/1.1 header block; `n` bytes read.
    Http1,
    /// Reading frames.
    Frames,
    /// Given up (not HTTP/2, or stopped): nothing more is read.
    Done,
}

/// The status-line start of a 101 response; `?` is any byte.
const STATUS_101: &[u8; 12] = b"HTTP/1.? 101";
/// The end of an HTTP/1 header block.
const CRLFCRLF: &[u8; 4] = b"\r\n\r\n";

/// The streaming reader of one direction (24 bytes). See the [module
/// documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct DirParser {
    /// Payload bytes of the current frame not read yet.
    left: u32,
    /// Preface bytes matched, or HTTP/1 header bytes read.
    n: u32,
    /// The partial frame header.
    hdr: [u8; 9],
    /// Bytes of `hdr` held.
    hdr_len: u8,
    phase: Phase,
    /// HTTP/1: bytes of `CRLFCRLF` matched.
    crlf: u8,
    /// HTTP/1: the header block still starts like a 101 response.
    is_101: bool,
    /// The preface is matched after an HTTP/1 request (a mismatch gives
    /// up instead of reading an HTTP/1 header block).
    after_http1: bool,
    /// The next frame header is the direction's first.
    first: bool,
    /// The 24-byte client preface was seen.
    preface: bool,
    /// The direction's first frame was a valid SETTINGS frame: HTTP/2.
    http2: bool,
    /// The frames followed an HTTP/1.1 header block (Upgrade).
    upgrade: bool,
}

impl DirParser {
    /// A reader at the start of a direction.
    pub fn new() -> DirParser {
        DirParser::default()
    }

    /// True once the client preface was seen.
    pub fn preface_seen(&self) -> bool {
        self.preface
    }

    /// True once the direction's first frame was a valid SETTINGS frame.
    pub fn is_http2(&self) -> bool {
        self.http2
    }

    /// True when the frames followed an HTTP/1.1 header block (Upgrade).
    pub fn upgraded(&self) -> bool {
        self.upgrade
    }

    /// True when nothing more will be read (given up or stopped).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Read nothing more.
    pub fn stop(&mut self) {
        self.phase = Phase::Done;
    }

    /// Reads the next bytes of the direction, calling `event` with each
    /// frame header completed and each piece of frame payload read.
    pub fn feed<'a>(&mut self, mut data: &'a [u8], event: &mut impl FnMut(Event<'a>)) {
        while let Some((&b, rest)) = data.split_first() {
            match self.phase {
                Phase::Done => return,
                Phase::Start => {
                    match b {
                        b'P' => {
                            self.phase = Phase::Preface;
                            self.n = 0;
                        }
                        0 => {
                            self.phase = Phase::Frames;
                            self.first = true;
                        }
                        b'A'..=b'Z' => self.enter_http1(),
                        _ => self.phase = Phase::Done,
                    }
                    // Read `b` again in the new phase.
                    continue;
                }
                Phase::Preface => {
                    if b == PREFACE[self.n as usize] {
                        self.n += 1;
                        if self.n as usize == PREFACE.len() {
                            self.preface = true;
                            self.phase = Phase::Frames;
                            self.first = true;
                        }
                    } else if self.after_http1 || self.n >= 18 {
                        self.phase = Phase::Done;
                        return;
                    } else {
                        // An HTTP/1 request starting with `P` (POST, PUT,
                        // ...): read the bytes matched so far as its start.
                        let n = self.n as usize;
                        self.enter_http1();
                        for &c in &PREFACE[..n] {
                            self.http1_byte(c);
                        }
                        continue;
                    }
                }
                Phase::Http1 => self.http1_byte(b),
                Phase::Frames => {
                    if self.left > 0 {
                        let k = (self.left as usize).min(data.len());
                        self.left -= k as u32;
                        event(Event::Payload(&data[..k]));
                        data = &data[k..];
                        continue;
                    }
                    self.hdr[self.hdr_len as usize] = b;
                    self.hdr_len += 1;
                    if self.hdr_len == 9 {
                        self.hdr_len = 0;
                        let h = FrameHeader::parse(&self.hdr);
                        if self.first {
                            self.first = false;
                            if !h.is_preface_settings() {
                                self.phase = Phase::Done;
                                return;
                            }
                            self.http2 = true;
                        }
                        self.left = h.length;
                        event(Event::Frame(h));
                    }
                }
            }
            data = rest;
        }
    }

    fn enter_http1(&mut self) {
        self.phase = Phase::Http1;
        self.n = 0;
        self.crlf = 0;
        self.is_101 = true;
    }

    /// One byte of an HTTP/1 header block.
    fn http1_byte(&mut self, b: u8) {
        if let Some(&p) = STATUS_101.get(self.n as usize) {
            if p != b'?' && p != b {
                self.is_101 = false;
            }
        }
        self.n += 1;
        if b == CRLFCRLF[self.crlf as usize] {
            self.crlf += 1;
        } else {
            self.crlf = u8::from(b == b'\r');
        }
        if self.crlf as usize == CRLFCRLF.len() {
            self.crlf = 0;
            self.upgrade = true;
            if self.is_101 && self.n >= STATUS_101.len() as u32 {
                self.phase = Phase::Frames;
                self.first = true;
            } else {
                self.phase = Phase::Preface;
                self.after_http1 = true;
                self.n = 0;
            }
        } else if self.n >= MAX_HTTP1_HEADER {
            self.phase = Phase::Done;
        }
    }
}

/// The (identifier, value) entries of a SETTINGS frame payload (RFC 9113
/// §6.5.1), in order; a trailing partial entry is ignored.
pub fn settings(payload: &[u8]) -> impl Iterator<Item = (u16, u32)> + '_ {
    payload.chunks_exact(6).map(|e| {
        (
            u16::from_be_bytes([e[0], e[1]]),
            u32::from_be_bytes([e[2], e[3], e[4], e[5]]),
        )
    })
}

/// What a segment brought to a [`SeqTracker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// These bytes follow the bytes given so far (possibly none: a pure
    /// ACK, a retransmission of bytes already given).
    New(&'a [u8]),
    /// These bytes follow the bytes given so far, but the segment was cut
    /// short by the capture: a hole follows them and the direction stops.
    Last(&'a [u8]),
    /// The segment starts beyond the next expected byte (a lost or
    /// reordered segment before it): the direction stops.
    Gap,
    /// The direction stopped earlier: nothing more is given.
    Stopped,
}

/// The next expected sequence number of one TCP direction (8 bytes). The
/// stream starts after the SYN (ISN + 1), or at the first segment with
/// data when no SYN came first (a capture started mid-connection).
#[derive(Debug, Clone, Copy, Default)]
pub struct SeqTracker {
    next: u32,
    /// 0: no start yet; 1: tracking; 2: stopped.
    state: u8,
}

impl SeqTracker {
    /// A tracker before the first segment.
    pub fn new() -> SeqTracker {
        SeqTracker::default()
    }

    /// True once stopped by a hole.
    pub fn stopped(&self) -> bool {
        self.state == 2
    }

    /// Accounts one segment: sequence number `seq`, SYN flag, `wire_len`
    /// payload bytes on the wire of which `data` were captured (a prefix).
    pub fn segment<'a>(
        &mut self,
        seq: u32,
        syn: bool,
        data: &'a [u8],
        wire_len: u32,
    ) -> Segment<'a> {
        if self.state == 2 {
            return Segment::Stopped;
        }
        let start = if syn { seq.wrapping_add(1) } else { seq };
        if self.state == 0 {
            if !syn && wire_len == 0 {
                return Segment::New(&[]);
            }
            self.next = start;
            self.state = 1;
        }
        if wire_len == 0 {
            return Segment::New(&[]);
        }
        let ahead = start.wrapping_sub(self.next) as i32;
        if ahead > 0 {
            self.state = 2;
            return Segment::Gap;
        }
        let skip = ahead.unsigned_abs();
        if skip >= wire_len {
            // Every byte was given already.
            return Segment::New(&[]);
        }
        self.next = start.wrapping_add(wire_len);
        let fresh = data.get(skip as usize..).unwrap_or(&[]);
        if data.len() < wire_len as usize {
            self.state = 2;
            return Segment::Last(fresh);
        }
        Segment::New(fresh)
    }
}

#[cfg(test)]
mod tests;
