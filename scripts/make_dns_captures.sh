#!/usr/bin/env bash
# Record a small, real DNS capture: BIND's dig asking dnsmasq, inside two
# network namespaces on this machine (nothing leaves it):
#
#   jjdc (client) ----veth---- jjds (server)
#   jjdc0 10.82.1.2/24         jjds0 10.82.1.1/24 (dnsmasq), 10.82.1.3/24 (mute)
#         fd00:82:1::2/64            fd00:82:1::1/64
#
# tcpdump on the client's veth (jjdc0), full snaplen (-s 0), classic pcap.
#
#   sudo bash scripts/make_dns_captures.sh [OUTDIR]
#
# OUTDIR defaults to testdata/captures. Writes dns-local.pcap:
#   - dnsmasq serves the zone jj.test (--local: authoritative, NXDOMAIN for
#     unknown names; no upstream server, so other domains are REFUSED) with
#     A/AAAA (www), CNAME (alias), MX, TXT (txt; big: ~2 KB, more than the
#     1232-byte EDNS limit, so the UDP answer is truncated (TC) and dig
#     retries over TCP) and PTR records;
#   - queries over IPv4 and IPv6, NOERROR, NXDOMAIN, REFUSED answers;
#   - six queries on one UDP 5-tuple (dig -b 10.82.1.2#40053 run six times);
#   - three queries on one TCP connection (dig +tcp +keepopen);
#   - two queries written in one TCP segment (Python);
#   - a query to a second dnsmasq on port 5353;
#   - a query to 10.82.1.3, where a socket reads and never answers (dig
#     tries once).
# Re-running rebuilds the namespaces and overwrites the file (IDs and
# source ports differ run to run); namespaces and daemons go on exit.
# Requires: iproute2, ethtool, tcpdump, dnsmasq, dnsutils (dig), python3.
set -euo pipefail

OUT=${1:-testdata/captures}
C="ip netns exec jjdc"
S="ip netns exec jjds"

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/jjdns.XXXXXX)
DNSMASQ_PID=
DNSMASQ2_PID=
MUTE_PID=
TCPDUMP_PID=

cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null || true
    [ -n "$DNSMASQ_PID" ] && kill "$DNSMASQ_PID" 2>/dev/null || true
    [ -n "$DNSMASQ2_PID" ] && kill "$DNSMASQ2_PID" 2>/dev/null || true
    [ -n "$MUTE_PID" ] && kill "$MUTE_PID" 2>/dev/null || true
    for ns in jjdc jjds; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

for ns in jjdc jjds; do ip netns del $ns 2>/dev/null || true; done
for ns in jjdc jjds; do
    ip netns add $ns
    ip -n $ns link set lo up
    ip netns exec $ns sysctl -qw net.ipv6.conf.default.router_solicitations=0
    ip netns exec $ns sysctl -qw net.ipv6.conf.default.accept_dad=0
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0
done
ip link add jjdc0 netns jjdc type veth peer name jjds0 netns jjds
ip -n jjdc addr add 10.82.1.2/24 dev jjdc0
ip -n jjdc addr add fd00:82:1::2/64 dev jjdc0 nodad
ip -n jjds addr add 10.82.1.1/24 dev jjds0
ip -n jjds addr add 10.82.1.3/24 dev jjds0
ip -n jjds addr add fd00:82:1::1/64 dev jjds0 nodad
for l in "jjdc jjdc0" "jjds jjds0"; do
    set -- $l
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "$1" link set "$2" up
done
$C ping -q -c 1 -W 2 10.82.1.1 >/dev/null
$C ping -q -c 1 -W 2 fd00:82:1::1 >/dev/null

