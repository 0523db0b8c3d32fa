#!/usr/bin/env bash
# Record small, real test captures from real clients and servers talking
# inside three network namespaces on this machine (nothing leaves it):
#
#   jjc (client) --veth-- jjr (router, forwarding on) --veth-- jjs (server)
#   jjc0 10.77.1.2/24     jjr0 10.77.1.1  jjr1 10.77.2.1     jjs0 10.77.2.2/24
#        fd00:77:1::2/64       fd00:77:1::1    fd00:77:2::1       fd00:77:2::2/64
#
# Every capture is taken with tcpdump on the client's veth (jjc0), snaplen
# $SNAPLEN bytes (headers plus the first bytes of payload), classic pcap with
# microsecond timestamps.
#
#   sudo bash scripts/make_captures.sh [OUTDIR] [which ...]
#
# OUTDIR defaults to testdata/captures; `which` is any of impaired icmp options
# mptcp (default: all).  Re-running rebuilds the namespaces from scratch and
# overwrites the files; the namespaces are removed on exit (trap).  The traffic
# is random (payload bytes, which packets are dropped / delayed / duplicated),
# so a re-run gives different files with the same kinds of events.
#
# Impairment (tcp-impaired.pcap only).  The kernel here has no sch_netem, so the
# router impairs TCP with what it has (netfilter + htb), in both directions:
#   loss       iptables FORWARD  -m statistic --probability $LOSS -j DROP
#   duplicate  iptables mangle POSTROUTING -m statistic --probability $DUP -j TEE
#   delay and  htb on both router egress ports: a $RATE class for most packets
#   reorder    and a $SLOW class (one-packet bucket) that a random $REORDER of
#              TCP packets is put into (iptables CLASSIFY); those wait about
#              6 ms per queued packet and arrive after later segments.
# Offloads (TSO, GSO, GRO, checksum) are switched off on every veth, so the
# capture shows wire-sized segments with real checksums.
# Requires: iproute2, iptables, ethtool, tcpdump, curl, iputils-ping, traceroute,
# python3, tshark/capinfos (for the summaries).
set -euo pipefail

OUT=${1:-testdata/captures}
shift || true
WHICH=${*:-impaired icmp options mptcp}
SNAPLEN=128
LOSS=0.02
DUP=0.01
REORDER=0.05
RATE=200mbit
SLOW=2mbit
PY=/usr/bin/python3
C="ip netns exec jjc"
R="ip netns exec jjr"
S="ip netns exec jjs"

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/jjcap.XXXXXX)
SERVER_PID=
TCPDUMP_PID=

cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null || true
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    for ns in jjc jjr jjs; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# ---------------------------------------------------------------- topology
setup() {
    for ns in jjc jjr jjs; do ip netns del $ns 2>/dev/null || true; done
    for ns in jjc jjr jjs; do
        ip netns add $ns
        ip -n $ns link set lo up
        # quiet links: no router solicitations, no DAD (addresses usable at once)
        ip netns exec $ns sysctl -qw net.ipv6.conf.default.router_solicitations=0
        ip netns exec $ns sysctl -qw net.ipv6.conf.default.accept_dad=0
        ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0
        # answer every probe (ICMP errors are rate limited by default)
        ip netns exec $ns sysctl -qw net.ipv4.icmp_ratelimit=0
        ip netns exec $ns sysctl -qw net.ipv6.icmp.ratelimit=0
    done
    ip link add jjc0 netns jjc type veth peer name jjr0 netns jjr
    ip link add jjs0 netns jjs type veth peer name jjr1 netns jjr
    ip -n jjc addr add 10.77.1.2/24 dev jjc0
    ip -n jjc addr add fd00:77:1::2/64 dev jjc0 nodad
    ip -n jjr addr add 10.77.1.1/24 dev jjr0
    ip -n jjr addr add fd00:77:1::1/64 dev jjr0 nodad
    ip -n jjr addr add 10.77.2.1/24 dev jjr1
    ip -n jjr addr add fd00:77:2::1/64 dev jjr1 nodad
    ip -n jjs addr add 10.77.2.2/24 dev jjs0
    ip -n jjs addr add fd00:77:2::2/64 dev jjs0 nodad
    for l in "jjc jjc0" "jjr jjr0" "jjr jjr1" "jjs jjs0"; do
        set -- $l
        # wire-sized segments with real checksums: no TSO/GSO/GRO super-packets,
        # no checksum offload (veth would otherwise leave partial checksums)
        ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
        ip -n "$1" link set "$2" up
    done
    ip -n jjc route add default via 10.77.1.1
    ip -n jjc -6 route add default via fd00:77:1::1
    ip -n jjs route add default via 10.77.2.1
    ip -n jjs -6 route add default via fd00:77:2::1
    $R sysctl -qw net.ipv4.ip_forward=1
    $R sysctl -qw net.ipv6.conf.all.forwarding=1
    # the router has no default route: 10.99.0.0/16 and fd00:99::/32 are
    # "no route" (ICMP net unreachable / ICMPv6 no route); two explicit routes
    # give host unreachable and administratively prohibited.
    $R ip route add unreachable 10.77.98.0/24
    $R ip route add prohibit 10.77.97.0/24
    $R ip -6 route add prohibit fd00:77:97::/64
    $C ping -q -c 1 -W 2 10.77.2.2 >/dev/null
    $C ping -q -c 1 -W 2 fd00:77:2::2 >/dev/null
    # the router's first IPv4 route error to a source is never sent (its token
    # bucket starts empty): spend it here, outside every capture
    $C ping -q -c 1 -W 1 10.99.0.1 >/dev/null || true
}

