//! `dns`: what the DNS messages of a flow say — queries and responses
//! counted, query names and types, response codes, answer counts and
//! TTLs, response times, and the query-name statistics used against DNS
//! tunnelling (docs/semantics.md#dns).
//!
//! A flow is DNS by its ports: UDP with port 53 or 5353 (mDNS) at either
//! end, or TCP with port 53 at either end. Every other flow costs one
//! flag test per packet and 16 bytes of state. In a DNS flow over
//! UDP each datagram's payload is one message; over TCP each direction's
//! first [`BUDGET`] bytes are reassembled in sequence order by the engine
//! (`Needs::stream_start`) and split into messages by their 2-byte length
//! prefixes (a message may span segments, a segment may hold several);
//! messages that do not end within the budget are not seen. A message
//! counts when its 12-byte header and its whole question section parse
//! ([`proto::dns::Message`]); answers are read as far as they parse.

use super::{Column, ColumnType, FeatureGroup, FlowView, Group, GroupDef, Needs, RowWriter, Value};
use crate::config::Config;
use crate::flow::Direction;
use crate::packet::PacketView;
use crate::proto::dns::{self, Message};
use std::sync::Arc;

/// Bytes of each direction of a DNS-over-TCP connection read, from the
/// start of its stream: room for several queries and responses with
/// large (EDNS-sized) answers.
pub const BUDGET: u32 = 16 * 1024;

/// Distinct query names (and, separately, distinct query types) kept for
/// the list columns; further distinct ones are counted everywhere else
/// but not listed.
pub const MAX_LISTED: usize = 64;

/// Queries waiting for their response (matched by transaction ID); when
/// full, the oldest is dropped.
pub const MAX_PENDING: usize = 32;

const INT: ColumnType = ColumnType::Int;
const FLOAT: ColumnType = ColumnType::Float;
const STR: ColumnType = ColumnType::Str;
const BOOL: ColumnType = ColumnType::Bool;

/// The `dns` columns, in output order: the documentation page's, then the
/// reference package's other columns.
pub const COLUMNS: &[Column] = &[
    Column::always("dns_query_count", INT, "messages", "DNS messages with QR = 0 (queries) in the flow, both directions."),
    Column::always("dns_response_count", INT, "messages", "DNS messages with QR = 1 (responses) in the flow, both directions."),
    Column::nullable("dns_query_names", ColumnType::StrList, "", "Distinct names asked by the queries' questions, in order of first appearance, as dotted text without the final dot (at most 64); null without a query."),
    Column::nullable("dns_query_types", ColumnType::IntList, "", "Distinct QTYPEs of the queries' questions, in order of first appearance (at most 64); null without a query."),
    Column::always("dns_type_a_count", INT, "questions", "Questions of queries with QTYPE A (1)."),
    Column::always("dns_type_aaaa_count", INT, "questions", "Questions of queries with QTYPE AAAA (28)."),
    Column::always("dns_type_mx_count", INT, "questions", "Questions of queries with QTYPE MX (15)."),
    Column::always("dns_type_txt_count", INT, "questions", "Questions of queries with QTYPE TXT (16)."),
    Column::always("dns_type_cname_count", INT, "questions", "Questions of queries with QTYPE CNAME (5)."),
    Column::always("dns_type_ptr_count", INT, "questions", "Questions of queries with QTYPE PTR (12)."),
    Column::always("dns_rcode_success", INT, "messages", "Responses with RCODE 0 (NOERROR)."),
    Column::always("dns_rcode_nxdomain", INT, "messages", "Responses with RCODE 3 (NXDOMAIN)."),
    Column::always("dns_rcode_refused", INT, "messages", "Responses with RCODE 5 (REFUSED)."),
    Column::always("dns_answer_count", INT, "records", "ANCOUNT summed over the flow's responses."),
    Column::nullable("dns_response_time_mean", FLOAT, "ms", "Mean over responses matched to a query of response time minus query time, milliseconds; a response matches the earliest unanswered query with its transaction ID (at most 32 waiting); null without a match."),
    Column::nullable("dns_query_len_mean", FLOAT, "characters", "Mean length of the queries' question names as text; null without a query."),
    Column::nullable("dns_query_len_max", INT, "characters", "Longest question name of the queries, as text; null without a query."),
    Column::nullable("dns_subdomain_depth", FLOAT, "labels", "Mean over the queries' question names of their label count minus one (labels below the top-level domain; 0 for the root and a TLD); null without a query."),
    Column::nullable("dns_query_entropy", FLOAT, "bits/char", "Mean over the queries' question names of the Shannon entropy of the name's text, bits per character (0 for an empty name); null without a query."),
    Column::always("dns_detected", BOOL, "", "At least one DNS message (header and questions parse) on a DNS port."),
    Column::nullable("dns_query_name", STR, "", "Name of the first question of the flow's first DNS message (query or response); null without one."),
    Column::nullable("dns_query_type", INT, "", "QTYPE of that question."),
    Column::nullable("dns_query_type_str", STR, "", "Its mnemonic: A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, HTTPS, ANY, else TYPE<n>."),
    Column::nullable("dns_response_code", INT, "", "RCODE (4 header bits) of the flow's first response; null without a response."),
    Column::nullable("dns_response_code_str", STR, "", "Its mnemonic: NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, else RCODE<n>."),
    Column::always("dns_authority_count", INT, "records", "NSCOUNT summed over the flow's responses."),
    Column::always("dns_additional_count", INT, "records", "ARCOUNT summed over the flow's responses (an EDNS OPT record counts)."),
    Column::nullable("dns_min_ttl", INT, "s", "Smallest TTL of the answer-section records of the flow's responses; null without one."),
    Column::nullable("dns_max_ttl", INT, "s", "Largest TTL of those records; null without one."),
    Column::always("dns_is_query", BOOL, "", "The flow holds at least one query."),
    Column::always("dns_is_response", BOOL, "", "The flow holds at least one response."),
    Column::always("dns_truncated", BOOL, "", "Some message of the flow has TC (truncated) set."),
    Column::always("dns_recursion_desired", BOOL, "", "Some query of the flow has RD (recursion desired) set."),
    Column::always("dns_recursion_available", BOOL, "", "Some response of the flow has RA (recursion available) set."),
];

