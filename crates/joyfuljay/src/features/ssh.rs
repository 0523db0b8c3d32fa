//! `ssh`: SSH identification lines, HASSH fingerprints and the algorithms
//! offered in the key exchange, read from the cleartext start of each
//! direction of a TCP connection (docs/semantics.md#ssh).
//!
//! Each direction's first [`BUDGET`] bytes are reassembled in sequence
//! order by the engine (`Needs::stream_start`) and read once, as they
//! arrive, by a small state machine: the identification line
//! ([`proto::ssh::identification`]; on the responder's side other lines
//! may come first), then the cleartext binary packets, the first of which
//! must be the `SSH_MSG_KEXINIT`, up to and including that direction's
//! `SSH_MSG_NEWKEYS`. After `NEWKEYS` the direction is encrypted: its
//! segments with payload are counted and nothing more is read. The
//! initiator of the flow is the SSH client.

use super::lazy::Lazy;
use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter, Value};
use crate::config::Config;
use crate::flow::Direction;
use crate::packet::PacketView;
use crate::proto::ssh::{self, Scan, MSG_CHANNEL_OPEN, MSG_NEWKEYS, MSG_USERAUTH_REQUEST};
use md5::{Digest, Md5};
use std::sync::Arc;

/// Bytes of each direction read, from the start of its stream: room for
/// pre-identification lines, the identification line, the KEXINIT (about
/// 1.5 KB from OpenSSH 9) and the key-exchange messages up to NEWKEYS
/// (about 2.8 KB for OpenSSH 9.2's client with sntrup761x25519).
pub const BUDGET: u32 = 4096;

const INT: ColumnType = ColumnType::Int;
const STR: ColumnType = ColumnType::Str;
const STRS: ColumnType = ColumnType::StrList;

/// The `ssh` columns, in output order: the documentation page's, then the
/// reference package's other columns.
pub const COLUMNS: &[Column] = &[
    Column::always("is_ssh", ColumnType::Bool, "", "An SSH identification line (starting with \"SSH-\") was found in either direction: the initiator's stream starts with it, the responder's has it after zero or more other lines."),
    Column::nullable("ssh_version", STR, "", "protoversion of the client's identification line (\"2.0\", \"1.99\"), else of the server's; null without one."),
    Column::nullable("ssh_client_banner", STR, "", "The initiator's identification line without its CR LF; null without one."),
    Column::nullable("ssh_server_banner", STR, "", "The responder's identification line without its CR LF; null without one."),
    Column::nullable("hassh", STR, "", "HASSH: MD5 (lowercase hex) of hassh_str; null without the client's KEXINIT."),
    Column::nullable("hassh_str", STR, "", "kex_algorithms;encryption_algorithms_client_to_server;mac_algorithms_client_to_server;compression_algorithms_client_to_server of the client's KEXINIT, as sent."),
    Column::nullable("hassh_server", STR, "", "HASSHServer: MD5 (lowercase hex) of hassh_server_str; null without the server's KEXINIT."),
    Column::nullable("hassh_server_str", STR, "", "kex_algorithms;encryption_algorithms_server_to_client;mac_algorithms_server_to_client;compression_algorithms_server_to_client of the server's KEXINIT, as sent."),
    Column::nullable("ssh_kex_algorithms", STRS, "", "kex_algorithms offered by the client's KEXINIT, in its order; null without it."),
    Column::nullable("ssh_encryption_algorithms", STRS, "", "encryption_algorithms_client_to_server offered by the client's KEXINIT."),
    Column::nullable("ssh_mac_algorithms", STRS, "", "mac_algorithms_client_to_server offered by the client's KEXINIT."),
    Column::nullable("ssh_compression_algorithms", STRS, "", "compression_algorithms_client_to_server offered by the client's KEXINIT."),
    Column::nullable("ssh_auth_attempts", INT, "messages", "SSH_MSG_USERAUTH_REQUEST messages the client sent in cleartext (before its NEWKEYS). Null when they cannot be known: no client identification line, the client sent data after its NEWKEYS (encrypted: authentication is not readable), its cleartext part was cut by the byte budget (BUDGET = 4096 bytes per direction), has a hole or ends inside a packet, or is not SSH after the identification line."),
    Column::nullable("ssh_channels_opened", INT, "messages", "SSH_MSG_CHANNEL_OPEN messages the client sent in cleartext; null in the same cases as ssh_auth_attempts."),
    Column::nullable("ssh_client_software", STR, "", "softwareversion of the initiator's identification line (up to the first space, comments left out); null without one."),
    Column::nullable("ssh_server_software", STR, "", "softwareversion of the responder's identification line."),
    Column::nullable("ssh_client_version", STR, "", "protoversion of the initiator's identification line."),
    Column::nullable("ssh_server_version", STR, "", "protoversion of the responder's identification line."),
    Column::nullable("ssh_kex_packets", INT, "messages", "Cleartext key-exchange messages (types 20-49: KEXINIT, NEWKEYS, method-specific) of both directions, up to and including each direction's NEWKEYS, within the byte budget; null when not SSH."),
    Column::nullable("ssh_encrypted_packets", INT, "packets", "TCP segments with payload, both directions, carrying bytes after their direction's NEWKEYS (the segment that ends NEWKEYS counts when it carries more); null when not SSH."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "ssh",
    summary: "SSH: identification lines, HASSH/HASSHServer, algorithms offered by the client, cleartext message counts.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Ssh) },
};

struct Ssh;

/// Where a direction's reading stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Phase {
    /// Looking for the identification line.
    #[default]
    Ident,
    /// Reading cleartext binary packets.
    Packets,
    /// NEWKEYS seen: the rest is encrypted.
    Encrypted,
    /// Not SSH (or garbage after the identification): nothing more read.
    Stop,
}