# ---------------------------------------------------------------- servers
write_helpers() {
    cat > "$TMP/server.py" <<'EOF'
# HTTP server (GET /<n> sends n random bytes; PUT and POST read the body) on
# [::]:8080 (IPv4 and IPv6), plus a server on 8081 that sends part of a
# response and then aborts the connection (RST).
import http.server, os, socket, struct, threading, time

DATA = os.urandom(400_000)

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a):
        pass
    def do_GET(self):
        n = int(self.path.strip("/") or 1000)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.write(DATA[:n])
    def do_PUT(self):
        n = int(self.headers.get("Content-Length", 0))
        got = 0
        while got < n:
            b = self.rfile.read(min(65536, n - got))
            if not b:
                break
            got += len(b)
        body = f"received {got} bytes\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_POST = do_PUT

class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

def resetter():
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("::", 8081)); ls.listen()
    while True:
        c, _ = ls.accept()
        c.recv(4096)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 300000\r\n\r\n" + DATA[:60_000])
        time.sleep(0.3)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

threading.Thread(target=resetter, daemon=True).start()
Server(("::", 8080), Handler).serve_forever()
EOF
    cat > "$TMP/client.py" <<'EOF'
# One HTTP/1.0 GET with chosen socket options:
#   client.py HOST PORT PATH [tos=N] [tclass=N] [mss=N] [oob] [tfo]
import socket, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
opts = dict(a.split("=") if "=" in a else (a, "1") for a in sys.argv[4:])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
if "tos" in opts:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, int(opts["tos"], 0))
if "tclass" in opts:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, int(opts["tclass"], 0))
if "mss" in opts:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, int(opts["mss"]))
req = f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode()
if "tfo" in opts:  # TCP Fast Open: the request rides in the SYN once a cookie is known
    s.sendto(req, socket.MSG_FASTOPEN, (host, port))
else:
    s.connect((host, port))
    if "oob" in opts:
        s.send(b"!", socket.MSG_OOB)  # URG flag and urgent pointer
    s.sendall(req)
s.settimeout(10)
n = 0
while True:
    b = s.recv(65536)
    if not b:
        break
    n += len(b)
s.close()
print(f"{host} {port} {path} {opts}: {n} bytes")
EOF
    cat > "$TMP/mptcp.py" <<'EOF'
# MPTCP (IPPROTO_MPTCP = 262) echo-ish exchange.
#   mptcp.py server PORT        (listens on 0.0.0.0 and ::)
#   mptcp.py client HOST PORT N (sends N bytes, reads N bytes back)
import os, socket, sys, threading, time
IPPROTO_MPTCP = 262
def serve(fam, addr, port):
    ls = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    ls.bind((addr, port)); ls.listen()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()
def handle(c):
    n = int(c.recv(16).decode().strip())
    got = 0
    while got < n:
        b = c.recv(65536)
        if not b:
            break
        got += len(b)
    c.sendall(os.urandom(n))
    c.close()
