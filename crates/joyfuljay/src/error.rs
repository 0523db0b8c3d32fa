//! Error types: [`Error`] is fatal for a run; [`SkipReason`] classifies a single
//! packet that could not be used and is only counted.

use std::fmt;
use std::path::{Path, PathBuf};

/// A fatal error: the run (or the current input) cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error while opening or reading a file.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a capture format we can read.
    #[error("{path}: unsupported capture format{}{hint}", .format.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    UnsupportedFormat {
        /// The file concerned.
        path: PathBuf,
        /// The format, when it could be recognised.
        format: Option<String>,
        /// A hint on how to convert it.
        hint: &'static str,
    },
    /// The capture header (pcap global header, pcapng section header) is unreadable.
    #[error("{path}: bad capture header: {detail}")]
    BadHeader {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An invalid configuration value or key.
    #[error("{0}")]
    Config(String),
    /// An error while writing output.
    #[error("writing {target}: {source}")]
    Output {
        /// Where the output goes.
        target: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The run was stopped from outside (Ctrl-C, KeyboardInterrupt) before
    /// the end of its input.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The same error naming `to` where it named the file `from` (for a
    /// temporary copy of an input, reported under the input's name).
    pub(crate) fn renamed(mut self, from: &Path, to: &Path) -> Self {
        if let Error::Io { path, .. }
        | Error::UnsupportedFormat { path, .. }
        | Error::BadHeader { path, .. } = &mut self
        {
            if path == from {
                *path = to.to_path_buf();
            }
        }
        self
    }

    /// True when the error is a broken pipe on output (a reader such as `head` went away).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a packet was skipped. Skips are counted, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum SkipReason {
    /// The frame carries no IP packet (ARP, LLDP, STP, CDP, …).
    NotIp = 0,
    /// The link type of the capture (or pcapng interface) is not decoded.
    UnsupportedLinkType,
    /// The captured bytes end before the headers needed for the flow key.
    Truncated,
    /// The link-layer header is malformed.
    BadLinkHeader,
    /// The IPv4 header is malformed (version, header length, total length).
    BadIpv4Header,
    /// The IPv6 header or an extension header is malformed.
    BadIpv6Header,
    /// The TCP/UDP/SCTP/ICMP header is malformed or lies about its length.
    BadTransportHeader,
    /// A pcapng packet refers to an interface that was never described.
    UnknownInterface,
    /// Left out by `sampling_rate` (docs/semantics.md#sampling).
    SampledOut,
}

impl SkipReason {
    /// Every reason, in counting order.
    pub const ALL: [SkipReason; 9] = [
        SkipReason::NotIp,
        SkipReason::UnsupportedLinkType,
        SkipReason::Truncated,
        SkipReason::BadLinkHeader,
        SkipReason::BadIpv4Header,
        SkipReason::BadIpv6Header,
        SkipReason::BadTransportHeader,
        SkipReason::UnknownInterface,
        SkipReason::SampledOut,
    ];

    /// A short snake_case name, used in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NotIp => "not_ip",
            SkipReason::UnsupportedLinkType => "unsupported_link_type",
            SkipReason::Truncated => "truncated",
            SkipReason::BadLinkHeader => "bad_link_header",
            SkipReason::BadIpv4Header => "bad_ipv4_header",
            SkipReason::BadIpv6Header => "bad_ipv6_header",
            SkipReason::BadTransportHeader => "bad_transport_header",
            SkipReason::UnknownInterface => "unknown_interface",
            SkipReason::SampledOut => "sampled_out",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
