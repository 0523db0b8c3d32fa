//! Synthetic packets and capture files: for tests, fuzz seeds and the
//! benchmark capture generator. Builds frames byte by byte from a small
//! description, with correct lengths (checksums are left zero).

use std::io::{self, Write};
use std::net::IpAddr;

/// The transport part of a synthetic packet.
#[derive(Debug, Clone, PartialEq)]
pub enum L4 {
    /// TCP with a 20-byte header (plus `options` bytes, a multiple of 4).
    Tcp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Flags byte.
        flags: u8,
        /// TCP option bytes (multiple of 4).
        options: usize,
        /// Payload bytes.
        payload: usize,
    },
    /// UDP.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Payload bytes.
        payload: usize,
    },
    /// SCTP common header (12 bytes) plus payload.
    Sctp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Payload bytes.
        payload: usize,
    },
    /// ICMP (or ICMPv6 over IPv6) echo with payload.
    Icmp {
        /// Payload after the 8-byte header.
        payload: usize,
    },
    /// Any other protocol: `len` bytes of IP payload.
    Other {
        /// Protocol number.
        proto: u8,
        /// IP payload bytes.
        len: usize,
    },
}

/// A synthetic IP packet and what wraps it.
#[derive(Debug, Clone)]
pub struct Packet {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport.
    pub l4: L4,
    /// IPv4 option bytes (multiple of 4, at most 40).
    pub ipv4_options: usize,
    /// IPv6 extension headers to insert before the transport (0, 43, 60, 51).
    pub ipv6_ext: Vec<u8>,
    /// Fragment: (id, offset in 8-byte units, more fragments). For IPv6 a
    /// fragment header is added. A non-zero offset omits the transport header:
    /// the IP payload is then `payload` bytes of the L4 description.
    pub fragment: Option<(u32, u16, bool)>,
    /// Write 0 as IPv4 total length (segmentation offload).
    pub zero_total_length: bool,
    /// IPv4 identification.
    pub ip_id: u16,
}

impl Packet {
    /// A packet from `src` to `dst` (IPv4 or IPv6, same family).
    pub fn new(src: &str, dst: &str, l4: L4) -> Packet {
        Packet {
            src: src.parse().expect("valid source address"),
            dst: dst.parse().expect("valid destination address"),
            l4,
            ipv4_options: 0,
            ipv6_ext: Vec::new(),
            fragment: None,
            zero_total_length: false,
            ip_id: 0,
        }
    }

