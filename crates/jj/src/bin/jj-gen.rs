//! `jj-gen`: writes a deterministic benchmark capture (pcap or pcapng).
//!
//! ```sh
//! jj-gen -o bench.pcap --packets 10000000 --flows 10000
//! jj-gen -o small.pcapng --mix small --flows 1000000
//! ```

use clap::{Parser, ValueEnum};
use joyfuljay::synth::traffic::{flood, generate, FrameSink, Generated, Mix, TrafficSpec};
use joyfuljay::synth::{PcapNgWriter, PcapWriter};
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum, Debug)]
enum MixArg {
    Default,
    Small,
    /// Flow-dense: mostly 2–4-packet UDP exchanges between many hosts.
    Dense,
    /// One-packet UDP flows, every 5-tuple distinct (`--flows` is
    /// ignored): the memory budget's worst case.
    Flood,
}

/// Write a seeded, realistic benchmark capture: TCP connections with
/// handshake, data both ways and FIN/RST close, UDP request/response pairs,
/// ICMP echoes; a share of IPv6 and of VLAN-tagged frames.
#[derive(Parser, Debug)]
#[command(name = "jj-gen", version)]
struct Args {
    /// Output file; `.pcapng` writes pcapng, anything else pcap.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Packets to write.
    #[arg(long, default_value_t = 1_000_000)]
    packets: u64,
    /// Concurrent flows (connections interleaved at once), up to millions.
    #[arg(long, default_value_t = 1_000)]
    flows: usize,
    /// Packet size mix.
    #[arg(long, value_enum, default_value_t = MixArg::Default)]
    mix: MixArg,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of IPv6 connections.
    #[arg(long, default_value_t = 0.1)]
    ipv6: f64,
    /// Share of VLAN-tagged connections.
    #[arg(long, default_value_t = 0.1)]
    vlan: f64,
    /// Mean gap between packets in microseconds.
    #[arg(long, default_value_t = 10.0)]
    gap_us: f64,
}

fn write(a: &Args, spec: &TrafficSpec, w: &mut dyn FrameSink) -> std::io::Result<Generated> {
    match a.mix {
        MixArg::Flood => flood(spec.packets, spec.mean_gap_us, w),
        _ => generate(spec, w),
    }
}

fn main() -> ExitCode {
    let a = Args::parse();
    let spec = TrafficSpec {
        packets: a.packets,
        concurrent: a.flows,
        mix: match a.mix {
            MixArg::Default => Mix::Default,
            MixArg::Small => Mix::Small,
            MixArg::Dense | MixArg::Flood => Mix::Dense,
        },
        seed: a.seed,
        ipv6_share: a.ipv6,
        vlan_share: a.vlan,
        mean_gap_us: a.gap_us,
    };
    let result = (|| -> std::io::Result<_> {
        let f = BufWriter::with_capacity(1 << 20, std::fs::File::create(&a.output)?);
        let ng = a.output.extension().is_some_and(|e| e == "pcapng");
        let g = if ng {
            let mut w = PcapNgWriter::new(f)?;
            w.add_interface(1, None)?;
            let g = write(&a, &spec, &mut w)?;
            use std::io::Write;
            w.into_inner().flush()?;
            g
        } else {
            let mut w = PcapWriter::new(f, 1, false, false, 65535)?;
            let g = write(&a, &spec, &mut w)?;
            use std::io::Write;
            w.into_inner().flush()?;
            g
        };
        Ok(g)
    })();
    match result {
        Ok(g) => {
            eprintln!(
                "jj-gen: wrote {} packets ({} connections, {} frame bytes) to {}",
                g.packets,
                g.connections,
                g.frame_bytes,
                a.output.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jj-gen: error: {}: {e}", a.output.display());
            ExitCode::from(1)
        }
    }
}
