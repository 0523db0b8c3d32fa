//! `flow_meta`: flow identification, timing, volume, rates and the protocol
//! stack — the columns of the user's `flow_meta` document, in its
//! "Example Output" order. `flow_stat` follows Tranalyzer's flow status idea
//! with the bit table of the document (`docs/semantics.md#flow_stat`).

use super::stats::ratio;
use super::{Column, ColumnType, FeatureGroup, FlowView, Gate, Group, GroupDef, RowWriter};
use crate::config::Config;
use crate::decode::transport_token;
use crate::flow::ip_text;
use crate::packet::PacketView;
use sha2::{Digest, Sha256};
use std::sync::Arc;

const fn col(
    name: &'static str,
    ty: ColumnType,
    unit: &'static str,
    gate: Gate,
    identifies: bool,
    description: &'static str,
) -> Column {
    Column {
        identifies,
        ..Column::describe(name, ty, unit, gate, description)
    }
}

use ColumnType::{Float, Int, Str};
const ALWAYS: Gate = Gate::ALWAYS;
const FLOW_ID: Gate = Gate::on("include_flow_id", |c| c.include_flow_id);
const IP_ADDRESSES: Gate = Gate::on("include_ip_addresses", |c| c.include_ip_addresses);
const PORTS: Gate = Gate::on("include_ports", |c| c.include_ports);

/// The `flow_meta` columns, in output order.
pub const COLUMNS: &[Column] = &[
    col("flow_id", Str, "", FLOW_ID, true, "First 32 hex characters of SHA-256 of salt + \"ip_a:port_a:ip_b:port_b:protocol\" (endpoints in string-then-number order): the same for both directions and across captures."),
    col("src_ip", Str, "", IP_ADDRESSES, true, "Initiator address (sender of the flow's first packet): dotted quad or RFC 5952 IPv6; 16 hex characters when anonymized."),
    col("dst_ip", Str, "", IP_ADDRESSES, true, "Responder address; 16 hex characters when anonymized."),
    col("src_port", Int, "", PORTS, true, "Initiator port (0 for protocols without ports)."),
    col("dst_port", Int, "", PORTS, true, "Responder port (0 for protocols without ports)."),
    col("dst_port_class", Str, "", PORTS, true, "Responder port class: well_known (0-1023), registered (1024-49151) or dynamic (49152-65535)."),
    col("dst_port_class_num", Int, "", PORTS, true, "Responder port class as a number: 0 well_known, 1 registered, 2 dynamic."),
    col("protocol", Int, "", ALWAYS, false, "IP protocol number of the upper layer (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP, 50 ESP, …)."),
    col("start_time", Float, "s", ALWAYS, false, "Unix time of the flow's earliest packet, exact to the microsecond."),
    col("end_time", Float, "s", ALWAYS, false, "Unix time of the flow's latest packet."),
    col("duration", Float, "s", ALWAYS, false, "end_time - start_time."),
    col("total_packets", Int, "packets", ALWAYS, false, "Packets in both directions."),
    col("packets_fwd", Int, "packets", ALWAYS, false, "Packets from initiator to responder."),
    col("packets_bwd", Int, "packets", ALWAYS, false, "Packets from responder to initiator."),
    col("total_bytes", Int, "bytes", ALWAYS, false, "IP-level bytes in both directions (IPv4 total length; IPv6 payload length + 40)."),
    col("bytes_fwd", Int, "bytes", ALWAYS, false, "IP-level bytes from initiator to responder."),
    col("bytes_bwd", Int, "bytes", ALWAYS, false, "IP-level bytes from responder to initiator."),
    col("payload_bytes_fwd", Int, "bytes", ALWAYS, false, "Bytes after the transport header, initiator to responder (TCP/UDP data, ICMP data after 8 bytes; whole IP payload for other protocols)."),
    col("payload_bytes_bwd", Int, "bytes", ALWAYS, false, "Bytes after the transport header, responder to initiator."),
    col("payload_bytes_total", Int, "bytes", ALWAYS, false, "Bytes after the transport header, both directions."),
    col("packets_ratio", Float, "", ALWAYS, false, "packets_fwd / packets_bwd (packets_fwd when packets_bwd is 0)."),
    col("bytes_ratio", Float, "", ALWAYS, false, "bytes_fwd / bytes_bwd (bytes_fwd when bytes_bwd is 0)."),
    col("packets_per_second", Float, "packets/s", ALWAYS, false, "total_packets / duration (total_packets when duration is 0)."),
    col("bytes_per_second", Float, "bytes/s", ALWAYS, false, "total_bytes / duration (total_bytes when duration is 0)."),
    col("avg_packet_size", Float, "bytes", ALWAYS, false, "total_bytes / total_packets."),
    col("time_first", Float, "s", ALWAYS, false, "Alias of start_time (Tranalyzer's name)."),
    col("time_last", Float, "s", ALWAYS, false, "Alias of end_time (Tranalyzer's name)."),
    col("flow_stat", Int, "", ALWAYS, false, "TCP state bitmap: 0x01 SYN from initiator, 0x02 SYN-ACK from responder, 0x04 FIN from initiator, 0x08 FIN from responder, 0x10 RST, 0x20 ended by timeout or eviction, 0x40 proper termination (handshake, then FIN both ways or RST)."),
    col("num_hdrs", Int, "headers", ALWAYS, false, "Number of elements in hdr_desc."),
    col("hdr_desc", Str, "", ALWAYS, false, "Decoded protocol stack of the flow's first packet, outermost first, joined by '-' (e.g. ETH-VLAN-IP-TCP, SLL-IP6-UDP; no link element for raw IP)."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "flow_meta",
    summary:
        "Flow identification, timing, packet and byte counts, rates, TCP state and protocol stack.",
    columns: COLUMNS,
    build,
};

fn build(cfg: &Config) -> Arc<dyn Group> {
    Arc::new(FlowMeta {
        anonymize: cfg.anonymize_ips,
        salt: cfg.anonymization_salt.clone(),
    })
}

struct FlowMeta {
    anonymize: bool,
    salt: String,
}

/// Lowercase hex of the first `n` hex digits of SHA-256(salt + text).
fn hashed(salt: &str, text: &str, n: usize) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(text.as_bytes());
    let mut s = hex::encode(h.finalize());
    s.truncate(n);
    s
}