if sys.argv[1] == "server":
    port = int(sys.argv[2])
    threading.Thread(target=serve, args=(socket.AF_INET, "0.0.0.0", port), daemon=True).start()
    serve(socket.AF_INET6, "::", port)
else:
    host, port, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.connect((host, port))
    time.sleep(0.3)  # let the path manager add the second subflow
    s.sendall(f"{n:<16}".encode())
    for i in range(0, n, 8192):
        s.sendall(os.urandom(min(8192, n - i)))
        time.sleep(0.005)
    got = 0
    while got < n:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    s.close()
    print(f"mptcp {host}: sent {n}, received {got}")
EOF
}

start_http() {
    $S $PY "$TMP/server.py" & SERVER_PID=$!
    for _ in $(seq 50); do
        $C curl -s -o /dev/null http://10.77.2.2:8080/10 && return 0
        sleep 0.1
    done
    echo "server did not start" >&2; exit 1
}

stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }

capture_start() {  # $1 file name
    rm -f "$OUT/$1"
    $C tcpdump -Z root -U -n -i jjc0 -s $SNAPLEN -w "$OUT/$1" 2>"$TMP/tcpdump.err" & TCPDUMP_PID=$!
    sleep 1.5
}
capture_stop() {
    sleep 1
    kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=
    tail -3 "$TMP/tcpdump.err"
}

summary() {  # $1 file name
    local f="$OUT/$1"
    echo "==================== $1 ($(stat -c %s "$f") bytes)"
    capinfos -c -u -s -l "$f" | sed 1d
    exec 3>&2 2>/dev/null
    tshark -n -r "$f" -q -z conv,tcp | sed -n '/<->/p' | head -40
    tshark -n -r "$f" -q -z conv,udp | sed -n '/<->/p' | head -20
    local k
    for k in tcp.analysis.retransmission tcp.analysis.fast_retransmission \
             tcp.analysis.spurious_retransmission tcp.analysis.out_of_order \
             tcp.analysis.duplicate_ack tcp.analysis.lost_segment \
             tcp.analysis.ack_lost_segment tcp.analysis.zero_window \
             "tcp.flags.reset==1" tcp.options.sack_le tcp.options.sack_perm \
             tcp.options.wscale.shift tcp.options.timestamp.tsval \
             "tcp.flags.syn==1" "tcp.flags.urg==1" "ip.dsfield.ecn>0" "ipv6.tclass>0" \
             "ip.dsfield.dscp>0" "ip.flags.df==0" "ipv6.flow>0" mptcp; do
        printf '%-40s %s\n' "$k" "$(tshark -n -r "$f" -Y "$k" 2>/dev/null | wc -l)"
    done
    echo "ICMP/ICMPv6 messages (count, protocol, type, code):"
    tshark -n -r "$f" -Y "icmp || icmpv6" -T fields -e _ws.col.Protocol -e icmp.type -e icmp.code \
        -e icmpv6.type -e icmpv6.code 2>/dev/null | sort | uniq -c | sed 's/^/    /'
    exec 2>&3 3>&-
}

