//! SSH (RFC 4253): the identification line, the binary packet framing of
//! the cleartext start of a connection, and `SSH_MSG_KEXINIT`.
//!
//! The functions read the start of one direction of a TCP connection, as
//! reassembled in sequence order, and never panic:
//!
//! - [`identification`]: the `SSH-protoversion-softwareversion [comments]`
//!   line (RFC 4253 §4.2), ended by LF (CR LF normally; a bare LF is
//!   accepted). On the server side other lines may come first
//!   (`other_lines`); on the client side the stream must start with `SSH-`.
//!   The banner is the line without its CR LF.
//! - [`binary_packet`]: one `uint32 packet_length, byte padding_length,
//!   payload, padding` packet without MAC (the packets before `NEWKEYS`).
//!   Lengths are checked against each other and bounded by
//!   [`MAX_PACKET_LEN`].
//! - [`kexinit`]: the payload of `SSH_MSG_KEXINIT` (RFC 4253 §7.1): cookie,
//!   ten name-lists, `first_kex_packet_follows`, `reserved`, each bounded
//!   by the payload.

/// `SSH_MSG_KEXINIT`.
pub const MSG_KEXINIT: u8 = 20;
/// `SSH_MSG_NEWKEYS`: the packets after it in the same direction are
/// encrypted.
pub const MSG_NEWKEYS: u8 = 21;
/// `SSH_MSG_USERAUTH_REQUEST` (RFC 4252).
pub const MSG_USERAUTH_REQUEST: u8 = 50;
/// `SSH_MSG_CHANNEL_OPEN` (RFC 4254).
pub const MSG_CHANNEL_OPEN: u8 = 90;
/// Largest `packet_length` taken as an SSH binary packet (RFC 4253 §6.1:
/// implementations must handle 35000-byte packets; the first packets of a
/// connection are much smaller). A larger length is not SSH.
pub const MAX_PACKET_LEN: u32 = 35_000;

/// An identification line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident<'a> {
    /// The whole line without its line end (CR LF, or LF).
    pub line: &'a [u8],
    /// `protoversion`: the text between `SSH-` and the next `-` (`2.0`,
    /// `1.99`); `None` when the line has no second `-` or nothing between.
    pub proto: Option<&'a [u8]>,
    /// `softwareversion`: the text after `SSH-protoversion-` up to the
    /// first space (the comments follow it); `None` without `proto`.
    pub software: Option<&'a [u8]>,
}

/// The result of looking for something at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan<T> {
    /// Found; `end` is the offset just after it.
    Found(T, usize),
    /// Not complete yet: more bytes are needed. For [`identification`],
    /// the bytes before `resume` are complete lines that are not the
    /// identification (a later call may start there).
    NeedMore {
        /// Offset from which a later scan may start.
        resume: usize,
    },
    /// The bytes are not what was looked for (not SSH).
    Invalid,
}

const PREFIX: &[u8] = b"SSH-";

/// Finds the identification line at the start of `buf` (see the module
/// documentation); `other_lines`: other lines may come before it (server
/// side).
pub fn identification(buf: &[u8], other_lines: bool) -> Scan<Ident<'_>> {
    let mut start = 0;
    loop {
        let rest = &buf[start..];
        let head = &rest[..rest.len().min(PREFIX.len())];
        let is_ident = head == &PREFIX[..head.len()];
        if !is_ident && !other_lines {
            return Scan::Invalid;
        }
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Scan::NeedMore { resume: start };
        };
        if is_ident && head.len() == PREFIX.len() {
            let mut line = &rest[..nl];
            if let [l @ .., b'\r'] = line {
                line = l;
            }
            return Scan::Found(parse_ident(line), start + nl + 1);
        }
        if !other_lines {
            // A line shorter than "SSH-" ended already.
            return Scan::Invalid;
        }
        start += nl + 1;
    }
}