/// What a direction's identification line and KEXINIT said (lossy UTF-8
/// text of the bytes).
#[derive(Debug, Default)]
struct Found {
    /// The identification line.
    banner: String,
    /// Its protoversion and softwareversion.
    proto: Option<String>,
    software: Option<String>,
    /// kex;enc;mac;cmp of this side's KEXINIT (client: client-to-server
    /// lists, server: server-to-client lists), as sent, and the MD5 (hex)
    /// of those bytes.
    hassh: Option<(String, String)>,
    /// The client's four lists (client side only).
    lists: Option<[String; 4]>,
}

/// One direction's reading.
#[derive(Debug, Default)]
struct Side {
    phase: Phase,
    /// Offset in the stream of the next byte to read.
    pos: u32,
    /// Bytes of the stream held at the last call (looked at already).
    seen: u32,
    /// Cleartext binary packets read (the first must be the KEXINIT).
    packets: u16,
    /// Cleartext key-exchange messages (types 20-49).
    kex: u16,
    auth: u16,
    chan: u16,
    /// The budget ended the cleartext part before NEWKEYS.
    cut: bool,
    /// The stream had a hole (bytes held after missing ones) when last
    /// looked at before NEWKEYS.
    gap: bool,
    /// Segments with bytes after NEWKEYS.
    encrypted: u32,
    found: Option<Box<Found>>,
}

/// Per-flow state: both directions' readings (initiator first). 64 bytes;
/// the banners and KEXINIT strings are allocated once, when found.
#[derive(Debug, Default)]
pub(crate) struct SshState {
    sides: [Side; 2],
}

const _: () = assert!(std::mem::size_of::<SshState>() == 64);

