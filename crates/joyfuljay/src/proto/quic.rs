//! QUIC packets in UDP datagrams (RFC 8999 invariants, RFC 9000 §17,
//! RFC 9369 §3.2 for v2) and the client's Initial packets (RFC 9001 §5).
//!
//! [`packets`] walks the packets coalesced in one datagram: long headers
//! carry a Length field (Initial, 0-RTT, Handshake) after which the next
//! packet starts; Retry, Version Negotiation, short headers and long headers
//! of a version we do not know take the rest of the datagram. A packet that
//! follows a coalesced one must have the fixed bit (0x40) set, otherwise the
//! rest is taken for padding and ends the walk.
//!
//! [`InitialKeys::client`] derives the client's Initial keys from the
//! Destination Connection ID of its Initial packet (HKDF-SHA256 with the
//! version's salt and labels), [`decrypt_initial`] removes header
//! protection (AES-128-ECB mask) and the AEAD (AES-128-GCM), and
//! [`crypto_frames`] yields the CRYPTO frames of the plaintext, skipping
//! PADDING, PING and ACK. [`CryptoStream`] puts CRYPTO frames back in
//! order within a byte budget, giving the TLS ClientHello handshake
//! message.
//!
//! Nothing here panics on any input: malformed input gives `None` or ends
//! an iteration.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;

/// QUIC version 1 (RFC 9000).
pub const VERSION_1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub const VERSION_2: u32 = 0x6b33_43cf;

/// Longest connection ID of QUIC v1/v2 (RFC 9000 §17.2).
pub const MAX_CID_LEN: usize = 20;

/// The versions whose packet layout we know (v1's layout for drafts): v1,
/// v2 and IETF drafts 0xff000001–0xff000022 (draft-01 to draft-34).
pub fn is_known_version(v: u32) -> bool {
    v == VERSION_1 || v == VERSION_2 || (0xff00_0001..=0xff00_0022).contains(&v)
}

/// A version as text: `v1`, `v2`, `draft-NN` for 0xff0000NN, otherwise
/// `0x` and eight lowercase hex digits (`0x00000000` for Version
/// Negotiation).
pub fn version_name(v: u32) -> String {
    match v {
        VERSION_1 => "v1".to_string(),
        VERSION_2 => "v2".to_string(),
        _ if v & 0xffff_ff00 == 0xff00_0000 && v & 0xff != 0 => format!("draft-{}", v & 0xff),
        _ => format!("0x{v:08x}"),
    }
}

/// The kind of a QUIC packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// Long header, Initial.
    Initial,
    /// Long header, 0-RTT.
    ZeroRtt,
    /// Long header, Handshake.
    Handshake,
    /// Long header, Retry.
    Retry,
    /// Long header with version 0: Version Negotiation.
    VersionNegotiation,
    /// Long header of a version whose layout we do not know.
    UnknownLong,
    /// Short header (1-RTT).
    Short,
}

impl PacketType {
    /// Whether the packet has a long header.
    pub fn is_long(self) -> bool {
        self != PacketType::Short
    }
}

/// One QUIC packet of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Its kind.
    pub ty: PacketType,
    /// The first byte (still header-protected: only the form, fixed and
    /// type bits and, for short headers, the spin bit are meaningful).
    pub first: u8,
    /// Version (0 for short headers, which carry none).
    pub version: u32,
    /// Destination Connection ID (empty for short headers: its length is
    /// not in the packet).
    pub dcid: &'a [u8],
    /// Source Connection ID (long headers).
    pub scid: &'a [u8],
    /// The token of an Initial or Retry packet.
    pub token: &'a [u8],
    /// The packet's bytes, header included (for a packet whose Length runs
    /// past the datagram: what the datagram holds).
    pub bytes: &'a [u8],
    /// Offset in `bytes` of the packet number (Initial, 0-RTT, Handshake).
    pub pn_offset: usize,
    /// Whether the datagram held the whole packet (its Length fits).
    pub complete: bool,
}

/// A QUIC variable-length integer (RFC 9000 §16) at the start of `b`, and
/// its length.
pub fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for &x in &bytes[1..] {
        v = v << 8 | u64::from(x);
    }
    Some((v, len))
}

