//! DNS messages (RFC 1035 §4.1) over borrowed bytes: the header, the
//! questions and the resource records' fixed fields, with name
//! decompression (RFC 1035 §4.1.4) that is bounded and loop-free.
//!
//! Every function takes the message's bytes (for DNS over TCP, without
//! the 2-byte length prefix: see [`tcp_message`]) and never panics: bytes
//! that do not form what is asked for give `None`.
//!
//! Names: a compression pointer must point before the start of the
//! labels being read (the name's own start, or the previous pointer's
//! target), so each jump goes strictly backwards and no name can loop;
//! at most [`MAX_JUMPS`] pointers are followed and a name's uncompressed
//! wire length (labels with their length bytes, and the final zero) is at
//! most [`MAX_NAME_LEN`] bytes. Label types other than "normal" (00) and
//! "pointer" (11) are refused.

/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 12;
/// Longest name on the wire, uncompressed (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Most compression pointers followed in one name (each goes strictly
/// backwards, so this bounds the work, not the result: a name of
/// [`MAX_NAME_LEN`] bytes has at most 127 labels).
pub const MAX_JUMPS: usize = 127;

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Transaction ID.
    pub id: u16,
    /// The flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    pub flags: u16,
    /// QDCOUNT: questions.
    pub qdcount: u16,
    /// ANCOUNT: answer records.
    pub ancount: u16,
    /// NSCOUNT: authority records.
    pub nscount: u16,
    /// ARCOUNT: additional records.
    pub arcount: u16,
}

impl Header {
    /// The header at the start of `msg`.
    pub fn parse(msg: &[u8]) -> Option<Header> {
        let h = msg.get(..HEADER_LEN)?;
        let w = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Some(Header {
            id: w(0),
            flags: w(2),
            qdcount: w(4),
            ancount: w(6),
            nscount: w(8),
            arcount: w(10),
        })
    }
    /// QR: a response.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// OPCODE.
    pub fn opcode(&self) -> u8 {
        (self.flags >> 11 & 0xf) as u8
    }
    /// TC: truncated.
    pub fn truncated(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    /// RD: recursion desired.
    pub fn recursion_desired(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    /// RA: recursion available.
    pub fn recursion_available(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    /// RCODE (the header's 4 bits; EDNS extended bits are not added).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

/// A name inside a message, checked: where it starts, where the bytes
/// after it are, its label count and its text length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
    /// Labels (the root name has none).
    pub labels: u8,
    /// Uncompressed wire length (at most [`MAX_NAME_LEN`]).
    pub wire_len: u8,
}

/// Read the name at `off` of `msg`: the name and the offset just after it
/// (after its first pointer, if compressed).
pub fn name(msg: &[u8], off: usize) -> Option<(Name<'_>, usize)> {
    let mut pos = off;
    // Pointers must go before this: the start of the labels being read.
    let mut floor = off;
    let mut end = None;
    let mut jumps = 0;
    let mut wire = 1usize;
    let mut labels = 0u8;
    loop {
        let len = *msg.get(pos)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                let after = end.unwrap_or(pos + 1);
                return Some((
                    Name {
                        msg,
                        start: off,
                        labels,
                        wire_len: wire as u8,
                    },
                    after,
                ));
            }
            0x00 => {
                let l = len as usize;
                wire += l + 1;
                if wire > MAX_NAME_LEN || pos + 1 + l > msg.len() {
                    return None;
                }
                labels += 1;
                pos += 1 + l;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1)?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(lo);
                jumps += 1;
                if target >= floor || jumps > MAX_JUMPS {
                    return None;
                }
                end.get_or_insert(pos + 2);
                floor = target;
                pos = target;
            }
            _ => return None,
        }
    }
}

impl Name<'_> {
    /// The labels' bytes, in order (the name was checked when read).
    pub fn for_each_label(&self, mut f: impl FnMut(&[u8])) {
        let msg = self.msg;
        let mut pos = self.start;
        for _ in 0..=(MAX_JUMPS + MAX_NAME_LEN) {
            let Some(&len) = msg.get(pos) else { return };
            match len & 0xc0 {
                0x00 if len == 0 => return,
                0x00 => {
                    let Some(l) = msg.get(pos + 1..pos + 1 + len as usize) else {
                        return;
                    };
                    f(l);
                    pos += 1 + len as usize;
                }
                0xc0 => {
                    let Some(&lo) = msg.get(pos + 1) else { return };
                    pos = usize::from(len & 0x3f) << 8 | usize::from(lo);
                }
                _ => return,
            }
        }
    }

    /// The name as dotted text without the final dot (the root name is
    /// ""): label bytes that are printable ASCII other than `.` and `\`
    /// as they are, every other byte as `\DDD` (its decimal value, RFC
    /// 1035 §5.1's master-file escape).
    pub fn write_text(&self, out: &mut String) {
        let mut first = true;
        self.for_each_label(|l| {
            if !first {
                out.push('.');
            }
            first = false;
            for &b in l {
                if (0x21..0x7f).contains(&b) && b != b'.' && b != b'\\' {
                    out.push(b as char);
                } else {
                    out.push('\\');
                    out.push((b'0' + b / 100) as char);
                    out.push((b'0' + b / 10 % 10) as char);
                    out.push((b'0' + b % 10) as char);
                }
            }
        });
    }

    /// [`write_text`](Self::write_text) into a new string.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(self.wire_len as usize);
        self.write_text(&mut s);
        s
    }
}

