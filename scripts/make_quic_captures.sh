#!/usr/bin/env bash
# Record testdata/captures/quic.pcap: real QUIC connections between aioquic
# peers (scripts/quic_peer.py) in two network namespaces on this machine
# (nothing leaves it), plus a few non-QUIC UDP datagrams as negatives.
#
#   jjqc (client) jjqc0 10.79.1.2/24 --veth-- jjqs0 10.79.1.1/24 (server) jjqs
#
# tcpdump on jjqc0, full snaplen (-s 0), classic pcap.
#
#   sudo bash scripts/make_quic_captures.sh [OUTDIR]
#
# Requires: iproute2, tcpdump, openssl, python3 with aioquic in $AIOQ
# (default /tmp/aioq: `python3 -m venv /tmp/aioq && /tmp/aioq/bin/pip install
# aioquic`; recorded with aioquic 1.7.2). Connection IDs, keys and timing are
# random, so a re-run gives a different file with the same connections.
set -euo pipefail

OUT=${1:-testdata/captures}
AIOQ=${AIOQ:-/tmp/aioq}
PY=$AIOQ/bin/python
PEER=$(cd "$(dirname "$0")" && pwd)/quic_peer.py
C="ip netns exec jjqc"
S="ip netns exec jjqs"

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/jjquic.XXXXXX)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for ns in jjqc jjqs; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

for ns in jjqc jjqs; do ip netns del $ns 2>/dev/null || true; done
for ns in jjqc jjqs; do
    ip netns add $ns
    ip -n $ns link set lo up
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec $ns sysctl -qw net.ipv4.icmp_ratelimit=0
done
ip link add jjqc0 netns jjqc type veth peer name jjqs0 netns jjqs
ip -n jjqc addr add 10.79.1.2/24 dev jjqc0
ip -n jjqs addr add 10.79.1.1/24 dev jjqs0
ip -n jjqc link set jjqc0 up
ip -n jjqs link set jjqs0 up
for d in "jjqc jjqc0" "jjqs jjqs0"; do
    set -- $d
    ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=example.test -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null

server() { # port, then quic_peer.py options
    local port=$1; shift
    $S "$PY" "$PEER" server --host 10.79.1.1 --port "$port" \
        --cert "$TMP/cert.pem" --key "$TMP/key.pem" "$@" &
    PIDS+=($!)
}
client() { # port, then quic_peer.py options
    local port=$1; shift
    $C "$PY" "$PEER" client --host 10.79.1.1 --port "$port" "$@" || true
    sleep 0.3
}

# 443: v1 and v2; 4433: v1 only (a v2 Initial gets Version Negotiation);
# 4434: v1 with Retry; 4435: nothing listens (ICMP port unreachable).
server 443 --versions v1,v2 --alpn h3,hq-interop,jj-echo
server 4433 --versions v1 --alpn h3
server 4434 --versions v1 --alpn h3 --retry
# A UDP responder on 53 answering two DNS-shaped queries (negatives).
$S python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.79.1.1", 53))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d[:2] + b"\x81\x80" + d[4:], a)
' &
PIDS+=($!)
sleep 1.5

$C tcpdump -i jjqc0 -s 0 -U -w "$TMP/quic.pcap" udp or icmp 2>/dev/null &
PIDS+=($!)
sleep 1

# 1. v1, ALPN h3, SNI.
client 443 --versions v1 --alpn h3 --sni www.example.test
# 2. v2, ALPN h3, SNI.
client 443 --versions v2,v1 --alpn h3 --sni v2.example.test
# 3. v1, ALPN hq-interop, SNI.
client 443 --versions v1 --alpn hq-interop --sni hq.example.test
# 4. v1, ALPN h3, no SNI.
client 443 --versions v1 --alpn h3
# 5. A ClientHello larger than one Initial packet: 60 ALPN names, the last
#    one the server's, so the CRYPTO stream spans two Initial datagrams.
BIG=$(python3 -c 'print(",".join(["jj-proto-%02d-padding-padding" % i for i in range(60)] + ["jj-echo"]))')
client 443 --versions v1 --alpn "$BIG" --sni big.example.test
# 6. v2 first to a v1-only server: Version Negotiation, then v1.
client 4433 --versions v2,v1 --alpn h3 --sni vn.example.test
# 7. Retry, then the connection.
client 4434 --versions v1 --alpn h3 --sni retry.example.test
# 8. A closed port: the client's Initials get ICMP port unreachable.
client 4435 --versions v1 --alpn h3 --sni closed.example.test --timeout 1
# 9. Non-QUIC UDP: DNS-shaped query/response whose first byte has the
#    long-header bits set, and datagrams to 443 that are not QUIC (one with
#    the short-header pattern 0x40, one with a long-header first byte and an
#    unknown version).
$C python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for qid in (b"\xc3\x00", b"\xff\x00"):
    q = qid + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x04test\x00\x00\x01\x00\x01"
    s.sendto(q, ("10.79.1.1", 53))
    try: s.recv(2048)
    except OSError: pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in (b"\x40" + b"not quic, short-header look-alike", b"\xc0\x0a\x0b\x0c\x0d\x04abcd\x04efgh" + b"x" * 40, b"plain text"):
    u.sendto(d, ("10.79.1.1", 443))
    time.sleep(0.05)
'
sleep 1
kill "${PIDS[-1]}" 2>/dev/null || true
sleep 0.5
cp "$TMP/quic.pcap" "$OUT/quic.pcap"
ls -l "$OUT/quic.pcap"