/// A byte reader that never panics.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let v = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(v)
    }
    fn varint(&mut self) -> Option<u64> {
        let (v, n) = varint(self.b.get(self.pos..)?)?;
        self.pos += n;
        Some(v)
    }
}

/// Parse the packet at the start of `b`; also returns the bytes after it
/// (the next coalesced packet), empty when it takes the rest.
pub fn parse_packet(b: &[u8]) -> Option<(Packet<'_>, &[u8])> {
    let first = *b.first()?;
    if first & 0x80 == 0 {
        let p = Packet {
            ty: PacketType::Short,
            first,
            version: 0,
            dcid: &[],
            scid: &[],
            token: &[],
            bytes: b,
            pn_offset: 0,
            complete: true,
        };
        return Some((p, &[]));
    }
    let mut r = Reader { b, pos: 1 };
    let version = u32::from_be_bytes(r.take(4)?.try_into().ok()?);
    let dl = r.u8()? as usize;
    let dcid = r.take(dl)?;
    let sl = r.u8()? as usize;
    let scid = r.take(sl)?;
    let mut p = Packet {
        ty: PacketType::UnknownLong,
        first,
        version,
        dcid,
        scid,
        token: &[],
        bytes: b,
        pn_offset: 0,
        complete: true,
    };
    if version == 0 {
        p.ty = PacketType::VersionNegotiation;
        return Some((p, &[]));
    }
    if !is_known_version(version) {
        return Some((p, &[]));
    }
    if dl > MAX_CID_LEN || sl > MAX_CID_LEN {
        return None;
    }
    let bits = first >> 4 & 3;
    // RFC 9369 §3.2: v2 rotates the type bits.
    let bits = if version == VERSION_2 {
        (bits + 3) & 3
    } else {
        bits
    };
    p.ty = match bits {
        0 => PacketType::Initial,
        1 => PacketType::ZeroRtt,
        2 => PacketType::Handshake,
        _ => PacketType::Retry,
    };
    match p.ty {
        PacketType::Retry => {
            // Retry Token, then the 16-byte Retry Integrity Tag.
            let rest = b.len().checked_sub(r.pos)?;
            p.token = r.take(rest.checked_sub(16)?)?;
            Some((p, &[]))
        }
        _ => {
            if p.ty == PacketType::Initial {
                let tl = usize::try_from(r.varint()?).ok()?;
                p.token = r.take(tl)?;
            }
            let len = usize::try_from(r.varint()?).ok()?;
            p.pn_offset = r.pos;
            let end = r.pos.saturating_add(len);
            if end > b.len() {
                p.complete = false;
                return Some((p, &[]));
            }
            p.bytes = &b[..end];
            Some((p, &b[end..]))
        }
    }
}

/// The packets coalesced in one UDP datagram (see the module
/// documentation).
pub fn packets(datagram: &[u8]) -> Packets<'_> {
    Packets {
        rest: datagram,
        first: true,
    }
}

/// Iterator of [`packets`].
#[derive(Debug, Clone)]
pub struct Packets<'a> {
    rest: &'a [u8],
    first: bool,
}

impl<'a> Iterator for Packets<'a> {
    type Item = Packet<'a>;
    fn next(&mut self) -> Option<Packet<'a>> {
        let b = self.rest;
        if b.is_empty() || (!self.first && b[0] & 0x40 == 0) {
            return None;
        }
        self.first = false;
        match parse_packet(b) {
            Some((p, rest)) => {
                self.rest = rest;
                Some(p)
            }
            None => {
                self.rest = &[];
                None
            }
        }
    }
}

/// The client's Initial packet protection keys (RFC 9001 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialKeys {
    /// AEAD key (AES-128-GCM).
    pub key: [u8; 16],
    /// AEAD IV.
    pub iv: [u8; 12],
    /// Header protection key (AES-128).
    pub hp: [u8; 16],
}

/// HKDF-Expand-Label of TLS 1.3 (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &str, out: &mut [u8]) -> Option<()> {
    let mut info = [0u8; 64];
    let full = 6 + label.len();
    let n = 4 + full;
    let info = info.get_mut(..n)?;
    info[..2].copy_from_slice(&u16::try_from(out.len()).ok()?.to_be_bytes());
    info[2] = u8::try_from(full).ok()?;
    info[3..9].copy_from_slice(b"tls13 ");
    info[9..9 + label.len()].copy_from_slice(label.as_bytes());
    info[n - 1] = 0;
    prk.expand(info, out).ok()
}

