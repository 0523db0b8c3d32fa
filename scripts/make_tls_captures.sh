#!/usr/bin/env bash
# Record real TLS handshakes between OpenSSL / curl clients and OpenSSL
# servers in two network namespaces on this machine (nothing leaves it):
#
#   jjtc (client) jjtc0 10.80.0.2/24 fd00:80::2/64 --veth-- jjts0 10.80.0.1/24 fd00:80::1/64 jjts (server)
#
#   sudo bash scripts/make_tls_captures.sh [OUTDIR]
#
# Writes OUTDIR/tls-handshakes.pcap (default OUTDIR testdata/captures): full
# snaplen, classic pcap, tcpdump on the client's veth. Offloads are off, so
# segments are wire-sized; the certificate chain spans several segments,
# and the sessions in the "small MTU" part (link MTU 576) split ClientHellos
# too. Certificates are made fresh (random keys, so a re-run gives other
# bytes with the same kinds of handshakes):
#   jj-test-ca          self-signed CA, RSA 2048, 3650 days
#   server.jj.test      RSA 2048 leaf signed by jj-test-ca, 90 days (chain of 2)
#   self.jj.test        self-signed RSA 2048, 30 days (chain of 1)
#   ec.jj.test          self-signed P-256, 7 days
# Sessions, in order (each a separate TCP connection; server port 443, 8443
# for the self-signed server, 9443 for the EC one, 4443 for the
# P-384-only one, 6443 on IPv6):
#   1  TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256, SNI tls12.jj.test, ALPN h2,http/1.1
#   2  TLS 1.3, SNI tls13.jj.test, ALPN h2
#   3  TLS 1.2 DHE-RSA-AES256-GCM-SHA384, no SNI
#   4  TLS 1.2 full handshake saving the session, 5 the same session resumed
#   6  curl --http1.1 https://www.jj.test/ (TLS 1.3, SNI, ALPN http/1.1)
#   7  curl --tlsv1.2 --tls-max 1.2 with a cipher list, against the same server
#   8  TLS 1.3 HelloRetryRequest: the client offers a key share for X25519
#      only, the server accepts P-384 only
#   9  TLS 1.2 against the self-signed server; 10 TLS 1.3 to the EC server
#   11 IPv6, TLS 1.3, SNI v6.jj.test
#   12 link MTU 576: TLS 1.3 with a long SNI and ALPN list, ClientHello over
#      several segments
#   13 a plain-text HTTP connection (port 8080, not TLS)
# Requires: iproute2, ethtool, tcpdump, openssl, curl.
set -euo pipefail

OUT=${1:-testdata/captures}
C="ip netns exec jjtc"
S="ip netns exec jjts"
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/jjtls.XXXXXX)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for ns in jjtc jjts; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

for ns in jjtc jjts; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip -n $ns link set lo up; done
for ns in jjtc jjts; do
    ip netns exec $ns sysctl -qw net.ipv6.conf.default.router_solicitations=0
    ip netns exec $ns sysctl -qw net.ipv6.conf.default.accept_dad=0
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0
done
ip link add jjtc0 netns jjtc type veth peer name jjts0 netns jjts
ip -n jjtc addr add 10.80.0.2/24 dev jjtc0
ip -n jjtc addr add fd00:80::2/64 dev jjtc0 nodad
ip -n jjts addr add 10.80.0.1/24 dev jjts0
ip -n jjts addr add fd00:80::1/64 dev jjts0 nodad
for l in "jjtc jjtc0" "jjts jjts0"; do
    set -- $l
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "$1" link set "$2" up
done
$C ping -q -c 1 -W 2 10.80.0.1 >/dev/null
$C ping -q -c 1 -W 2 fd00:80::1 >/dev/null
for h in server.jj.test tls12.jj.test tls13.jj.test www.jj.test; do echo "10.80.0.1 $h"; done >"$TMP/hosts"

