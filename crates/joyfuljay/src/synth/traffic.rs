//! A deterministic, seeded generator of realistic traffic for benchmarks:
//! TCP connections (handshake, data both ways, FIN or RST close), UDP
//! request/response exchanges and ICMP echoes, with a share of IPv6 and of
//! VLAN-tagged frames, interleaved across a chosen number of concurrent flows.

use super::{Packet, PcapNgWriter, PcapWriter, L4};
use crate::rng::Rng;
use std::io::{self, Write};

/// Packet size mixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// ACK-only segments, small requests and full-size data segments.
    Default,
    /// Small packets only (payload 0–32 bytes): the decoder/table worst case.
    Small,
    /// Flow-dense, like real traffic: mostly single UDP request/response
    /// pairs (DNS-like, sometimes two) between many distinct hosts and
    /// ports, a share of short TCP connections, a few ICMP echoes and rare
    /// long TCP transfers.
    Dense,
}

/// Generator parameters.
#[derive(Debug, Clone)]
pub struct TrafficSpec {
    /// Packets to write.
    pub packets: u64,
    /// Connections open at once.
    pub concurrent: usize,
    /// Size mix.
    pub mix: Mix,
    /// Seed of the pseudo-random generator.
    pub seed: u64,
    /// Share of IPv6 connections (0–1).
    pub ipv6_share: f64,
    /// Share of VLAN-tagged connections (0–1).
    pub vlan_share: f64,
    /// Mean gap between packets, in microseconds.
    pub mean_gap_us: f64,
}