impl InitialKeys {
    /// The keys protecting the client's Initial packets whose Destination
    /// Connection ID is `dcid`: `None` for a version without known salt
    /// (v1 and v2 only).
    pub fn client(version: u32, dcid: &[u8]) -> Option<InitialKeys> {
        let (salt, [key, iv, hp]) = match version {
            VERSION_1 => (&SALT_V1, ["quic key", "quic iv", "quic hp"]),
            VERSION_2 => (&SALT_V2, ["quicv2 key", "quicv2 iv", "quicv2 hp"]),
            _ => return None,
        };
        let initial = Hkdf::<Sha256>::new(Some(salt), dcid);
        let mut client = [0u8; 32];
        expand_label(&initial, "client in", &mut client)?;
        let c = Hkdf::<Sha256>::from_prk(&client).ok()?;
        let mut k = InitialKeys {
            key: [0; 16],
            iv: [0; 12],
            hp: [0; 16],
        };
        expand_label(&c, key, &mut k.key)?;
        expand_label(&c, iv, &mut k.iv)?;
        expand_label(&c, hp, &mut k.hp)?;
        Some(k)
    }
}

/// Initial salt of QUIC v1 (RFC 9001 §5.2).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
/// Initial salt of QUIC v2 (RFC 9369 §3.3.1).
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// A decrypted Initial packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decrypted {
    /// Packet number length in bytes (1–4), from the unprotected first
    /// byte.
    pub pn_len: u8,
    /// The truncated packet number as sent.
    pub pn: u32,
    /// Length of the plaintext payload (frames), at the start of the
    /// buffer given to [`decrypt_initial`].
    pub len: usize,
}

/// Remove the header protection and the AEAD of the complete Initial
/// packet `p` with `keys`, writing its plaintext frames at the start of
/// `buf` (grown as needed; its contents are replaced). `None` when the
/// packet is not a complete Initial or does not authenticate.
pub fn decrypt_initial(p: &Packet<'_>, keys: &InitialKeys, buf: &mut Vec<u8>) -> Option<Decrypted> {
    if p.ty != PacketType::Initial || !p.complete {
        return None;
    }
    let b = p.bytes;
    let pn_off = p.pn_offset;
    // The sample starts 4 bytes after the packet number's start.
    let sample = b.get(pn_off.checked_add(4)?..pn_off.checked_add(20)?)?;
    let hp = Aes128::new_from_slice(&keys.hp).ok()?;
    let mut mask = aes::Block::default();
    mask.copy_from_slice(sample);
    hp.encrypt_block(&mut mask);
    let first = b[0] ^ (mask[0] & 0x0f);
    let pn_len = usize::from(first & 3) + 1;
    let hdr_len = pn_off + pn_len;
    // Header (AAD) and ciphertext with its 16-byte tag.
    if b.len() < hdr_len + 16 {
        return None;
    }
    buf.clear();
    buf.extend_from_slice(b);
    buf[0] = first;
    let mut pn: u32 = 0;
    for i in 0..pn_len {
        buf[pn_off + i] ^= mask[1 + i];
        pn = pn << 8 | u32::from(buf[pn_off + i]);
    }
    // The nonce takes the full packet number; the truncated one is used as
    // it (a client's Initial packet numbers start at 0 and stay far below
    // 2^8, the smallest truncation).
    let mut nonce = Nonce::<aes_gcm::aead::consts::U12>::default();
    nonce.copy_from_slice(&keys.iv);
    for (i, x) in u64::from(pn).to_be_bytes().iter().enumerate() {
        nonce[4 + i] ^= x;
    }
    let aead = Aes128Gcm::new_from_slice(&keys.key).ok()?;
    let (aad, body) = buf.split_at_mut(hdr_len);
    let ct_len = body.len() - 16;
    let (ct, tag) = body.split_at_mut(ct_len);
    let tag = Tag::try_from(&tag[..]).ok()?;
    aead.decrypt_inout_detached(&nonce, aad, ct.into(), &tag)
        .ok()?;
    buf.copy_within(hdr_len..hdr_len + ct_len, 0);
    buf.truncate(ct_len);
    Some(Decrypted {
        pn_len: u8::try_from(pn_len).ok()?,
        pn,
        len: ct_len,
    })
}

