//! Parsers of the protocols that payload feature groups read: TLS
//! handshakes, QUIC Initial packets, SSH identification and key exchange, DNS messages, HTTP/2 frames.
//!
//! They take borrowed bytes, never panic on any input, and return `None`
//! (or a partial result documented as such) for what cannot be read. The
//! feature groups in `features` turn their results into columns; fuzz
//! targets call them directly.

pub mod dns;
pub mod http2;
pub mod quic;
pub mod ssh;
pub mod tls;