# ---------------------------------------------------------------- a
impaired() {
    local f=tcp-impaired.pcap
    for cmd in iptables ip6tables; do
        $R $cmd -A FORWARD -p tcp -m statistic --mode random --probability $LOSS -j DROP
        $R $cmd -t mangle -A POSTROUTING -p tcp -m statistic --mode random --probability $REORDER \
            -j CLASSIFY --set-class 1:20
    done
    $R iptables -t mangle -A POSTROUTING -o jjr0 -p tcp -m statistic --mode random --probability $DUP \
        -j TEE --gateway 10.77.1.2
    $R iptables -t mangle -A POSTROUTING -o jjr1 -p tcp -m statistic --mode random --probability $DUP \
        -j TEE --gateway 10.77.2.2
    $R ip6tables -t mangle -A POSTROUTING -o jjr0 -p tcp -m statistic --mode random --probability $DUP \
        -j TEE --gateway fd00:77:1::2
    $R ip6tables -t mangle -A POSTROUTING -o jjr1 -p tcp -m statistic --mode random --probability $DUP \
        -j TEE --gateway fd00:77:2::2
    for dev in jjr0 jjr1; do
        $R tc qdisc add dev $dev root handle 1: htb default 10
        $R tc class add dev $dev parent 1: classid 1:10 htb quantum 1514 rate $RATE ceil $RATE
        $R tc qdisc add dev $dev parent 1:10 handle 10: pfifo limit 1000
        $R tc class add dev $dev parent 1: classid 1:20 htb quantum 1514 rate $SLOW ceil $SLOW \
            burst 1514 cburst 1514
        $R tc qdisc add dev $dev parent 1:20 handle 20: pfifo limit 1000
    done
    start_http
    capture_start $f
    local cu="curl -sS -o /dev/null -H Expect: --max-time 20"
    $C $cu http://10.77.2.2:8080/204800
    $C $cu "http://[fd00:77:2::2]:8080/262144"
    $C $cu http://10.77.2.2:8080/307200
    head -c 150000 /dev/urandom > "$TMP/up.bin"
    $C $cu -T "$TMP/up.bin" http://10.77.2.2:8080/upload
    $C $cu --data-binary @"$TMP/up.bin" "http://[fd00:77:2::2]:8080/post"
    $C $cu http://10.77.2.2:8080/131072 & $C $cu "http://[fd00:77:2::2]:8080/131072"; wait $!
    # refused: SYN answered by RST/ACK (closed port), IPv4 and IPv6
    $C $cu http://10.77.2.2:9/ || true
    $C $cu "http://[fd00:77:2::2]:9/" || true
    # reset by the server part-way through the response (SO_LINGER 0 close)
    $C $cu http://10.77.2.2:8081/ || true
    capture_stop
    stop_server
    for cmd in iptables ip6tables; do $R $cmd -F; $R $cmd -t mangle -F; done
    for dev in jjr0 jjr1; do $R tc qdisc del dev $dev root; done
    summary $f
}

# ---------------------------------------------------------------- b
icmp() {
    local f=icmp-mix.pcap
    capture_start $f
    # echo request/reply, two identifiers, several sequence numbers
    $C ping -n -c 4 -i 0.2 -e 4660 10.77.2.2
    $C ping -n -c 3 -i 0.2 -e 17185 -s 200 10.77.2.2
    $C ping -n -c 4 -i 0.2 -e 8738 fd00:77:2::2
    # DSCP AF11 / AF11 + ECT(0) on echo: TOS 0x28 and 0x2a, IPv6 traffic class 0x28
    $C ping -n -c 2 -i 0.2 -Q 0x28 10.77.2.2
    $C ping -n -c 2 -i 0.2 -Q 0x2a 10.77.2.2
    $C ping -n -c 2 -i 0.2 -Q 0x28 fd00:77:2::2
    # UDP to a closed port: ICMP port unreachable / ICMPv6 port unreachable
    $C $PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"hello port unreachable", ("10.77.2.2", 33333))'
    $C $PY -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.sendto(b"hello port unreachable", ("fd00:77:2::2", 33333))'
    sleep 0.2
    # TTL / hop limit exceeded at the router
    $C ping -n -c 2 -i 0.2 -t 1 10.77.2.2 || true
    $C ping -n -c 2 -i 0.2 -t 1 fd00:77:2::2 || true
    # traceroute (UDP probes): time exceeded from jjr, port unreachable from jjs
    $C traceroute -n -q 1 -m 3 10.77.2.2
    $C traceroute -6 -n -q 1 -m 3 fd00:77:2::2
    # no route at the router: net unreachable; unreachable route: host
    # unreachable; prohibit route: administratively prohibited
    # (IPv4 route errors have their own limit, one per second per source,
    # net.ipv4.route.error_cost, not per namespace: space the probes out)
    sleep 1.1; $C ping -n -c 2 -i 1.1 -W 1 10.99.0.1 || true
    sleep 1.1; $C ping -n -c 1 -W 1 10.77.98.5 || true
    sleep 1.1; $C ping -n -c 1 -W 1 10.77.97.5 || true
    $C ping -n -c 2 -i 0.2 -W 1 fd00:99::1 || true
    $C ping -n -c 1 -W 1 fd00:77:97::5 || true
    capture_stop
    summary $f
}

