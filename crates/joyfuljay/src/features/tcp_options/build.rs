//! Hand-built TCP segments for the tests of the TCP header groups
//! (`tcp_window`, `tcp_options`, `tcp_fingerprint`, `tcp_mptcp`): raw IP
//! frames decoded by the real decoder, fed to a group in order.

use crate::decode::decode;
use crate::features::{FeatureGroup, FlowView, RowWriter, Value};
use crate::flow::{Direction, Flow};
use crate::packet::PacketView;

pub(crate) use crate::decode::tcp_flags::{ACK, SYN};

/// Option bytes.
pub(crate) fn mss(v: u16) -> Vec<u8> {
    let b = v.to_be_bytes();
    vec![2, 4, b[0], b[1]]
}
pub(crate) fn ws(v: u8) -> Vec<u8> {
    vec![3, 3, v]
}
pub(crate) fn sok() -> Vec<u8> {
    vec![4, 2]
}
pub(crate) fn ts(val: u32, ecr: u32) -> Vec<u8> {
    let mut o = vec![8, 10];
    o.extend(val.to_be_bytes());
    o.extend(ecr.to_be_bytes());
    o
}
pub(crate) fn sack(blocks: &[(u32, u32)]) -> Vec<u8> {
    let mut o = vec![5, 2 + 8 * blocks.len() as u8];
    for (l, r) in blocks {
        o.extend(l.to_be_bytes());
        o.extend(r.to_be_bytes());
    }
    o
}
pub(crate) fn mptcp(subtype: u8, len: u8) -> Vec<u8> {
    let mut o = vec![30, len, subtype << 4];
    o.resize(usize::from(len), 0);
    o
}
pub(crate) const NOP: u8 = 1;

/// One segment: direction, flags, raw window, option bytes (padded with
/// EOL to a multiple of 4 unless `raw_doff` is given), IP TTL, IPv6 or not.
#[derive(Debug, Clone)]
pub(crate) struct Seg {
    pub(crate) dir: Direction,
    pub(crate) flags: u8,
    pub(crate) window: u16,
    pub(crate) opts: Vec<u8>,
    pub(crate) ttl: u8,
    pub(crate) v6: bool,
    /// Data offset to write instead of the options' own (words).
    pub(crate) raw_doff: Option<u8>,
}

/// A segment in direction `dir` with `flags`, `window` and options `opts`.
pub(crate) fn seg(dir: Direction, flags: u8, window: u16, opts: &[&[u8]]) -> Seg {
    Seg {
        dir,
        flags,
        window,
        opts: opts.concat(),
        ttl: 64,
        v6: false,
        raw_doff: None,
    }
}

/// The raw IP bytes of `s` (client 10.0.0.1:1000 / 2001:db8::1, server port 80).
pub(crate) fn frame(s: &Seg) -> Vec<u8> {
    let mut opts = s.opts.clone();
    if s.raw_doff.is_none() {
        while !opts.len().is_multiple_of(4) {
            opts.push(0);
        }
    }
    let doff = s.raw_doff.unwrap_or(5 + (opts.len() / 4) as u8);
    let fwd = s.dir == Direction::Fwd;
    let (sp, dp): (u16, u16) = if fwd { (1000, 80) } else { (80, 1000) };
    let mut tcp = Vec::new();
    tcp.extend(sp.to_be_bytes());
    tcp.extend(dp.to_be_bytes());
    tcp.extend(1u32.to_be_bytes());
    tcp.extend(2u32.to_be_bytes());
    tcp.push(doff << 4);
    tcp.push(s.flags);
    tcp.extend(s.window.to_be_bytes());
    tcp.extend([0, 0, 0, 0]);
    tcp.extend(&opts);
    let (a, b) = if fwd { (1u8, 2u8) } else { (2, 1) };
    let mut ip = Vec::new();
    if s.v6 {
        ip.extend([0x60, 0, 0, 0]);
        ip.extend((tcp.len() as u16).to_be_bytes());
        ip.extend([6, s.ttl]);
        for x in [a, b] {
            ip.extend([0x20, 0x01, 0x0d, 0xb8]);
            ip.extend([0; 11]);
            ip.push(x);
        }
    } else {
        ip.extend([0x45, 0]);
        ip.extend((20 + tcp.len() as u16).to_be_bytes());
        ip.extend([0, 1, 0x40, 0, s.ttl, 6, 0, 0]);
        ip.extend([10, 0, 0, a, 10, 0, 0, b]);
    }
    ip.extend(tcp);
    ip
}

/// Feed `segs` in order to a new state of `g` (each decoded from its raw
/// IP frame, cut to `cut` bytes when given).
pub(crate) fn feed<G: FeatureGroup>(g: &G, segs: &[Seg]) -> G::State {
    let mut st = g.new_state();
    for s in segs {
        let f = frame(s);
        let d = decode(101, &f, f.len() as u32).expect("decodable test segment");
        g.update(&mut st, &PacketView::new(0, s.dir, &d, &f));
    }
    st
}

/// The row `g` writes for `segs`.
pub(crate) fn row<G: FeatureGroup>(g: &G, segs: &[Seg], ncols: usize) -> Vec<Value> {
    let st = feed(g, segs);
    let flow = Flow::blank();
    let mask = vec![true; ncols];
    let mut out = Vec::new();
    let mut w = RowWriter::new(&mut out, &mask);
    g.write(&FlowView { flow: &flow }, &st, &mut w);
    assert_eq!(w.written(), ncols);
    out
}

/// The value of column `name` of `cols` in `row`.
pub(crate) fn col<'a>(cols: &[crate::features::Column], row: &'a [Value], name: &str) -> &'a Value {
    let i = cols
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    &row[i]
}

/// A null cell.
pub(crate) fn null() -> Value {
    Value::Null
}

/// A boolean cell.
pub(crate) fn b(x: bool) -> Value {
    Value::Bool(x)
}

/// An integer cell, or null.
pub(crate) fn oi(x: Option<i64>) -> Value {
    x.map_or_else(null, Value::Int)
}