/// Splits an identification line (starting with `SSH-`, without line end).
fn parse_ident(line: &[u8]) -> Ident<'_> {
    let after = &line[PREFIX.len().min(line.len())..];
    let (proto, software) = match after.iter().position(|&b| b == b'-') {
        Some(d) if d > 0 => {
            let sw = &after[d + 1..];
            let sw = &sw[..sw.iter().position(|&b| b == b' ').unwrap_or(sw.len())];
            (Some(&after[..d]), Some(sw))
        }
        _ => (None, None),
    };
    Ident {
        line,
        proto,
        software,
    }
}

/// A cleartext binary packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The payload (message type first; never empty).
    pub payload: &'a [u8],
}

impl Packet<'_> {
    /// The message type: the payload's first byte.
    pub fn msg(&self) -> u8 {
        self.payload[0]
    }
}

/// Reads the cleartext binary packet (no MAC) at the start of `buf`:
/// `Found(packet, 4 + packet_length)`, `NeedMore` (`resume` 0) until the
/// whole packet is there, `Invalid` when the lengths cannot be an SSH
/// packet's (`packet_length` above [`MAX_PACKET_LEN`], or leaving no room
/// for the padding and a message type).
pub fn binary_packet(buf: &[u8]) -> Scan<Packet<'_>> {
    let Some(head) = buf.get(..5) else {
        return Scan::NeedMore { resume: 0 };
    };
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let pad = head[4] as u32;
    if len > MAX_PACKET_LEN || pad + 2 > len {
        return Scan::Invalid;
    }
    let total = 4 + len as usize;
    let Some(whole) = buf.get(..total) else {
        return Scan::NeedMore { resume: 0 };
    };
    let payload = &whole[5..total - pad as usize];
    Scan::Found(Packet { payload }, total)
}

/// The names of the ten name-lists of `SSH_MSG_KEXINIT`, in order.
pub const KEXINIT_LISTS: [&str; 10] = [
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_client_to_server",
    "encryption_algorithms_server_to_client",
    "mac_algorithms_client_to_server",
    "mac_algorithms_server_to_client",
    "compression_algorithms_client_to_server",
    "compression_algorithms_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
];

/// A parsed `SSH_MSG_KEXINIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KexInit<'a> {
    /// The 16 random bytes.
    pub cookie: &'a [u8],
    /// The ten name-lists in [`KEXINIT_LISTS`] order, as sent
    /// (comma-separated names).
    pub lists: [&'a [u8]; 10],
    /// `first_kex_packet_follows` (any non-zero byte is true).
    pub first_kex_packet_follows: bool,
    /// The reserved `uint32`.
    pub reserved: u32,
}

impl<'a> KexInit<'a> {
    /// `kex_algorithms`.
    pub fn kex(&self) -> &'a [u8] {
        self.lists[0]
    }

    /// The encryption, MAC and compression lists of one direction:
    /// client to server (`c2s`) or server to client.
    pub fn enc_mac_cmp(&self, c2s: bool) -> [&'a [u8]; 3] {
        let o = usize::from(!c2s);
        [self.lists[2 + o], self.lists[4 + o], self.lists[6 + o]]
    }

    /// The HASSH input string (salesforce/hassh): `kex;enc;mac;cmp` with
    /// the client-to-server lists (`c2s`: HASSH, from the client's
    /// KEXINIT) or the server-to-client lists (HASSHServer, from the
    /// server's).
    pub fn hassh_string(&self, c2s: bool) -> Vec<u8> {
        let [e, m, c] = self.enc_mac_cmp(c2s);
        let mut s = Vec::with_capacity(self.kex().len() + e.len() + m.len() + c.len() + 3);
        for (i, part) in [self.kex(), e, m, c].into_iter().enumerate() {
            if i > 0 {
                s.push(b';');
            }
            s.extend_from_slice(part);
        }
        s
    }
}

/// The names of a name-list: split at commas; an empty list has none.
pub fn names(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b',').filter(|_| !list.is_empty())
}