/// The CRYPTO frames of an Initial packet's plaintext `frames`, as
/// (offset, data), skipping PADDING, PING and ACK frames; stops at the first
/// other frame type (CONNECTION_CLOSE or one not allowed in Initial
/// packets) or at malformed input.
pub fn crypto_frames(frames: &[u8]) -> CryptoFrames<'_> {
    CryptoFrames {
        r: Reader { b: frames, pos: 0 },
    }
}

/// Iterator of [`crypto_frames`].
pub struct CryptoFrames<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for CryptoFrames<'a> {
    type Item = (u64, &'a [u8]);
    fn next(&mut self) -> Option<(u64, &'a [u8])> {
        let r = &mut self.r;
        loop {
            let ty = r.varint()?;
            match ty {
                0x00 | 0x01 => {}
                0x02 | 0x03 => {
                    // Largest, delay, range count, first range, ranges.
                    r.varint()?;
                    r.varint()?;
                    let n = r.varint()?;
                    r.varint()?;
                    for _ in 0..n {
                        r.varint()?;
                        r.varint()?;
                    }
                    if ty == 0x03 {
                        for _ in 0..3 {
                            r.varint()?;
                        }
                    }
                }
                0x06 => {
                    let off = r.varint()?;
                    let len = usize::try_from(r.varint()?).ok()?;
                    return Some((off, r.take(len)?));
                }
                _ => {
                    self.r.pos = self.r.b.len();
                    return None;
                }
            }
        }
    }
}

/// The start of a CRYPTO stream put back in order: the first `budget`
/// bytes, from frames arriving in any order, overlapping or repeated.
#[derive(Debug, Clone, Default)]
pub struct CryptoStream {
    buf: Vec<u8>,
    /// Byte ranges `[start, end)` received, sorted, disjoint, merged.
    have: Vec<(u32, u32)>,
    budget: u32,
}

impl CryptoStream {
    /// A stream keeping at most `budget` bytes.
    pub fn new(budget: u32) -> CryptoStream {
        CryptoStream {
            budget,
            ..CryptoStream::default()
        }
    }

    /// Add a CRYPTO frame's data at stream offset `off` (what lies past the
    /// budget is dropped).
    pub fn add(&mut self, off: u64, data: &[u8]) {
        let Ok(start) = u32::try_from(off) else {
            return;
        };
        if start >= self.budget {
            return;
        }
        let end = (u64::from(start) + data.len() as u64).min(u64::from(self.budget)) as u32;
        if end <= start {
            return;
        }
        if self.buf.len() < end as usize {
            self.buf.resize(end as usize, 0);
        }
        self.buf[start as usize..end as usize].copy_from_slice(&data[..(end - start) as usize]);
        // Merge [start, end) into the sorted ranges.
        let mut s = start;
        let mut e = end;
        self.have.retain(|&(a, b)| {
            if b < s || a > e {
                true
            } else {
                s = s.min(a);
                e = e.max(b);
                false
            }
        });
        let at = self.have.partition_point(|&(a, _)| a < s);
        self.have.insert(at, (s, e));
    }

    /// The bytes received contiguously from offset 0.
    pub fn contiguous(&self) -> &[u8] {
        match self.have.first() {
            Some(&(0, e)) => &self.buf[..e as usize],
            _ => &[],
        }
    }

    /// The first handshake message of the stream (4-byte header and body)
    /// once all of it has arrived; `Err(())` when it cannot fit in the
    /// budget, `Ok(None)` while incomplete.
    #[allow(clippy::result_unit_err)]
    pub fn first_message(&self) -> Result<Option<&[u8]>, ()> {
        let c = self.contiguous();
        if c.len() < 4 {
            return Ok(None);
        }
        let len = 4 + (usize::from(c[1]) << 16 | usize::from(c[2]) << 8 | usize::from(c[3]));
        if len > self.budget as usize {
            return Err(());
        }
        Ok(c.get(..len))
    }

    /// Bytes of memory held.
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.have.capacity() * 8
    }
}

#[cfg(test)]
mod tests;