/// Registry entry.
pub static DEF: GroupDef = GroupDef {
    id: "dns",
    summary: "DNS over UDP/TCP port 53 and mDNS: queries, responses, names, types, rcodes, TTLs, response times, tunnelling indicators.",
    columns: COLUMNS,
    build: |_cfg: &Config| -> Arc<dyn Group> { Arc::new(Dns) },
};

struct Dns;

/// Whether a flow with these ports and protocol is DNS.
#[inline]
fn dns_ports(proto: u8, a: u16, b: u16) -> bool {
    match proto {
        17 => a == 53 || b == 53 || a == 5353 || b == 5353,
        6 => a == 53 || b == 53,
        _ => false,
    }
}

/// What a DNS flow's messages added up to.
#[derive(Debug, Default)]
struct Acc {
    queries: u32,
    responses: u32,
    names: Vec<String>,
    types: Vec<u16>,
    /// Questions of queries of type A, AAAA, MX, TXT, CNAME, PTR.
    type_counts: [u32; 6],
    /// Responses with RCODE 0, 3, 5.
    rcodes: [u32; 3],
    answers: u64,
    authority: u64,
    additional: u64,
    rt_sum_ms: f64,
    rt_n: u32,
    /// Questions of queries, their name lengths (sum, max), label depth
    /// sum and entropy sum.
    qn: u32,
    qlen_sum: u64,
    qlen_max: u32,
    depth_sum: u64,
    entropy_sum: f64,
    first_q: Option<(String, u16)>,
    first_rcode: Option<u8>,
    ttl: Option<(u32, u32)>,
    tc: bool,
    rd: bool,
    ra: bool,
    /// Queries waiting: (ID, time µs).
    pending: Vec<(u16, i64)>,
    /// TCP: offset of the next message's length prefix in each direction,
    /// and whether that direction is done (budget reached, or garbage).
    tcp_pos: [u32; 2],
    tcp_done: [bool; 2],
}

/// Per-flow state: 16 bytes; the accumulators are allocated at the flow's
/// first DNS message (about 300 bytes, plus the listed names).
#[derive(Debug, Default)]
pub(crate) struct DnsState {
    acc: Option<Box<Acc>>,
    /// The flow is not on a DNS port: nothing is read.
    other: bool,
}

const _: () = assert!(std::mem::size_of::<DnsState>() == 16);

/// Shannon entropy of `s`'s bytes, bits per byte (0 for "").
fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

impl Acc {
    /// Account one parsed message seen at `ts_us`.
    fn message(&mut self, m: &Message<'_>, ts_us: i64) {
        let h = m.header;
        self.tc |= h.truncated();
        if self.first_q.is_none() && self.queries == 0 && self.responses == 0 {
            if let Some(q) = m.first_question() {
                self.first_q = Some((q.name.text(), q.qtype));
            }
        }
        if !h.is_response() {
            self.queries += 1;
            self.rd |= h.recursion_desired();
            let mut text = String::new();
            for q in m.questions() {
                text.clear();
                q.name.write_text(&mut text);
                self.qn += 1;
                self.qlen_sum += text.len() as u64;
                self.qlen_max = self.qlen_max.max(text.len() as u32);
                self.depth_sum += u64::from(q.name.labels.saturating_sub(1));
                self.entropy_sum += entropy(text.as_bytes());
                let k = match q.qtype {
                    1 => Some(0),
                    28 => Some(1),
                    15 => Some(2),
                    16 => Some(3),
                    5 => Some(4),
                    12 => Some(5),
                    _ => None,
                };
                if let Some(k) = k {
                    self.type_counts[k] += 1;
                }
                if self.names.len() < MAX_LISTED && !self.names.contains(&text) {
                    self.names.push(text.clone());
                }
                if self.types.len() < MAX_LISTED && !self.types.contains(&q.qtype) {
                    self.types.push(q.qtype);
                }
            }
            if self.pending.len() == MAX_PENDING {
                self.pending.remove(0);
            }
            self.pending.push((h.id, ts_us));
        } else {
            self.responses += 1;
            self.ra |= h.recursion_available();
            self.first_rcode.get_or_insert(h.rcode());
            match h.rcode() {
                0 => self.rcodes[0] += 1,
                3 => self.rcodes[1] += 1,
                5 => self.rcodes[2] += 1,
                _ => {}
            }
            self.answers += u64::from(h.ancount);
            self.authority += u64::from(h.nscount);
            self.additional += u64::from(h.arcount);
            for r in m.answers() {
                let (lo, hi) = self.ttl.get_or_insert((r.ttl, r.ttl));
                *lo = (*lo).min(r.ttl);
                *hi = (*hi).max(r.ttl);
            }
            if let Some(i) = self.pending.iter().position(|&(id, _)| id == h.id) {
                let (_, t) = self.pending.remove(i);
                self.rt_sum_ms += (ts_us - t) as f64 / 1000.0;
                self.rt_n += 1;
            }
        }
    }
}