    /// A TCP packet.
    pub fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: u8, payload: usize) -> Packet {
        Packet::new(
            src,
            dst,
            L4::Tcp {
                sport,
                dport,
                flags,
                options: 0,
                payload,
            },
        )
    }

    /// A UDP packet.
    pub fn udp(src: &str, sport: u16, dst: &str, dport: u16, payload: usize) -> Packet {
        Packet::new(
            src,
            dst,
            L4::Udp {
                sport,
                dport,
                payload,
            },
        )
    }

    fn proto(&self) -> u8 {
        match self.l4 {
            L4::Tcp { .. } => 6,
            L4::Udp { .. } => 17,
            L4::Sctp { .. } => 132,
            L4::Icmp { .. } => {
                if self.src.is_ipv6() {
                    58
                } else {
                    1
                }
            }
            L4::Other { proto, .. } => proto,
        }
    }

    /// The transport header and payload bytes.
    fn l4_bytes(&self) -> Vec<u8> {
        let later_fragment = matches!(self.fragment, Some((_, off, _)) if off > 0);
        let mut v = Vec::new();
        match self.l4 {
            L4::Tcp {
                sport,
                dport,
                flags,
                options,
                payload,
            } => {
                if later_fragment {
                    return vec![0xab; payload];
                }
                v.extend_from_slice(&sport.to_be_bytes());
                v.extend_from_slice(&dport.to_be_bytes());
                v.extend_from_slice(&1000u32.to_be_bytes());
                v.extend_from_slice(&2000u32.to_be_bytes());
                v.push((((20 + options) / 4) as u8) << 4);
                v.push(flags);
                v.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
                v.extend(std::iter::repeat_n(1u8, options));
                v.extend(std::iter::repeat_n(0x61u8, payload));
            }
            L4::Udp {
                sport,
                dport,
                payload,
            } => {
                if later_fragment {
                    return vec![0xab; payload];
                }
                v.extend_from_slice(&sport.to_be_bytes());
                v.extend_from_slice(&dport.to_be_bytes());
                v.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
                v.extend_from_slice(&[0, 0]);
                v.extend(std::iter::repeat_n(0x62u8, payload));
            }
            L4::Sctp {
                sport,
                dport,
                payload,
            } => {
                v.extend_from_slice(&sport.to_be_bytes());
                v.extend_from_slice(&dport.to_be_bytes());
                v.extend_from_slice(&[0; 8]);
                v.extend(std::iter::repeat_n(0x63u8, payload));
            }
            L4::Icmp { payload } => {
                if later_fragment {
                    return vec![0xab; payload];
                }
                v.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]);
                v.extend(std::iter::repeat_n(0x64u8, payload));
            }
            L4::Other { len, .. } => v.extend(std::iter::repeat_n(0x65u8, len)),
        }
        v
    }

    /// The IP packet bytes.
    pub fn ip_bytes(&self) -> Vec<u8> {
        let l4 = self.l4_bytes();
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let ihl = 20 + self.ipv4_options;
                let total = ihl + l4.len();
                let mut v = Vec::with_capacity(total);
                v.push(0x40 | (ihl / 4) as u8);
                v.push(0);
                let tl = if self.zero_total_length {
                    0
                } else {
                    total as u16
                };
                v.extend_from_slice(&tl.to_be_bytes());
                let (id, ff) = match self.fragment {
                    Some((id, off, more)) => (id as u16, off | if more { 0x2000 } else { 0 }),
                    None => (self.ip_id, 0x4000),
                };
                v.extend_from_slice(&id.to_be_bytes());
                v.extend_from_slice(&ff.to_be_bytes());
                v.push(64);
                v.push(self.proto());
                v.extend_from_slice(&[0, 0]);
                v.extend_from_slice(&s.octets());
                v.extend_from_slice(&d.octets());
                // Options: NOPs ending with EOL.
                v.extend(std::iter::repeat_n(1u8, self.ipv4_options));
                if self.ipv4_options > 0 {
                    *v.last_mut().expect("options written") = 0;
                }
                v.extend_from_slice(&l4);
                v
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut chain: Vec<u8> = self.ipv6_ext.clone();
                if self.fragment.is_some() {
                    chain.push(44);
                }
                let mut ext = Vec::new();
                for (i, &h) in chain.iter().enumerate() {
                    let next = chain.get(i + 1).copied().unwrap_or_else(|| self.proto());
                    match h {
                        44 => {
                            let (id, off, more) = self.fragment.expect("fragment header");
                            ext.push(next);
                            ext.push(0);
                            ext.extend_from_slice(&((off << 3) | u16::from(more)).to_be_bytes());
                            ext.extend_from_slice(&id.to_be_bytes());
                        }
                        51 => {
                            // AH with a 12-byte ICV: length field 4 → (4+2)*4 = 24 bytes.
                            ext.push(next);
                            ext.push(4);
                            ext.extend_from_slice(&[0; 22]);
                        }
                        _ => {
                            // 16-byte option header: length field 1 → (1+1)*8.
                            ext.push(next);
                            ext.push(1);
                            ext.extend_from_slice(&[0; 14]);
                        }
                    }
                }
                let first = chain.first().copied().unwrap_or_else(|| self.proto());
                let plen = ext.len() + l4.len();
                let mut v = Vec::with_capacity(40 + plen);
                v.extend_from_slice(&[0x60, 0, 0, 0]);
                v.extend_from_slice(&(plen as u16).to_be_bytes());
                v.push(first);
                v.push(64);
                v.extend_from_slice(&s.octets());
                v.extend_from_slice(&d.octets());
                v.extend_from_slice(&ext);
                v.extend_from_slice(&l4);
                v
            }
            _ => panic!("source and destination must be of the same family"),
        }
    }

    /// IP-level length of the packet (what `bytes` counts).
    pub fn ip_len(&self) -> usize {
        self.ip_bytes().len()
    }

    /// An Ethernet frame (with optional VLAN tags and MPLS labels), padded
    /// to the 60-byte minimum like a real NIC.
    pub fn ethernet(&self, vlans: &[u16], mpls: &[u32]) -> Vec<u8> {
        let ip = self.ip_bytes();
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
        let ip_type: u16 = if self.src.is_ipv6() { 0x86dd } else { 0x0800 };
        for (i, tci) in vlans.iter().enumerate() {
            f.extend_from_slice(&(if i == 0 { 0x88a8u16 } else { 0x8100 }).to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        if vlans.len() == 1 {
            // A single tag is plain 802.1Q.
            let at = 12;
            f[at..at + 2].copy_from_slice(&0x8100u16.to_be_bytes());
        }
        if mpls.is_empty() {
            f.extend_from_slice(&ip_type.to_be_bytes());
        } else {
            f.extend_from_slice(&0x8847u16.to_be_bytes());
            for (i, label) in mpls.iter().enumerate() {
                let bos = u32::from(i + 1 == mpls.len());
                f.extend_from_slice(&((label << 12) | (bos << 8) | 64).to_be_bytes());
            }
        }
        f.extend_from_slice(&ip);
        while f.len() < 60 {
            f.push(0);
        }
        f
    }

    /// The frame for a link type (Ethernet 1, NULL 0, LOOP 108, PPP 9/50,
    /// raw 12/14/101/228/229, SLL 113, SLL2 276, 802.11 105, radiotap 127,
    /// PPI 192).
    pub fn frame(&self, link_type: u32) -> Vec<u8> {
        let ip = self.ip_bytes();
        let v6 = self.src.is_ipv6();
        let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
        let mut f = Vec::new();
        match link_type {
            1 => return self.ethernet(&[], &[]),
            0 => f.extend_from_slice(&(if v6 { 30u32 } else { 2 }).to_le_bytes()),
            108 => f.extend_from_slice(&(if v6 { 24u32 } else { 2 }).to_be_bytes()),
            9 | 50 => {
                f.extend_from_slice(&[0xff, 0x03]);
                f.extend_from_slice(&(if v6 { 0x0057u16 } else { 0x0021 }).to_be_bytes());
            }
            12 | 14 | 101 | 228 | 229 => {}
            113 => {
                f.extend_from_slice(&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
                f.extend_from_slice(&ethertype.to_be_bytes());
            }
            276 => {
                f.extend_from_slice(&ethertype.to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            }
            105 | 127 | 192 => {
                if link_type == 127 {
                    f.extend_from_slice(&[0, 0, 8, 0, 0, 0, 0, 0]); // radiotap, no fields
                } else if link_type == 192 {
                    f.extend_from_slice(&[0, 0, 8, 0, 105, 0, 0, 0]); // PPI → 802.11
                }
                // 802.11 data frame, from the AP, then LLC/SNAP.
                f.extend_from_slice(&[0x08, 0x02]);
                f.extend_from_slice(&[0; 22]);
                f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
                f.extend_from_slice(&ethertype.to_be_bytes());
            }
            other => panic!("no synthetic frames for link type {other}"),
        }
        f.extend_from_slice(&ip);
        f
    }

    /// An Ethernet frame carrying PPPoE session → PPP → IP.
    pub fn pppoe(&self) -> Vec<u8> {
        let ip = self.ip_bytes();
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x88, 0x64];
        f.extend_from_slice(&[0x11, 0x00, 0x12, 0x34]);
        f.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
        f.extend_from_slice(
            &(if self.src.is_ipv6() {
                0x0057u16
            } else {
                0x0021
            })
            .to_be_bytes(),
        );
        f.extend_from_slice(&ip);
        f
    }
}

/// Writes a classic pcap file.
pub struct PcapWriter<W: Write> {
    w: W,
    nanos: bool,
    big_endian: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Write the global header. `snaplen` is recorded, not enforced.
    pub fn new(
        mut w: W,
        link_type: u32,
        nanos: bool,
        big_endian: bool,
        snaplen: u32,
    ) -> io::Result<Self> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let fields = [magic, 0x0002_0004, 0, 0, snaplen, link_type];
        for (i, f) in fields.iter().enumerate() {
            if i == 1 {
                // version major/minor as two u16
                let (maj, min) = (2u16, 4u16);
                if big_endian {
                    w.write_all(&maj.to_be_bytes())?;
                    w.write_all(&min.to_be_bytes())?;
                } else {
                    w.write_all(&maj.to_le_bytes())?;
                    w.write_all(&min.to_le_bytes())?;
                }
                continue;
            }
            w.write_all(&if big_endian {
                f.to_be_bytes()
            } else {
                f.to_le_bytes()
            })?;
        }
        Ok(PcapWriter {
            w,
            nanos,
            big_endian,
        })
    }

    /// Write one record; `orig_len` may exceed `data.len()` (snaplen cut).
    /// `ts_ns` is nanoseconds since the epoch (rounded down to µs in
    /// microsecond files).
    pub fn write(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let sec = ts_ns.div_euclid(1_000_000_000) as u32;
        let ns = ts_ns.rem_euclid(1_000_000_000) as u32;
        let frac = if self.nanos { ns } else { ns / 1000 };
        for f in [sec, frac, data.len() as u32, orig_len] {
            self.w.write_all(&if self.big_endian {
                f.to_be_bytes()
            } else {
                f.to_le_bytes()
            })?;
        }
        self.w.write_all(data)
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Writes a little-endian pcapng file with one section.
pub struct PcapNgWriter<W: Write> {
    w: W,
    /// tsresol per interface, as units per second.
    units: Vec<u64>,
}

impl<W: Write> PcapNgWriter<W> {
    /// Write the section header block.
    pub fn new(mut w: W) -> io::Result<Self> {
        let mut b = Vec::new();
        b.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        b.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        w.write_all(&b)?;
        Ok(PcapNgWriter {
            w,
            units: Vec::new(),
        })
    }

    /// Add an interface; `tsresol` is the raw `if_tsresol` option byte
    /// (`None`: default microseconds). Returns its id.
    pub fn add_interface(&mut self, link_type: u32, tsresol: Option<u8>) -> io::Result<u32> {
        let mut opts = Vec::new();
        if let Some(r) = tsresol {
            opts.extend_from_slice(&9u16.to_le_bytes());
            opts.extend_from_slice(&1u16.to_le_bytes());
            opts.extend_from_slice(&[r, 0, 0, 0]);
            opts.extend_from_slice(&[0, 0, 0, 0]);
        }
        let len = 20 + opts.len() as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&(link_type as u16).to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&opts);
        b.extend_from_slice(&len.to_le_bytes());
        self.w.write_all(&b)?;
        let units = match tsresol {
            None => 1_000_000,
            Some(r) if r & 0x80 == 0 => 10u64.pow(u32::from(r)),
            Some(r) => 1u64 << (r & 0x7f),
        };
        self.units.push(units);
        Ok((self.units.len() - 1) as u32)
    }

    /// Write an enhanced packet block; `ts_ns` nanoseconds since the epoch.
    pub fn write(
        &mut self,
        interface: u32,
        ts_ns: i64,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        let units = self.units[interface as usize];
        let ticks = (i128::from(ts_ns) * i128::from(units) / 1_000_000_000) as u64;
        let pad = (4 - data.len() % 4) % 4;
        let len = (32 + data.len() + pad) as u32;
        let mut b = Vec::with_capacity(len as usize);
        b.extend_from_slice(&6u32.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&interface.to_le_bytes());
        b.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ticks as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&orig_len.to_le_bytes());
        b.extend_from_slice(data);
        b.extend(std::iter::repeat_n(0u8, pad));
        b.extend_from_slice(&len.to_le_bytes());
        self.w.write_all(&b)
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.w
    }
}

pub mod traffic;