/// The anonymized form of an address text: 16 hex characters.
pub fn anonymize_ip(salt: &str, ip: &str) -> String {
    hashed(salt, ip, 16)
}

/// The `flow_id` of a 5-tuple given as address texts and ports.
pub fn flow_id(salt: &str, ip1: &str, port1: u16, ip2: &str, port2: u16, proto: u8) -> String {
    let (a, b) = if (ip1, port1) <= (ip2, port2) {
        ((ip1, port1), (ip2, port2))
    } else {
        ((ip2, port2), (ip1, port1))
    };
    let text = format!("{}:{}:{}:{}:{}", a.0, a.1, b.0, b.1, proto);
    hashed(salt, &text, 32)
}

fn port_class(port: u16) -> (&'static str, i64) {
    match port {
        0..=1023 => ("well_known", 0),
        1024..=49151 => ("registered", 1),
        _ => ("dynamic", 2),
    }
}

/// Microseconds to Unix seconds.
pub(crate) fn secs(us: i64) -> f64 {
    us as f64 / 1e6
}

impl FeatureGroup for FlowMeta {
    /// Computed from the flow's common accumulators alone.
    type State = ();

    fn new_state(&self) {}

    fn update(&self, _state: &mut (), _pkt: &PacketView<'_>) {}

    fn write(&self, flow: &FlowView<'_>, _state: &(), out: &mut RowWriter<'_>) {
        let (src, dst) = (flow.src(), flow.dst());
        let v6 = flow.key.v6;
        let src_text = ip_text(src.addr, v6);
        let dst_text = ip_text(dst.addr, v6);
        out.put_with(|| {
            flow_id(
                &self.salt,
                &src_text,
                src.port,
                &dst_text,
                dst.port,
                flow.key.proto,
            )
        });
        if self.anonymize {
            out.put_with(|| anonymize_ip(&self.salt, &src_text));
            out.put_with(|| anonymize_ip(&self.salt, &dst_text));
        } else {
            out.put(src_text);
            out.put(dst_text);
        }
        out.put(i64::from(src.port));
        out.put(i64::from(dst.port));
        let (class, class_num) = port_class(dst.port);
        out.put(class);
        out.put(class_num);
        out.put(i64::from(flow.key.proto));

        let start = secs(flow.start_us);
        let end = secs(flow.end_us);
        let duration = secs(flow.end_us - flow.start_us);
        out.put(start);
        out.put(end);
        out.put(duration);

        let total_packets = flow.total_packets();
        out.put(total_packets);
        out.put(flow.packets[0]);
        out.put(flow.packets[1]);
        let total_bytes = flow.total_bytes();
        out.put(total_bytes);
        out.put(flow.bytes[0]);
        out.put(flow.bytes[1]);
        out.put(flow.payload[0]);
        out.put(flow.payload[1]);
        out.put(flow.payload[0] + flow.payload[1]);
        out.put(ratio(flow.packets[0] as f64, flow.packets[1] as f64));
        out.put(ratio(flow.bytes[0] as f64, flow.bytes[1] as f64));
        let rate = |total: u64| {
            if flow.end_us == flow.start_us {
                total as f64
            } else {
                total as f64 / duration
            }
        };
        out.put(rate(total_packets));
        out.put(rate(total_bytes));
        out.put(if total_packets == 0 {
            0.0
        } else {
            total_bytes as f64 / total_packets as f64
        });
        out.put(start);
        out.put(end);
        out.put(i64::from(flow.flow_stat()));
        let mut desc = String::with_capacity(24);
        let mut n = 0i64;
        for l in flow.stack.layers() {
            if n > 0 {
                desc.push('-');
            }
            desc.push_str(l.token());
            n += 1;
        }
        if n > 0 {
            desc.push('-');
        }
        desc.push_str(&transport_token(flow.key.proto));
        n += 1;
        out.put(n);
        out.put(desc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_classes_follow_the_document() {
        assert_eq!(port_class(0), ("well_known", 0));
        assert_eq!(port_class(1023), ("well_known", 0));
        assert_eq!(port_class(1024), ("registered", 1));
        assert_eq!(port_class(49151), ("registered", 1));
        assert_eq!(port_class(49152), ("dynamic", 2));
        assert_eq!(port_class(65535), ("dynamic", 2));
    }

    #[test]
    fn flow_id_is_direction_independent_and_string_ordered() {
        let a = flow_id("s", "10.0.0.2", 80, "9.0.0.1", 1234, 6);
        let b = flow_id("s", "9.0.0.1", 1234, "10.0.0.2", 80, 6);
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        // "10.0.0.2" < "9.0.0.1" as strings, so it comes first.
        let expect = hashed("s", "10.0.0.2:80:9.0.0.1:1234:6", 32);
        assert_eq!(a, expect);
        // Same address: ports compare as numbers (9 < 10).
        let c = flow_id("", "1.1.1.1", 10, "1.1.1.1", 9, 17);
        assert_eq!(c, hashed("", "1.1.1.1:9:1.1.1.1:10:17", 32));
    }

    #[test]
    fn sha256_of_known_text() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(hashed("a", "bc", 16), "ba7816bf8f01cfea");
    }
}
