//! BPF filters (`--filter EXPR`), compiled by libpcap as tcpdump compiles
//! them, and run on each record of a capture file as `tcpdump -r FILE EXPR`
//! does (`pcap_offline_filter`). Needs the `live` cargo feature (libpcap).

use joyfuljay::capture::FrameFilter;

/// The filter `expr` for frames of the given link types (more link types,
/// as a pcapng file announces further interfaces, are compiled when first
/// seen). An expression that does not compile for the first link type is
/// an error naming it.
#[cfg(feature = "live")]
pub fn compile(expr: &str, link_types: &[u32]) -> anyhow::Result<FrameFilter> {
    use std::collections::HashMap;
    use std::sync::{Arc, RwLock};
    let first = link_types.first().copied().unwrap_or(1);
    let prog = Program::compile(expr, first)?;
    let mut progs = HashMap::new();
    progs.insert(first, Some(prog));
    for &lt in link_types.iter().skip(1) {
        progs.insert(lt, Program::compile(expr, lt).ok());
    }
    let expr = expr.to_string();
    let progs = RwLock::new(progs);
    Ok(Arc::new(move |lt: u32, data: &[u8], orig_len: u32| {
        if let Some(p) = progs.read().expect("filter lock").get(&lt) {
            return p.as_ref().is_some_and(|p| p.matches(data, orig_len));
        }
        // A link type first seen now: compile for it (no match if the
        // expression means nothing there, as for tcpdump).
        let p = Program::compile(&expr, lt).ok();
        let m = p.as_ref().is_some_and(|p| p.matches(data, orig_len));
        progs.write().expect("filter lock").insert(lt, p);
        m
    }))
}

/// Without libpcap: a clear error.
#[cfg(not(feature = "live"))]
pub fn compile(_expr: &str, _link_types: &[u32]) -> anyhow::Result<FrameFilter> {
    anyhow::bail!("--filter needs libpcap, and this build of jj lacks it (built without the cargo feature `live`)")
}

/// A compiled BPF program.
#[cfg(feature = "live")]
pub struct Program(pcap::BpfProgram);

// pcap_offline_filter only reads the program: it may run on several
// threads at once.
#[cfg(feature = "live")]
#[allow(unsafe_code)]
unsafe impl Sync for Program {}

#[cfg(feature = "live")]
#[allow(unsafe_code)]
extern "C" {
    // libpcap (linked by the pcap crate): the filter of `tcpdump -r`.
    fn pcap_offline_filter(
        prog: *const std::ffi::c_void,
        hdr: *const pcap::PacketHeader,
        pkt: *const u8,
    ) -> std::ffi::c_int;
}

#[cfg(feature = "live")]
impl Program {
    /// Compile `expr` (optimised, as tcpdump does) for link type `lt`.
    pub fn compile(expr: &str, lt: u32) -> anyhow::Result<Program> {
        let bad = |e: pcap::Error| {
            anyhow::anyhow!(
                "--filter '{expr}': {}",
                crate::live::pcap_message(&e).trim_start_matches("can't parse filter expression: ")
            )
        };
        let lt = i32::try_from(lt).map_err(|_| anyhow::anyhow!("link type {lt} out of range"))?;
        let dead = pcap::Capture::dead(pcap::Linktype(lt)).map_err(bad)?;
        Ok(Program(dead.compile(expr, true).map_err(bad)?))
    }

    /// Whether the frame (`data` captured of `orig_len` bytes) matches.
    pub fn matches(&self, data: &[u8], orig_len: u32) -> bool {
        let hdr = pcap::PacketHeader {
            ts: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            caplen: data.len() as u32,
            len: orig_len,
        };
        // SAFETY: `BpfProgram` is a transparent wrapper of libpcap's
        // `struct bpf_program`, `PacketHeader` is `struct pcap_pkthdr`
        // (repr(C)), and `data` holds `caplen` bytes.
        #[allow(unsafe_code)]
        let r = unsafe {
            pcap_offline_filter(
                &self.0 as *const pcap::BpfProgram as *const std::ffi::c_void,
                &hdr,
                data.as_ptr(),
            )
        };
        r > 0
    }
}
