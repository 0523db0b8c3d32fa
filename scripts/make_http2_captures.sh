#!/usr/bin/env bash
# Record a small, real cleartext HTTP/2 (h2c) capture inside two network
# namespaces on this machine (nothing leaves it):
#
#   h2c (client) ----veth---- h2s (server)
#   h2c0 10.77.0.2/24         h2s0 10.77.0.1/24
#                             nghttpd --no-tls on port 8080 (h2c: prior
#                             knowledge and HTTP/1.1 Upgrade), python3
#                             http.server on port 8000 (HTTP/1.1 only),
#                             nghttpx --no-tls on port 8081 in front of it
#                             (h2c with HTTP/1.1 Upgrade; nghttpd has no
#                             Upgrade)
#
# tcpdump on the client's veth (h2c0), full snaplen (-s 0), classic pcap.
#
#   sudo bash scripts/make_http2_captures.sh [OUTDIR]
#
# OUTDIR defaults to testdata/captures. Writes http2-h2c.pcap, one TCP
# connection per client run, in this order:
#   1. nghttp, prior knowledge, three URIs multiplexed on one connection;
#   2. nghttp -u to nghttpx: HTTP/1.1 request with Upgrade: h2c, 101,
#      then HTTP/2;
#   3. nghttp, prior knowledge, /push.html: the server pushes two
#      resources (PUSH_PROMISE);
#   4. nghttp -w 14 -W 14 (16 KiB stream and connection windows), a 40 KB
#      download: many DATA frames and WINDOW_UPDATEs;
#   5. curl --http2-prior-knowledge, two URIs on one connection;
#   6. curl --http2 to nghttpx (Upgrade path, curl's own client);
#   7. curl --http1.1 to the HTTP/1.1 server: plain HTTP/1.1 (not HTTP/2);
#   8. curl --http1.1 to nghttpd: an HTTP/1.1 request without Upgrade,
#      which nghttpd does not speak (not HTTP/2 on the client side).
# Every HTTP/2 client ends its session with GOAWAY.
# Re-running overwrites the file (ports and timestamps differ run to run);
# namespaces and daemons go on exit.
# Requires: iproute2, ethtool, tcpdump, nghttp2-client (nghttp),
# nghttp2-server (nghttpd), curl (with nghttp2), python3.
set -euo pipefail

OUT=${1:-testdata/captures}
C="ip netns exec h2c"
S="ip netns exec h2s"

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/jjh2.XXXXXX)
NGHTTPD_PID=
NGHTTPX_PID=
PYHTTP_PID=
TCPDUMP_PID=

cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null || true
    [ -n "$NGHTTPD_PID" ] && kill "$NGHTTPD_PID" 2>/dev/null || true
    [ -n "$NGHTTPX_PID" ] && kill "$NGHTTPX_PID" 2>/dev/null || true
    [ -n "$PYHTTP_PID" ] && kill "$PYHTTP_PID" 2>/dev/null || true
    for ns in h2c h2s; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

for ns in h2c h2s; do ip netns del $ns 2>/dev/null || true; done
for ns in h2c h2s; do
    ip netns add $ns
    ip -n $ns link set lo up
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip link add h2c0 netns h2c type veth peer name h2s0 netns h2s
ip -n h2c addr add 10.77.0.2/24 dev h2c0
ip -n h2s addr add 10.77.0.1/24 dev h2s0
for l in "h2c h2c0" "h2s h2s0"; do
    set -- $l
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "$1" link set "$2" up
done
$C ping -q -c 1 -W 2 10.77.0.1 >/dev/null

mkdir -p "$TMP/www"
echo '<html><body>index</body></html>' > "$TMP/www/index.html"
echo '<html><link rel=stylesheet href=a.css><script src=b.js></script></html>' > "$TMP/www/push.html"
echo 'body { color: red; }' > "$TMP/www/a.css"
echo 'console.log("b");' > "$TMP/www/b.js"
echo 'hello' > "$TMP/www/c.txt"
python3 -c 'import sys; sys.stdout.write("".join(chr(97 + i % 26) for i in range(40000)))' > "$TMP/www/big.txt"

$S nghttpd --no-tls -a 10.77.0.1 -d "$TMP/www" \
    -p /push.html=/a.css,/b.js 8080 >"$TMP/nghttpd.log" 2>&1 &
NGHTTPD_PID=$!
(cd "$TMP/www" && exec $S python3 -m http.server --bind 10.77.0.1 8000) >"$TMP/py.log" 2>&1 &
PYHTTP_PID=$!
$S nghttpx --conf=/dev/null -f'10.77.0.1,8081;no-tls' -b'10.77.0.1,8000' \
    --workers=1 --errorlog-file="$TMP/nghttpx.err" --accesslog-file="$TMP/nghttpx.acc" \
    --pid-file="$TMP/nghttpx.pid" >"$TMP/nghttpx.log" 2>&1 &
NGHTTPX_PID=$!
sleep 1

$C tcpdump -i h2c0 -s 0 -w "$OUT/http2-h2c.pcap" -U tcp >/dev/null 2>&1 &
TCPDUMP_PID=$!
sleep 1

U=http://10.77.0.1:8080
$C nghttp -n "$U/index.html" "$U/a.css" "$U/b.js"
sleep 0.3
$C nghttp -nu "http://10.77.0.1:8081/index.html"
sleep 0.3
$C nghttp -n "$U/push.html"
sleep 0.3
$C nghttp -n -w 14 -W 14 "$U/big.txt"
sleep 0.3
$C curl -sS -o /dev/null -o /dev/null --http2-prior-knowledge "$U/c.txt" "$U/a.css" || echo "curl h2 prior knowledge: $?"
sleep 0.3
$C curl -sS -o /dev/null --http2 "http://10.77.0.1:8081/index.html"
sleep 0.3
$C curl -s -o /dev/null --http1.1 http://10.77.0.1:8000/index.html
sleep 0.3
$C curl -s -o /dev/null --max-time 2 --http1.1 "$U/index.html" || true
sleep 1

kill "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true
TCPDUMP_PID=
ls -l "$OUT/http2-h2c.pcap"