# ---------------------------------------------------------------- certificates
cd "$TMP"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
    -subj "/O=joyfuljay tests/CN=jj-test-ca" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
    -subj "/O=joyfuljay tests/CN=server.jj.test" 2>/dev/null
printf 'subjectAltName=DNS:server.jj.test,DNS:*.jj.test\n' >san.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
    -days 90 -extfile san.ext 2>/dev/null
cat srv.pem ca.pem >chain.pem
openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 30 \
    -subj "/CN=self.jj.test" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.pem \
    -days 7 -subj "/CN=ec.jj.test" 2>/dev/null

# ---------------------------------------------------------------- servers
server() { # port extra-args...
    local port=$1; shift
    $S openssl s_server -accept "$port" -naccept 100 -www -quiet "$@" >/dev/null 2>&1 &
    PIDS+=($!)
}
server 443 -cert srv.pem -key srv.key -cert_chain ca.pem -alpn h2,http/1.1
server 4443 -cert srv.pem -key srv.key -cert_chain ca.pem -groups P-384
server 8443 -cert self.pem -key self.key
server 9443 -cert ec.pem -key ec.key
server "[::]:6443" -6 -cert srv.pem -key srv.key -cert_chain ca.pem -alpn h2,http/1.1
$S python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 8080)); s.listen()
while True:
    c, _ = s.accept(); c.recv(1000); c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"); c.close()
' >/dev/null 2>&1 &
PIDS+=($!)
sleep 1

$C tcpdump -i jjtc0 -s 0 -U -w "$OUT/tls-handshakes.pcap" tcp >/dev/null 2>&1 &
TCPDUMP=$!
sleep 1

client() { # host:port extra-args...
    local to=$1; shift
    # a GET for the -www server, which answers and closes; -ign_eof waits for that
    printf 'GET / HTTP/1.0\r\n\r\n' | $C timeout 5 openssl s_client -connect "$to" -ign_eof "$@" >/dev/null 2>&1 || true
    sleep 0.3
}
client 10.80.0.1:443 -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -servername tls12.jj.test -alpn h2,http/1.1
client 10.80.0.1:443 -tls1_3 -servername tls13.jj.test -alpn h2
client 10.80.0.1:443 -tls1_2 -cipher DHE-RSA-AES256-GCM-SHA384 -noservername
client 10.80.0.1:443 -tls1_2 -servername tls12.jj.test -sess_out "$TMP/sess"
client 10.80.0.1:443 -tls1_2 -servername tls12.jj.test -sess_in "$TMP/sess"
$C curl -sk -m 5 --http1.1 --resolve www.jj.test:443:10.80.0.1 https://www.jj.test/ -o /dev/null || true
sleep 0.3
$C curl -sk -m 5 --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305 \
    --resolve www.jj.test:443:10.80.0.1 https://www.jj.test/ -o /dev/null || true
sleep 0.3
client 10.80.0.1:4443 -tls1_3 -groups X25519:P-384 -servername hrr.jj.test
client 10.80.0.1:8443 -tls1_2 -servername self.jj.test
client 10.80.0.1:9443 -tls1_3 -servername ec.jj.test
client "[fd00:80::1]:6443" -tls1_3 -servername v6.jj.test -alpn h2
ip -n jjtc link set jjtc0 mtu 576
ip -n jjts link set jjts0 mtu 576
client 10.80.0.1:443 -tls1_3 -servername "$(printf 'a%.0s' $(seq 1 60)).long-name.jj.test" \
    -alpn h2,http/1.1,spdy/3.1,h2c,hq-interop,acme-tls/1,x-custom-protocol-with-a-long-name
echo -e "GET / HTTP/1.0\r\n\r\n" | $C timeout 3 python3 -c '
import socket, sys
s = socket.create_connection(("10.80.0.1", 8080)); s.sendall(sys.stdin.buffer.read()); s.recv(100); s.close()
' || true
sleep 1
kill $TCPDUMP; wait $TCPDUMP 2>/dev/null || true
echo "wrote $OUT/tls-handshakes.pcap"