impl Default for TrafficSpec {
    fn default() -> Self {
        TrafficSpec {
            packets: 1_000_000,
            concurrent: 1_000,
            mix: Mix::Default,
            seed: 1,
            ipv6_share: 0.1,
            vlan_share: 0.1,
            mean_gap_us: 10.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Tcp,
    Udp,
    Icmp,
}

/// One scripted conversation: a queue of steps emitted one at a time.
struct Conn {
    kind: Kind,
    client: String,
    server: String,
    cport: u16,
    sport: u16,
    vlan: Option<u16>,
    /// Remaining steps: (from client?, flags, payload).
    steps: Vec<(bool, u8, usize)>,
    next: usize,
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;

fn payload(rng: &mut Rng, mix: Mix, bulk: bool) -> usize {
    match mix {
        Mix::Small => rng.below_mod(33) as usize,
        Mix::Dense => {
            if bulk && rng.unit() < 0.5 {
                1448
            } else {
                24 + rng.below_mod(200) as usize
            }
        }
        Mix::Default => {
            if bulk && rng.unit() < 0.7 {
                1448
            } else {
                20 + rng.below_mod(400) as usize
            }
        }
    }
}

fn new_conn(rng: &mut Rng, spec: &TrafficSpec, serial: u64) -> Conn {
    let r = rng.unit();
    let dense = spec.mix == Mix::Dense;
    let kind = if dense {
        if r < 0.82 {
            Kind::Udp
        } else if r < 0.97 {
            Kind::Tcp
        } else {
            Kind::Icmp
        }
    } else if r < 0.7 {
        Kind::Tcp
    } else if r < 0.95 {
        Kind::Udp
    } else {
        Kind::Icmp
    };
    let v6 = rng.unit() < spec.ipv6_share;
    let c = rng.next_u64();
    // Dense traffic talks to many servers (a /16), the others to 254.
    let s = if dense {
        rng.below_mod(65_000)
    } else {
        rng.below_mod(254)
    };
    let (client, server) = if v6 {
        (
            format!(
                "2001:db8:{:x}:{:x}::{:x}",
                (c >> 48) & 0xffff,
                (c >> 32) & 0xffff,
                c & 0xffff
            ),
            format!("2001:db8:ffff::{:x}", s + 1),
        )
    } else {
        (
            format!(
                "10.{}.{}.{}",
                (c >> 16) & 0xff,
                (c >> 8) & 0xff,
                (c & 0xff).max(1)
            ),
            if dense {
                format!("172.16.{}.{}", (s + 1) >> 8, ((s + 1) & 0xff).max(1))
            } else {
                format!("192.0.2.{}", s + 1)
            },
        )
    };
    let cport = 1024 + ((serial.wrapping_mul(7919) ^ c) % 64000) as u16;
    let vlan = (rng.unit() < spec.vlan_share).then(|| 1 + rng.below_mod(4000) as u16);
    let mut steps = Vec::new();
    let sport;
    match kind {
        Kind::Tcp => {
            sport = [80u16, 443, 22, 25, 8080][rng.below_mod(5) as usize];
            steps.push((true, SYN, 0));
            steps.push((false, SYN | ACK, 0));
            steps.push((true, ACK, 0));
            let long = dense && rng.unit() < 0.02;
            let exchanges = if long {
                20 + rng.below_mod(40)
            } else if dense {
                1 + rng.below_mod(2)
            } else {
                1 + rng.below_mod(6)
            };
            for _ in 0..exchanges {
                steps.push((true, PSH | ACK, payload(rng, spec.mix, false)));
                let segs = if dense && !long {
                    1
                } else {
                    1 + rng.below_mod(8)
                };
                for _ in 0..segs {
                    steps.push((false, ACK, payload(rng, spec.mix, true)));
                }
                steps.push((true, ACK, 0));
            }
            if rng.unit() < 0.1 {
                steps.push((true, RST | ACK, 0));
            } else {
                steps.push((true, FIN | ACK, 0));
                steps.push((false, FIN | ACK, 0));
                steps.push((true, ACK, 0));
            }
        }
        Kind::Udp => {
            sport = [53u16, 123, 443, 5353][rng.below_mod(4) as usize];
            let exchanges = if dense {
                1 + u64::from(rng.unit() < 0.1)
            } else {
                1 + rng.below_mod(3)
            };
            for _ in 0..exchanges {
                steps.push((true, 0, payload(rng, spec.mix, false)));
                steps.push((false, 0, payload(rng, spec.mix, false)));
            }
        }
        Kind::Icmp => {
            sport = 0;
            for _ in 0..1 + rng.below_mod(4) {
                steps.push((true, 0, 56));
                steps.push((false, 0, 56));
            }
        }
    }
    Conn {
        kind,
        client,
        server,
        cport,
        sport,
        vlan,
        steps,
        next: 0,
    }
}

impl Conn {
    fn frame(&self, step: (bool, u8, usize)) -> Vec<u8> {
        let (from_client, flags, len) = step;
        let (src, dst, sp, dp) = if from_client {
            (&self.client, &self.server, self.cport, self.sport)
        } else {
            (&self.server, &self.client, self.sport, self.cport)
        };
        let l4 = match self.kind {
            Kind::Tcp => L4::Tcp {
                sport: sp,
                dport: dp,
                flags,
                options: 0,
                payload: len,
            },
            Kind::Udp => L4::Udp {
                sport: sp,
                dport: dp,
                payload: len,
            },
            Kind::Icmp => L4::Icmp { payload: len },
        };
        let p = Packet::new(src, dst, l4);
        match self.vlan {
            Some(v) => p.ethernet(&[v], &[]),
            None => p.ethernet(&[], &[]),
        }
    }
}

/// Where generated frames go.
pub trait FrameSink {
    /// One Ethernet frame at `ts_ns`.
    fn frame(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()>;
}

impl<W: Write> FrameSink for PcapWriter<W> {
    fn frame(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        self.write(ts_ns, data, data.len() as u32)
    }
}

impl<W: Write> FrameSink for PcapNgWriter<W> {
    fn frame(&mut self, ts_ns: i64, data: &[u8]) -> io::Result<()> {
        self.write(0, ts_ns, data, data.len() as u32)
    }
}

/// Summary of what was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    /// Packets written.
    pub packets: u64,
    /// Connections started.
    pub connections: u64,
    /// Bytes of frames written.
    pub frame_bytes: u64,
}

/// A flood of one-packet flows into `out`: packet `i` is a UDP datagram
/// with 8 payload bytes from 10.0.0.0 + i / 60000, port 1024 + i % 60000,
/// to 192.168.0.1:53, every 5-tuple distinct; packets are `gap_us`
/// microseconds apart (all within the idle timeout when
/// `packets × gap_us` < 60 s). The memory budget's worst case.
pub fn flood(packets: u64, gap_us: f64, out: &mut dyn FrameSink) -> io::Result<Generated> {
    let mut g = Generated::default();
    let mut ts_ns: i64 = 1_700_000_000_000_000_000;
    let step = (gap_us * 1000.0).max(1.0) as i64;
    for i in 0..packets {
        let host = 0x0a00_0000u32.wrapping_add((i / 60_000) as u32);
        let src = std::net::Ipv4Addr::from(host).to_string();
        let sport = 1024 + (i % 60_000) as u16;
        let frame = super::Packet::udp(&src, sport, "192.168.0.1", 53, 8).frame(1);
        out.frame(ts_ns, &frame)?;
        ts_ns += step;
        g.packets += 1;
        g.connections += 1;
        g.frame_bytes += frame.len() as u64;
    }
    Ok(g)
}

/// Generate traffic into `out` (Ethernet frames).
pub fn generate(spec: &TrafficSpec, out: &mut dyn FrameSink) -> io::Result<Generated> {
    let mut rng = Rng::new(spec.seed);
    let mut serial = 0u64;
    let n = spec.concurrent.max(1);
    let mut conns: Vec<Conn> = (0..n)
        .map(|_| {
            serial += 1;
            new_conn(&mut rng, spec, serial)
        })
        .collect();
    let mut g = Generated {
        connections: serial,
        ..Generated::default()
    };
    let mut ts_ns: i64 = 1_700_000_000_000_000_000;
    while g.packets < spec.packets {
        let i = rng.below_mod(n as u64) as usize;
        let step = conns[i].steps[conns[i].next];
        let f = conns[i].frame(step);
        // Exponential gaps with the given mean.
        let gap = -spec.mean_gap_us * (1.0 - rng.unit()).ln();
        ts_ns += (gap * 1000.0) as i64 + 1;
        out.frame(ts_ns, &f)?;
        g.packets += 1;
        g.frame_bytes += f.len() as u64;
        conns[i].next += 1;
        if conns[i].next == conns[i].steps.len() {
            serial += 1;
            conns[i] = new_conn(&mut rng, spec, serial);
            g.connections += 1;
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(Vec<(i64, Vec<u8>)>);
    impl FrameSink for Count {
        fn frame(&mut self, ts: i64, d: &[u8]) -> io::Result<()> {
            self.0.push((ts, d.to_vec()));
            Ok(())
        }
    }

    #[test]
    fn deterministic_and_counted() {
        let spec = TrafficSpec {
            packets: 5000,
            concurrent: 50,
            ..TrafficSpec::default()
        };
        let mut a = Count(Vec::new());
        let mut b = Count(Vec::new());
        let ga = generate(&spec, &mut a).unwrap();
        generate(&spec, &mut b).unwrap();
        assert_eq!(a.0, b.0);
        assert_eq!(ga.packets, 5000);
        assert_eq!(a.0.len(), 5000);
        assert!(a.0.windows(2).all(|w| w[0].0 < w[1].0));
        // Every frame decodes.
        for (_, f) in &a.0 {
            assert!(crate::decode::decode(1, f, f.len() as u32).is_ok());
        }
    }
}
