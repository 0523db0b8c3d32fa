//! A minimal pcapng writer for `jj live --save-pcap`: a section header,
//! one interface description per captured interface, one enhanced packet
//! block per packet (microsecond timestamps, the pcapng default).

use std::io::{self, Write};

/// Writes blocks to `w` in the machine's byte order (pcapng readers detect
/// it from the section header).
pub struct PcapngWriter<W: Write> {
    w: W,
    block: Vec<u8>,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

impl<W: Write> PcapngWriter<W> {
    /// Start a section (writes the section header block).
    pub fn new(w: W) -> io::Result<Self> {
        let mut me = PcapngWriter {
            w,
            block: Vec::with_capacity(70_000),
        };
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&(-1i64).to_ne_bytes());
        // shb_userappl (4)
        let app = format!("jj {}", env!("CARGO_PKG_VERSION"));
        Self::option(&mut body, 4, app.as_bytes());
        Self::option(&mut body, 0, &[]);
        me.write_block(0x0A0D_0D0A, &body)?;
        Ok(me)
    }

    fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
        body.extend_from_slice(&code.to_ne_bytes());
        body.extend_from_slice(&(value.len() as u16).to_ne_bytes());
        body.extend_from_slice(value);
        body.extend(std::iter::repeat_n(0u8, pad4(value.len())));
    }

    fn write_block(&mut self, kind: u32, body: &[u8]) -> io::Result<()> {
        let total = (12 + body.len()) as u32;
        self.block.clear();
        self.block.extend_from_slice(&kind.to_ne_bytes());
        self.block.extend_from_slice(&total.to_ne_bytes());
        self.block.extend_from_slice(body);
        self.block.extend_from_slice(&total.to_ne_bytes());
        self.w.write_all(&self.block)
    }

    /// Describe the next interface (ids count from 0 in call order).
    pub fn interface(&mut self, link_type: u32, snaplen: u32, name: &str) -> io::Result<()> {
        let mut body = Vec::new();
        body.extend_from_slice(&(link_type as u16).to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&snaplen.to_ne_bytes());
        // if_name (2)
        Self::option(&mut body, 2, name.as_bytes());
        Self::option(&mut body, 0, &[]);
        self.write_block(1, &body)
    }

    /// One packet of interface `iface`, `ts_us` µs after the epoch.
    pub fn packet(&mut self, iface: u32, ts_us: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let ts = ts_us as u64;
        let total = (32 + data.len() + pad4(data.len())) as u32;
        self.block.clear();
        self.block.extend_from_slice(&6u32.to_ne_bytes());
        self.block.extend_from_slice(&total.to_ne_bytes());
        self.block.extend_from_slice(&iface.to_ne_bytes());
        self.block
            .extend_from_slice(&((ts >> 32) as u32).to_ne_bytes());
        self.block.extend_from_slice(&(ts as u32).to_ne_bytes());
        self.block
            .extend_from_slice(&(data.len() as u32).to_ne_bytes());
        self.block.extend_from_slice(&orig_len.to_ne_bytes());
        self.block.extend_from_slice(data);
        self.block
            .extend(std::iter::repeat_n(0u8, pad4(data.len())));
        self.block.extend_from_slice(&total.to_ne_bytes());
        self.w.write_all(&self.block)
    }

    /// Pass the blocks written so far on.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// joyfuljay's own pcapng reader reads back what was written. (Lengths
    /// that are multiples of 4: that reader currently hands on an enhanced
    /// packet block's padding with the data; tcpdump reading `--save-pcap`
    /// files in tests/live.rs checks odd lengths.)
    #[test]
    fn written_packets_read_back() {
        let mut buf = Vec::new();
        {
            let mut w = PcapngWriter::new(&mut buf).unwrap();
            w.interface(1, 262_144, "veth0").unwrap();
            w.interface(101, 65_535, "tun0").unwrap();
            w.packet(0, 1_700_000_000_123_456, &[1, 2, 3, 4], 60)
                .unwrap();
            w.packet(1, 1_700_000_001_000_001, &[9; 8], 8).unwrap();
            w.flush().unwrap();
        }
        let mut r = joyfuljay::capture::CaptureReader::from_reader(
            std::path::Path::new("x.pcapng"),
            Box::new(std::io::Cursor::new(buf)),
        )
        .unwrap();
        let mut got = Vec::new();
        let end = r.for_each(
            |f| {
                got.push((f.ts_us, f.link_type, f.orig_len, f.data.to_vec()));
                true
            },
            || panic!("unknown interface"),
        );
        assert!(end.is_ok());
        assert_eq!(
            got,
            vec![
                (1_700_000_000_123_456, 1, 60, vec![1, 2, 3, 4]),
                (1_700_000_001_000_001, 101, 8, vec![9; 8]),
            ]
        );
    }
}
