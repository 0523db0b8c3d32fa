//! Integration tests of the joyfuljay library, one binary, modules by topic.

mod connection;
mod docs;
mod flows;
mod header_groups;
mod http2;
mod limits;
mod options;
mod parallel;
#[cfg(feature = "parquet")]
mod parquet;
mod quic;
mod readers;
mod reference;
mod reference_ip;
mod ssh;
mod tcpopts;
mod tshark;
mod tshark_dns;
mod tshark_ip;
mod tshark_tcp;
mod tshark_tls;
mod util;
