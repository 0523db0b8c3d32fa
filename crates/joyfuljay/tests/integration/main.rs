//! Integration tests of the joyfuljay library, one binary, modules by topic.

mod docs;
mod flows;
mod options;
mod parallel;
#[cfg(feature = "parquet")]
mod parquet;
mod readers;
mod reference;
mod tcpopts;
mod tshark;
mod util;