/// A question: QNAME, QTYPE, QCLASS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question<'a> {
    /// QNAME.
    pub name: Name<'a>,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// A resource record's fixed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Owner name.
    pub name: Name<'a>,
    /// TYPE.
    pub rtype: u16,
    /// CLASS.
    pub class: u16,
    /// TTL, seconds.
    pub ttl: u32,
    /// RDATA (RDLENGTH bytes).
    pub rdata: &'a [u8],
}

fn u16_at(msg: &[u8], off: usize) -> Option<u16> {
    let b = msg.get(off..off + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// The question at `off` and the offset after it.
pub fn question(msg: &[u8], off: usize) -> Option<(Question<'_>, usize)> {
    let (name, p) = name(msg, off)?;
    Some((
        Question {
            name,
            qtype: u16_at(msg, p)?,
            qclass: u16_at(msg, p + 2)?,
        },
        p + 4,
    ))
}

/// The resource record at `off` and the offset after it.
pub fn record(msg: &[u8], off: usize) -> Option<(Record<'_>, usize)> {
    let (name, p) = name(msg, off)?;
    let f = msg.get(p..p + 10)?;
    let rdlen = usize::from(u16::from_be_bytes([f[8], f[9]]));
    let rdata = msg.get(p + 10..p + 10 + rdlen)?;
    Some((
        Record {
            name,
            rtype: u16::from_be_bytes([f[0], f[1]]),
            class: u16::from_be_bytes([f[2], f[3]]),
            ttl: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
            rdata,
        },
        p + 10 + rdlen,
    ))
}

/// A message whose header and whole question section parse.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The header.
    pub header: Header,
    msg: &'a [u8],
    /// Offset just after the question section.
    answers_off: usize,
}

impl<'a> Message<'a> {
    /// The message `msg`, when its header and all QDCOUNT questions are
    /// there and well formed (what follows is read on demand).
    pub fn parse(msg: &'a [u8]) -> Option<Message<'a>> {
        let header = Header::parse(msg)?;
        let mut off = HEADER_LEN;
        for _ in 0..header.qdcount {
            off = question(msg, off)?.1;
        }
        Some(Message {
            header,
            msg,
            answers_off: off,
        })
    }

    /// The questions, in order (all known to parse).
    pub fn questions(&self) -> impl Iterator<Item = Question<'a>> + 'a {
        let msg = self.msg;
        let mut off = HEADER_LEN;
        (0..self.header.qdcount).map_while(move |_| {
            let (q, next) = question(msg, off)?;
            off = next;
            Some(q)
        })
    }

    /// The first question, if any.
    pub fn first_question(&self) -> Option<Question<'a>> {
        question(self.msg, HEADER_LEN)
            .filter(|_| self.header.qdcount > 0)
            .map(|q| q.0)
    }

    /// The answer section's records, in order, as far as they parse (at
    /// most ANCOUNT; a record that does not parse ends the iteration).
    pub fn answers(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        let msg = self.msg;
        let mut off = self.answers_off;
        (0..self.header.ancount).map_while(move |_| {
            let (r, next) = record(msg, off)?;
            off = next;
            Some(r)
        })
    }
}

/// DNS over TCP (RFC 1035 §4.2.2): the message at the start of `stream`
/// after its 2-byte length, and the bytes the framing takes (2 + length);
/// `None` while the length or the message is not all there.
pub fn tcp_message(stream: &[u8]) -> Option<(&[u8], usize)> {
    let len = usize::from(u16_at(stream, 0)?);
    Some((stream.get(2..2 + len)?, 2 + len))
}

/// The mnemonic of a query type as the reference names them (`TYPE<n>`
/// for the others).
pub fn type_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        _ => format!("TYPE{t}"),
    }
}

/// The mnemonic of an RCODE (RFC 1035 §4.1.1; `RCODE<n>` for the others).
pub fn rcode_name(r: u8) -> String {
    match r {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        _ => format!("RCODE{r}"),
    }
}

#[cfg(test)]
mod tests;