# A TXT record of 10 strings of 200 characters (about 2 KB; on the command
# line: dnsmasq's configuration lines are shorter).
BIG=$(python3 -c 'print(",".join("\"" + chr(97 + i) * 200 + "\"" for i in range(10)))')
cat > "$TMP/dnsmasq.conf" <<CONF
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=10.82.1.1
listen-address=fd00:82:1::1
except-interface=lo
local=/jj.test/
local-ttl=300
host-record=www.jj.test,10.82.1.10,fd00:82:1::10
cname=alias.jj.test,www.jj.test
mx-host=jj.test,mail.jj.test,10
host-record=mail.jj.test,10.82.1.25
txt-record=txt.jj.test,"v=jj1 hello"
ptr-record=7.1.82.10.in-addr.arpa,host7.jj.test
CONF
$S dnsmasq --keep-in-foreground --conf-file="$TMP/dnsmasq.conf" --pid-file="$TMP/dnsmasq.pid" \
    --log-facility="$TMP/dnsmasq.log" --user=root "--txt-record=big.jj.test,$BIG" &
DNSMASQ_PID=$!

# The same zone on port 5353 (mDNS's port; unicast queries).
$S dnsmasq --keep-in-foreground --conf-file="$TMP/dnsmasq.conf" --pid-file="$TMP/dnsmasq5353.pid" \
    --log-facility="$TMP/dnsmasq5353.log" --user=root --port=5353 &
DNSMASQ2_PID=$!

# The mute server: reads queries on 10.82.1.3:53 and never answers.
$S python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.82.1.3", 53))
while True:
    s.recv(4096)
' &
MUTE_PID=$!
sleep 1

$C tcpdump -i jjdc0 -s 0 -U -w "$OUT/dns-local.pcap" 'port 53 or port 5353' 2>/dev/null &
TCPDUMP_PID=$!
sleep 1

D4="dig @10.82.1.1 +tries=1 +time=2"
D6="dig @fd00:82:1::1 +tries=1 +time=2"
$C $D4 www.jj.test A >/dev/null
$C $D4 www.jj.test AAAA >/dev/null
$C $D4 alias.jj.test A >/dev/null
$C $D4 jj.test MX >/dev/null
$C $D4 txt.jj.test TXT >/dev/null
$C $D4 -x 10.82.1.7 >/dev/null
$C $D4 nosuch.jj.test A >/dev/null
$C $D4 www.example.org A >/dev/null
$C $D6 www.jj.test AAAA >/dev/null
$C $D6 nosuch.jj.test AAAA >/dev/null
# Truncated over UDP, retried over TCP by dig.
$C $D4 big.jj.test TXT >/dev/null
# Several queries on one UDP 5-tuple.
for q in "www.jj.test A" "www.jj.test AAAA" "txt.jj.test TXT" "a1b2c3d4e5f6.jj.test A" \
         "jj.test MX" "alias.jj.test CNAME"; do
    $C $D4 -b 10.82.1.2#40053 $q >/dev/null
done
# Several queries on one TCP connection.
$C $D4 +tcp +keepopen www.jj.test A www.jj.test AAAA nosuch.jj.test TXT >/dev/null
# Two queries in one TCP segment, then the answers read (Python).
$C python3 -c '
import socket, struct
def q(i, name, t):
    m = struct.pack("!6H", i, 0x0100, 1, 0, 0, 0)
    m += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    m += struct.pack("!HH", t, 1)
    return struct.pack("!H", len(m)) + m
s = socket.create_connection(("10.82.1.1", 53))
s.sendall(q(0x1111, "www.jj.test", 1) + q(0x2222, "mail.jj.test", 1))
got = b""
while len(got) < 4 or True:
    d = s.recv(4096)
    if not d:
        break
    got += d
    n, off = 0, 0
    while off + 2 <= len(got) and off + 2 + struct.unpack("!H", got[off:off + 2])[0] <= len(got):
        off += 2 + struct.unpack("!H", got[off:off + 2])[0]
        n += 1
    if n >= 2:
        break
s.close()
'
# Over port 5353.
$C dig @10.82.1.1 -p 5353 +tries=1 +time=2 www.jj.test A >/dev/null
# Unanswered.
$C dig @10.82.1.3 +tries=1 +time=1 lost.jj.test A >/dev/null || true
sleep 1
kill "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true
TCPDUMP_PID=
ls -l "$OUT/dns-local.pcap"