impl Side {
    /// Read what `held` (the direction's stream start, cut at the budget)
    /// adds since the last call.
    fn advance(&mut self, held: &[u8], client: bool) {
        let fresh = held.get(self.seen as usize..).unwrap_or(&[]);
        let looked = self.seen;
        self.seen = held.len() as u32;
        if self.phase == Phase::Ident
            && held.len() < BUDGET as usize
            && looked >= self.pos + 4
            && !fresh.contains(&b'\n')
        {
            // Inside a line whose start was judged already: nothing can
            // change before its LF (each byte is looked at once).
            return;
        }
        loop {
            let rest = held.get(self.pos as usize..).unwrap_or(&[]);
            let scan = match self.phase {
                Phase::Ident => match ssh::identification(rest, !client) {
                    Scan::Found(id, end) => {
                        let f = self.found.get_or_insert_with(Default::default);
                        f.banner = lossy(id.line);
                        f.proto = id.proto.map(lossy);
                        f.software = id.software.map(lossy);
                        self.phase = Phase::Packets;
                        Scan::Found((), end)
                    }
                    Scan::NeedMore { resume } => Scan::NeedMore { resume },
                    Scan::Invalid => Scan::Invalid,
                },
                Phase::Packets => match ssh::binary_packet(rest) {
                    Scan::Found(p, end) => {
                        self.packets = self.packets.saturating_add(1);
                        let msg = p.msg();
                        if self.packets == 1 {
                            if let Some(k) = ssh::kexinit(p.payload) {
                                let f = self.found.get_or_insert_with(Default::default);
                                let h = k.hassh_string(client);
                                f.hassh = Some((lossy(&h), hex::encode(Md5::digest(&h))));
                                if client {
                                    let [e, m, c] = k.enc_mac_cmp(true);
                                    f.lists = Some([k.kex(), e, m, c].map(lossy));
                                }
                            }
                        }
                        if (20..=49).contains(&msg) {
                            self.kex = self.kex.saturating_add(1);
                        }
                        match msg {
                            MSG_USERAUTH_REQUEST => self.auth = self.auth.saturating_add(1),
                            MSG_CHANNEL_OPEN => self.chan = self.chan.saturating_add(1),
                            MSG_NEWKEYS => self.phase = Phase::Encrypted,
                            _ => {}
                        }
                        Scan::Found((), end)
                    }
                    Scan::NeedMore { .. } => Scan::NeedMore { resume: 0 },
                    Scan::Invalid => Scan::Invalid,
                },
                Phase::Encrypted | Phase::Stop => return,
            };
            match scan {
                Scan::Found((), end) => self.pos += end as u32,
                Scan::NeedMore { resume } => {
                    self.pos += resume as u32;
                    if held.len() >= BUDGET as usize {
                        self.cut = true;
                        self.phase = Phase::Stop;
                    }
                    return;
                }
                Scan::Invalid => {
                    self.phase = Phase::Stop;
                    return;
                }
            }
        }
    }

    fn found(&self) -> Option<&Found> {
        self.found.as_deref()
    }

    /// Whether the identification line was found.
    fn has_ident(&self) -> bool {
        self.found.is_some() && self.phase != Phase::Ident
    }