# ---------------------------------------------------------------- c
options() {
    local f=tcp-options.pcap
    # server: TCP Fast Open for every listener, no socket option needed (0x400)
    $S sysctl -qw net.ipv4.tcp_fastopen=0x403
    start_http
    capture_start $f
    local get="$PY $TMP/client.py"
    sc() { $C sysctl -qw "$@"; }
    $C $get 10.77.2.2 8080 /20000                                   # defaults: MSS, SACK_PERM, TS, WS
    sc net.ipv4.tcp_timestamps=0;     $C $get 10.77.2.2 8080 /20001; sc net.ipv4.tcp_timestamps=1
    sc net.ipv4.tcp_sack=0;           $C $get 10.77.2.2 8080 /20002; sc net.ipv4.tcp_sack=1
    sc net.ipv4.tcp_window_scaling=0; $C $get 10.77.2.2 8080 /20003; sc net.ipv4.tcp_window_scaling=1
    sc net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0 net.ipv4.tcp_window_scaling=0
    $C $get 10.77.2.2 8080 /20004                                   # MSS only
    $C $get fd00:77:2::2 8080 /20005                                # IPv6, MSS only
    sc net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1 net.ipv4.tcp_window_scaling=1
    sc net.ipv4.ip_default_ttl=100;   $C $get 10.77.2.2 8080 /20006; sc net.ipv4.ip_default_ttl=64
    sc net.ipv6.conf.jjc0.hop_limit=200; $C $get fd00:77:2::2 8080 /20007; sc net.ipv6.conf.jjc0.hop_limit=64
    $C $get 10.77.2.2 8080 /20008 mss=536                           # small MSS
    $C $get 10.77.2.2 8080 /20009 tos=0xb8                          # DSCP EF
    $C $get fd00:77:2::2 8080 /20010 tclass=0x28                    # IPv6 traffic class AF11
    sc net.ipv4.tcp_ecn=1                                           # ECN negotiated, ECT(0) data
    $C $get 10.77.2.2 8080 /20011
    $C $get fd00:77:2::2 8080 /20012
    sc net.ipv4.tcp_ecn=2
    sc net.ipv4.ip_no_pmtu_disc=1;    $C $get 10.77.2.2 8080 /20013; sc net.ipv4.ip_no_pmtu_disc=0  # DF clear
    $C $get 10.77.2.2 8080 /20014 oob                               # URG flag
    sc net.ipv6.auto_flowlabels=0;    $C $get fd00:77:2::2 8080 /20015; sc net.ipv6.auto_flowlabels=1  # flow label 0
    # TCP Fast Open: the first connection fetches a cookie, the second
    # carries the request in its SYN
    $C $get 10.77.2.2 8080 /20016 tfo
    $C $get 10.77.2.2 8080 /20017 tfo
    capture_stop
    stop_server
    summary $f
}

# ---------------------------------------------------------------- d
mptcp() {
    local f=mptcp.pcap
    if [ "$($C sysctl -n net.mptcp.enabled 2>/dev/null || echo 0)" != 1 ]; then
        echo "MPTCP not enabled in this kernel: mptcp.pcap skipped"; return 0
    fi
    # a second client address with a "subflow" endpoint: the client's path
    # manager opens a second subflow (MP_JOIN) from it
    $C ip addr add 10.77.1.3/24 dev jjc0
    $C ip mptcp limits set subflow 2 add_addr_accepted 2
    $S ip mptcp limits set subflow 2 add_addr_accepted 2
    $C ip mptcp endpoint add 10.77.1.3 dev jjc0 subflow
    $S $PY "$TMP/mptcp.py" server 8443 & SERVER_PID=$!
    sleep 0.5
    capture_start $f
    $C $PY "$TMP/mptcp.py" client 10.77.2.2 8443 100000
    $C $PY "$TMP/mptcp.py" client fd00:77:2::2 8443 50000
    capture_stop
    stop_server
    $C ip mptcp endpoint flush
    $C ip addr del 10.77.1.3/24 dev jjc0
    summary $f
}

setup
write_helpers
echo "kernel $(uname -r); $(tcpdump --version 2>&1 | head -1); $(tshark --version | head -1)"
for w in $WHICH; do
    case $w in
        impaired) impaired ;;
        icmp) icmp ;;
        options) options ;;
        mptcp) mptcp ;;
        *) echo "unknown capture: $w" >&2; exit 2 ;;
    esac
done