impl DnsState {
    fn acc(&mut self) -> &mut Acc {
        self.acc.get_or_insert_with(Default::default)
    }
}

impl FeatureGroup for Dns {
    type State = DnsState;

    fn needs(&self) -> Needs {
        Needs {
            payload_bytes: u32::from(u16::MAX),
            stream_start: BUDGET,
            ..Needs::SUMMARY
        }
    }

    fn new_state(&self) -> DnsState {
        DnsState::default()
    }

    #[inline]
    fn update(&self, st: &mut DnsState, pkt: &PacketView<'_>) {
        if st.other {
            return;
        }
        let d = pkt.decoded;
        if !dns_ports(d.proto, d.sport, d.dport) {
            st.other = true;
            return;
        }
        if pkt.payload_len() == 0 {
            return;
        }
        if d.proto == 17 {
            if let Some(m) = Message::parse(pkt.payload()) {
                st.acc().message(&m, pkt.ts_us);
            }
            return;
        }
        let Some(stream) = pkt.stream else { return };
        let dir = pkt.dir as usize;
        if st.acc.as_ref().is_some_and(|a| a.tcp_done[dir]) {
            return;
        }
        let held = stream.bytes();
        let held = &held[..held.len().min(BUDGET as usize)];
        let mut pos = st.acc.as_ref().map_or(0, |a| a.tcp_pos[dir]) as usize;
        while let Some((msg, used)) = held.get(pos..).and_then(dns::tcp_message) {
            pos += used;
            match Message::parse(msg) {
                Some(m) => st.acc().message(&m, pkt.ts_us),
                None => {
                    // Not DNS: read no more of this direction.
                    st.acc().tcp_done[dir] = true;
                    break;
                }
            }
        }
        if pos > 0 || held.len() >= BUDGET as usize {
            let a = st.acc();
            a.tcp_pos[dir] = pos as u32;
            a.tcp_done[dir] |= held.len() >= BUDGET as usize;
        }
    }

    fn stream_done(&self, st: &DnsState, dir: Direction) -> bool {
        st.other || st.acc.as_ref().is_some_and(|a| a.tcp_done[dir as usize])
    }

    fn write(&self, _flow: &FlowView<'_>, st: &DnsState, out: &mut RowWriter<'_>) {
        let none = Acc::default();
        let a = st.acc.as_deref().unwrap_or(&none);
        let any_query = a.queries > 0;
        out.put(i64::from(a.queries));
        out.put(i64::from(a.responses));
        out.put_with(|| any_query.then(|| Value::StrList(a.names.clone())));
        out.put_with(|| {
            any_query.then(|| Value::IntList(a.types.iter().map(|&t| i64::from(t)).collect()))
        });
        for c in a.type_counts {
            out.put(i64::from(c));
        }
        for c in a.rcodes {
            out.put(i64::from(c));
        }
        out.put(a.answers as i64);
        out.put((a.rt_n > 0).then(|| a.rt_sum_ms / f64::from(a.rt_n)));
        let per_q = |v: f64| (a.qn > 0).then(|| v / f64::from(a.qn));
        out.put(per_q(a.qlen_sum as f64));
        out.put((a.qn > 0).then_some(i64::from(a.qlen_max)));
        out.put(per_q(a.depth_sum as f64));
        out.put(per_q(a.entropy_sum));
        out.put(a.queries + a.responses > 0);
        let fq = a.first_q.as_ref();
        out.put(fq.map(|q| q.0.as_str()));
        out.put(fq.map(|q| i64::from(q.1)));
        out.put_with(|| fq.map(|q| dns::type_name(q.1)));
        out.put(a.first_rcode.map(i64::from));
        out.put_with(|| a.first_rcode.map(dns::rcode_name));
        out.put(a.authority as i64);
        out.put(a.additional as i64);
        out.put(a.ttl.map(|t| i64::from(t.0)));
        out.put(a.ttl.map(|t| i64::from(t.1)));
        out.put(any_query);
        out.put(a.responses > 0);
        out.put(a.tc);
        out.put(a.rd);
        out.put(a.ra);
    }
}

#[cfg(test)]
mod tests;