    /// The identification, when found.
    fn ident(&self) -> Option<&Found> {
        self.found().filter(|_| self.has_ident())
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn name_list(l: &str) -> Value {
    Value::StrList(
        ssh::names(l.as_bytes())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect(),
    )
}

impl FeatureGroup for Ssh {
    /// Boxed at the flow's first TCP packet: 8 bytes for other flows.
    type State = Lazy<SshState>;

    fn needs(&self) -> Needs {
        Needs {
            headers: true,
            stream_start: BUDGET,
            ..Needs::SUMMARY
        }
    }

    fn new_state(&self) -> Lazy<SshState> {
        Lazy::NONE
    }

    fn update(&self, st: &mut Lazy<SshState>, pkt: &PacketView<'_>) {
        let Some(stream) = pkt.stream else { return };
        let st = st.get_or_default();
        let d = pkt.dir as usize;
        let side = &mut st.sides[d];
        if side.phase == Phase::Encrypted {
            side.encrypted += u32::from(pkt.payload_len() > 0);
            return;
        }
        if side.phase == Phase::Stop {
            return;
        }
        let held = stream.bytes();
        let held = &held[..held.len().min(BUDGET as usize)];
        side.gap = stream.has_gap();
        if held.len() <= side.pos as usize {
            return;
        }
        side.advance(held, d == 0);
        if side.phase == Phase::Encrypted && held.len() > side.pos as usize {
            // This segment ended NEWKEYS and carries (or completed) more.
            side.encrypted += 1;
        }
    }

    fn stream_done(&self, st: &Lazy<SshState>, dir: Direction) -> bool {
        st.get().is_some_and(|st| {
            matches!(st.sides[dir as usize].phase, Phase::Encrypted | Phase::Stop)
        })
    }

    fn write(&self, _flow: &FlowView<'_>, st: &Lazy<SshState>, out: &mut RowWriter<'_>) {
        let empty = SshState::default();
        let st = st.or(&empty);
        let [c, s] = &st.sides;
        let (ci, si) = (c.ident(), s.ident());
        let is_ssh = ci.is_some() || si.is_some();
        out.put(is_ssh);
        out.put(
            ci.and_then(|f| f.proto.as_deref())
                .or_else(|| si.and_then(|f| f.proto.as_deref())),
        );
        out.put(ci.map(|f| f.banner.as_str()));
        out.put(si.map(|f| f.banner.as_str()));
        for side in [c, s] {
            let h = side.found().and_then(|f| f.hassh.as_ref());
            out.put(h.map(|h| h.1.as_str()));
            out.put(h.map(|h| h.0.as_str()));
        }
        let lists = c.found().and_then(|f| f.lists.as_ref());
        for i in 0..4 {
            out.put_with(|| lists.map(|l| name_list(&l[i])));
        }
        // The client's cleartext counts, when knowable.
        let knowable = c.has_ident()
            && !c.cut
            && !c.gap
            && match c.phase {
                // Nothing after NEWKEYS: nothing encrypted to miss.
                Phase::Encrypted => c.encrypted == 0,
                // Every byte held read as whole packets.
                Phase::Packets => c.pos == c.seen,
                _ => false,
            };
        out.put(knowable.then_some(u32::from(c.auth)));
        out.put(knowable.then_some(u32::from(c.chan)));
        out.put(ci.and_then(|f| f.software.as_deref()));
        out.put(si.and_then(|f| f.software.as_deref()));
        out.put(ci.and_then(|f| f.proto.as_deref()));
        out.put(si.and_then(|f| f.proto.as_deref()));
        out.put(is_ssh.then_some(u32::from(c.kex) + u32::from(s.kex)));
        out.put(is_ssh.then_some(c.encrypted + s.encrypted));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(payload: &[u8]) -> Vec<u8> {
        let pad = 4u8;
        let mut v = ((payload.len() + pad as usize + 1) as u32)
            .to_be_bytes()
            .to_vec();
        v.push(pad);
        v.extend_from_slice(payload);
        v.extend([0; 4]);
        v
    }

    fn kexinit(lists: [&str; 10]) -> Vec<u8> {
        let mut p = vec![20];
        p.extend([7; 16]);
        for l in lists {
            p.extend((l.len() as u32).to_be_bytes());
            p.extend(l.as_bytes());
        }
        p.extend([0, 0, 0, 0, 0]);
        packet(&p)
    }

    const LISTS: [&str; 10] = [
        "curve25519-sha256,ext-info-c",
        "ssh-ed25519",
        "aes128-ctr",
        "aes256-ctr",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "none",
        "zlib",
        "",
        "",
    ];

    /// A client's stream: identification, KEXINIT, a KEX message, a
    /// cleartext USERAUTH_REQUEST (not real SSH: to count it), NEWKEYS,
    /// then encrypted bytes.
    fn client_stream() -> (Vec<u8>, usize) {
        let mut s = b"SSH-2.0-Test_1.0 hello\r\n".to_vec();
        s.extend(kexinit(LISTS));
        s.extend(packet(&[30, 1, 2, 3]));
        s.extend(packet(&[50, 0]));
        s.extend(packet(&[90, 0]));
        s.extend(packet(&[21]));
        let end = s.len();
        s.extend([0xaa; 40]);
        (s, end)
    }

    fn read_all(b: &[u8], client: bool) -> Side {
        let mut side = Side::default();
        side.advance(&b[..b.len().min(BUDGET as usize)], client);
        side
    }

    #[test]
    fn a_stream_read_in_pieces_is_read_as_whole() {
        let (s, end) = client_stream();
        let whole = read_all(&s, true);
        assert_eq!(whole.phase, Phase::Encrypted);
        assert_eq!(whole.pos as usize, end);
        assert_eq!(
            (whole.packets, whole.kex, whole.auth, whole.chan),
            (5, 3, 1, 1)
        );
        let f = whole.ident().unwrap();
        assert_eq!(f.banner, "SSH-2.0-Test_1.0 hello");
        assert_eq!(
            (f.proto.as_deref(), f.software.as_deref()),
            (Some("2.0"), Some("Test_1.0"))
        );
        let (hs, md5) = f.hassh.as_ref().unwrap();
        assert_eq!(
            hs,
            "curve25519-sha256,ext-info-c;aes128-ctr;hmac-sha2-256;none"
        );
        assert_eq!(md5, &hex::encode(Md5::digest(hs.as_bytes())));
        // Growing one byte at a time (the stream as segments arrive).
        let mut side = Side::default();
        for n in 1..=s.len() {
            side.advance(&s[..n], true);
        }
        assert_eq!(format!("{side:?}"), format!("{whole:?}"));
        // The server side's HASSH takes the server-to-client lists.
        let mut srv = b"hello\r\n".to_vec();
        srv.extend_from_slice(&s);
        let server = read_all(&srv, false);
        let f = server.ident().unwrap();
        assert_eq!(
            f.hassh.as_ref().unwrap().0,
            "curve25519-sha256,ext-info-c;aes256-ctr;hmac-sha2-512;zlib"
        );
        assert!(f.lists.is_none());
        let mut side = Side::default();
        for n in 1..=srv.len() {
            side.advance(&srv[..n], false);
        }
        assert_eq!(format!("{side:?}"), format!("{server:?}"));
        // The client side does not accept lines before its identification.
        assert!(read_all(&srv, true).ident().is_none());
    }

    #[test]
    fn the_budget_and_garbage_stop_the_reading() {
        // Lines before the identification beyond the budget.
        let mut s = b"x\r\n".repeat(BUDGET as usize / 3 + 1);
        s.extend(b"SSH-2.0-late\r\n");
        let side = read_all(&s, false);
        assert!(side.ident().is_none() && side.cut && side.phase == Phase::Stop);
        // A KEXINIT straddling the budget: banner, no HASSH, cut.
        let mut s = b"SSH-2.0-x\r\n".to_vec();
        let mut big = LISTS;
        let long = "a,".repeat(2100);
        big[1] = &long;
        s.extend(kexinit(big));
        let side = read_all(&s, true);
        assert!(side.ident().is_some() && side.ident().unwrap().hassh.is_none());
        assert!(side.cut);
        // Garbage after the identification: banner kept, nothing more.
        let side = read_all(b"SSH-2.0-x\r\n\xff\xff\xff\xff\xff\xff", true);
        assert!(side.ident().is_some() && !side.cut && side.phase == Phase::Stop);
        // Not SSH at all.
        assert!(read_all(b"GET / HTTP/1.1\r\n", true).ident().is_none());
        assert!(read_all(b"HTTP/1.1 200 OK\r\n\r\n", false)
            .ident()
            .is_none());
    }
}