/// Parses the payload of an `SSH_MSG_KEXINIT` (message type byte first).
/// `None` unless the type is 20 and the cookie, all ten name-lists, the
/// boolean and the reserved word fit in the payload (bytes after them,
/// which RFC 4253 does not define, are ignored).
pub fn kexinit(payload: &[u8]) -> Option<KexInit<'_>> {
    if payload.first() != Some(&MSG_KEXINIT) {
        return None;
    }
    let cookie = payload.get(1..17)?;
    let mut off = 17usize;
    let mut lists: [&[u8]; 10] = [&[]; 10];
    for l in &mut lists {
        let n = payload.get(off..off.checked_add(4)?)?;
        let n = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize;
        off += 4;
        *l = payload.get(off..off.checked_add(n)?)?;
        off += n;
    }
    let follows = *payload.get(off)? != 0;
    let r = payload.get(off + 1..off + 5)?;
    Some(KexInit {
        cookie,
        lists,
        first_kex_packet_follows: follows,
        reserved: u32::from_be_bytes([r[0], r[1], r[2], r[3]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namelist(s: &str) -> Vec<u8> {
        let mut v = (s.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    }

    /// A KEXINIT payload built by hand from its lists.
    fn kexinit_payload(lists: &[&str; 10]) -> Vec<u8> {
        let mut p = vec![20];
        p.extend((0..16).map(|i| i as u8 + 0xa0));
        for l in lists {
            p.extend(namelist(l));
        }
        p.push(1);
        p.extend([0, 0, 0, 7]);
        p
    }

    /// A binary packet around `payload` with `pad` padding bytes.
    fn packet(payload: &[u8], pad: u8) -> Vec<u8> {
        let mut v = ((payload.len() + pad as usize + 1) as u32)
            .to_be_bytes()
            .to_vec();
        v.push(pad);
        v.extend_from_slice(payload);
        v.extend(std::iter::repeat_n(0xee, pad as usize));
        v
    }

    const LISTS: [&str; 10] = [
        "curve25519-sha256,ecdh-sha2-nistp256",
        "ssh-ed25519",
        "aes128-ctr,aes256-gcm@openssh.com",
        "aes256-ctr",
        "hmac-sha2-256",
        "hmac-sha2-512,hmac-sha1",
        "none,zlib@openssh.com",
        "none",
        "",
        "",
    ];

    #[test]
    fn identification_lines() {
        let b = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n\0\0\0";
        let Scan::Found(id, end) = identification(b, false) else {
            panic!()
        };
        assert_eq!(id.line, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
        assert_eq!(id.proto, Some(&b"2.0"[..]));
        assert_eq!(id.software, Some(&b"OpenSSH_9.2p1"[..]));
        assert_eq!(end, b.len() - 3);
        // 1.99, bare LF, no comments.
        let Scan::Found(id, end) = identification(b"SSH-1.99-Cisco-1.25\nX", false) else {
            panic!()
        };
        assert_eq!(
            (id.line, id.proto, id.software, end),
            (
                &b"SSH-1.99-Cisco-1.25"[..],
                Some(&b"1.99"[..]),
                Some(&b"Cisco-1.25"[..]),
                20
            )
        );
        // No second dash: the banner without version.
        let Scan::Found(id, _) = identification(b"SSH-garbage\r\n", false) else {
            panic!()
        };
        assert_eq!((id.proto, id.software), (None, None));
        let Scan::Found(id, _) = identification(b"SSH--x\r\n", false) else {
            panic!()
        };
        assert_eq!(id.proto, None);
    }

    #[test]
    fn lines_before_the_identification_only_on_the_server_side() {
        let b = b"Welcome\r\n\r\nSS\r\nSSH-2.0-srv\r\n";
        assert_eq!(identification(b, false), Scan::Invalid);
        let Scan::Found(id, end) = identification(b, true) else {
            panic!()
        };
        assert_eq!((id.line, end), (&b"SSH-2.0-srv"[..], b.len()));
        // Incomplete: where to resume.
        assert_eq!(
            identification(b"hello\r\nSSH-2.0-x", true),
            Scan::NeedMore { resume: 7 }
        );
        assert_eq!(
            identification(b"hello\r\nwor", true),
            Scan::NeedMore { resume: 7 }
        );
        assert_eq!(identification(b"SS", false), Scan::NeedMore { resume: 0 });
        assert_eq!(identification(b"", false), Scan::NeedMore { resume: 0 });
        assert_eq!(identification(b"GET / HTTP/1.1", false), Scan::Invalid);
        assert_eq!(identification(b"SSx", false), Scan::Invalid);
        assert_eq!(identification(b"SS\n", false), Scan::Invalid);
    }

    #[test]
    fn binary_packets_and_kexinit() {
        let payload = kexinit_payload(&LISTS);
        let pkt = packet(&payload, 6);
        let Scan::Found(p, end) = binary_packet(&pkt) else {
            panic!()
        };
        assert_eq!((p.msg(), p.payload, end), (20, &payload[..], pkt.len()));
        // Every cut short of the whole packet needs more.
        for cut in 0..pkt.len() {
            assert_eq!(binary_packet(&pkt[..cut]), Scan::NeedMore { resume: 0 });
        }
        let k = kexinit(p.payload).unwrap();
        assert_eq!(k.cookie, &payload[1..17]);
        for (i, l) in LISTS.iter().enumerate() {
            assert_eq!(k.lists[i], l.as_bytes());
        }
        assert!(k.first_kex_packet_follows);
        assert_eq!(k.reserved, 7);
        assert_eq!(
            k.hassh_string(true),
            b"curve25519-sha256,ecdh-sha2-nistp256;aes128-ctr,aes256-gcm@openssh.com;hmac-sha2-256;none,zlib@openssh.com"
        );
        assert_eq!(
            k.hassh_string(false),
            b"curve25519-sha256,ecdh-sha2-nistp256;aes256-ctr;hmac-sha2-512,hmac-sha1;none"
        );
        let n: Vec<&[u8]> = names(k.kex()).collect();
        assert_eq!(n, [&b"curve25519-sha256"[..], b"ecdh-sha2-nistp256"]);
        assert_eq!(names(k.lists[8]).count(), 0);
        // Every truncation of the payload fails cleanly.
        for cut in 0..payload.len() {
            assert_eq!(kexinit(&payload[..cut]), None, "cut {cut}");
        }
        // Trailing bytes are ignored; another message type is not a KEXINIT.
        let mut longer = payload.clone();
        longer.extend([1, 2, 3]);
        assert_eq!(kexinit(&longer), Some(k));
        let mut other = payload.clone();
        other[0] = 21;
        assert_eq!(kexinit(&other), None);
    }

    #[test]
    fn bad_lengths_are_invalid() {
        // Longer than MAX_PACKET_LEN.
        assert_eq!(binary_packet(&[0, 0, 0x88, 0xb9, 4, 20]), Scan::Invalid);
        // Padding leaving no message byte.
        assert_eq!(binary_packet(&[0, 0, 0, 5, 4, 20]), Scan::Invalid);
        assert_eq!(binary_packet(&[0, 0, 0, 0, 0]), Scan::Invalid);
        assert_eq!(binary_packet(&[0xff; 5]), Scan::Invalid);
        // A name-list length past the payload.
        let mut p = kexinit_payload(&LISTS);
        p[17..21].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(kexinit(&p), None);
        // Shortest packet: one message byte and no padding.
        assert_eq!(
            binary_packet(&[0, 0, 0, 2, 0, 21]),
            Scan::Found(Packet { payload: &[21] }, 6)
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u32 = 12345;
        for len in 0..300 {
            let v: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x >> 24) as u8
                })
                .collect();
            let _ = identification(&v, true);
            let _ = identification(&v, false);
            let _ = binary_packet(&v);
            let _ = kexinit(&v);
            let mut k = v.clone();
            if !k.is_empty() {
                k[0] = 20;
            }
            let _ = kexinit(&k);
        }
    }
}
