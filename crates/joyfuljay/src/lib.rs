//! # joyfuljay
//!
//! Network flow feature extraction from packet captures.
//!
//! The pipeline, one module per stage:
//!
//! 1. [`capture`] reads pcap and pcapng files (format from the magic
//!    number; legacy pcap files read through a window and parsed in
//!    place, anything else streamed) and yields [`capture::Frame`]s, in bounded memory.
//! 2. [`decode`] turns a frame into a [`decode::Decoded`] packet: addresses,
//!    ports, protocol, IP-level and payload lengths, TCP flags, the protocol
//!    stack and where each layer starts. Undecodable packets are counted by
//!    [`SkipReason`].
//! 3. [`packet`] is what a feature group sees of a packet
//!    ([`packet::PacketView`]): the decoded summary, header details and
//!    payload read from the frame on demand, and the start of the TCP byte
//!    stream ([`packet::stream`]).
//! 4. [`flow`] assembles packets into bidirectional flows and ends them by
//!    idle/active timeout, TCP close, eviction or end of input; the groups'
//!    per-flow state lives beside the flows ([`flow::FlowStates`]).
//! 5. [`features`] holds the feature groups ([`features::FeatureGroup`]);
//!    each describes its columns once ([`features::Column`]) and writes one
//!    row per flow.
//! 6. [`output`] writes rows as CSV, JSON or JSON Lines, through files that
//!    appear only when complete. Cargo features add `output::arrow` (Arrow
//!    record batches, feature `arrow`) and `output::parquet` (Parquet with
//!    zstd, feature `parquet`).
//!
//! [`Pipeline`] ties the stages together for a [`Config`]:
//!
//! ```
//! use joyfuljay::{Config, Pipeline, output::VecSink, pipeline::Quiet};
//! # let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/captures/http.cap"));
//! let config = Config { features: vec!["flow_meta".into()], ..Config::default() };
//! let pipeline = Pipeline::new(config)?;
//! let mut rows = VecSink::default();
//! let stats = pipeline.run(&[path], &mut rows, &mut Quiet)?;
//! assert_eq!(rows.rows.len() as u64, stats.flows);
//! assert_eq!(rows.columns[0], "src_ip");
//! # Ok::<(), joyfuljay::Error>(())
//! ```

#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod capture;
pub mod config;
pub mod decode;
pub mod error;
pub mod features;
pub mod flow;
mod hint;
pub mod info;
pub mod live;
pub mod memory;
pub mod output;
pub mod packet;
pub mod parallel;
pub mod pipeline;
pub mod proto;
pub mod rng;
pub mod schema;
pub mod synth;

pub use config::Config;
pub use error::{Error, Result, SkipReason};
pub use pipeline::{Pipeline, Stats};

/// The library version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod layering {
    /// The layering the crate documents: the flow table knows nothing of
    /// feature groups, and the configuration is plain data that imports no
    /// other stage.
    #[test]
    fn flow_and_config_import_no_feature_groups() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(src.join("flow"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.push(src.join("config.rs"));
        assert!(files.len() > 5);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for forbidden in ["crate::features", "super::features", "crate::pipeline"] {
                assert!(
                    !text.contains(forbidden),
                    "{} uses {forbidden}",
                    f.display()
                );
            }
        }
    }
}
