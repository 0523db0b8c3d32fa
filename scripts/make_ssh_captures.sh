#!/usr/bin/env bash
# Record small, real SSH captures: OpenSSH's ssh client talking to OpenSSH's
# sshd (and to a small fake server) inside two network namespaces on this
# machine (nothing leaves it):
#
#   jjsc (client) ----veth---- jjss (server)
#   jjsc0 10.78.1.2/24         jjss0 10.78.1.1/24
#         fd00:78:1::2/64            fd00:78:1::1/64
#
# Every capture is taken with tcpdump on the client's veth (jjsc0), full
# snaplen (-s 0), classic pcap with microsecond timestamps.
#
#   sudo bash scripts/make_ssh_captures.sh [OUTDIR]
#
# OUTDIR defaults to testdata/captures. Writes:
#   ssh-login.pcap     key login running a command, over IPv4 and over IPv6
#   ssh-password.pcap  two wrong passwords then failure (root has no usable
#                      password), then a key login that first tries a wrong
#                      password (PreferredAuthentications=password,publickey)
#   ssh-algos.pcap     clients forced to other algorithms (DH group14 +
#                      aes128-ctr + hmac-sha2-256; ecdh nistp256 + aes256-gcm
#                      + compression), a client offering only a key exchange
#                      the server refuses (no matching method: the connection
#                      ends after the KEXINITs), and a connection to a port
#                      where nothing listens (RST)
#   ssh-fake.pcap      a fake server (Python) that sends two lines before an
#                      "SSH-1.99-" identification line and its KEXINIT split
#                      over three TCP segments; the real client answers with
#                      its banner and KEXINIT and gives up (port 2200); the
#                      same without the two lines (port 2201)
# Re-running rebuilds the namespaces from scratch and overwrites the files;
# the namespaces and the sshd are removed on exit (trap). Keys are generated
# afresh each run, so a re-run gives different bytes with the same structure.
# Requires: iproute2, ethtool, tcpdump, openssh-server, openssh-client, python3.
set -euo pipefail

OUT=${1:-testdata/captures}
C="ip netns exec jjsc"
S="ip netns exec jjss"

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d /tmp/jjssh.XXXXXX)
SSHD_PID=
FAKE_PID=
TCPDUMP_PID=

cleanup() {
    [ -n "$TCPDUMP_PID" ] && kill "$TCPDUMP_PID" 2>/dev/null || true
    [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null || true
    [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null || true
    for ns in jjsc jjss; do ip netns del $ns 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

for ns in jjsc jjss; do ip netns del $ns 2>/dev/null || true; done
for ns in jjsc jjss; do
    ip netns add $ns
    ip -n $ns link set lo up
    ip netns exec $ns sysctl -qw net.ipv6.conf.default.router_solicitations=0
    ip netns exec $ns sysctl -qw net.ipv6.conf.default.accept_dad=0
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0
done
ip link add jjsc0 netns jjsc type veth peer name jjss0 netns jjss
ip -n jjsc addr add 10.78.1.2/24 dev jjsc0
ip -n jjsc addr add fd00:78:1::2/64 dev jjsc0 nodad
ip -n jjss addr add 10.78.1.1/24 dev jjss0
ip -n jjss addr add fd00:78:1::1/64 dev jjss0 nodad
for l in "jjsc jjsc0" "jjss jjss0"; do
    set -- $l
    # wire-sized segments with real checksums
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "$1" link set "$2" up
done
$C ping -q -c 1 -W 2 10.78.1.1 >/dev/null
$C ping -q -c 1 -W 2 fd00:78:1::1 >/dev/null

# ---------------------------------------------------------------- sshd
ssh-keygen -q -t ed25519 -N '' -f "$TMP/host_ed25519"
ssh-keygen -q -t rsa -b 2048 -N '' -f "$TMP/host_rsa"
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$TMP/host_ecdsa"
ssh-keygen -q -t ed25519 -N '' -f "$TMP/client_key"
cp "$TMP/client_key.pub" "$TMP/authorized_keys"
chmod 600 "$TMP/authorized_keys"
mkdir -p /run/sshd
cat > "$TMP/sshd_config" <<EOF
Port 22
ListenAddress 10.78.1.1
ListenAddress fd00:78:1::1
HostKey $TMP/host_ed25519
HostKey $TMP/host_rsa
HostKey $TMP/host_ecdsa
PidFile $TMP/sshd.pid
AuthorizedKeysFile $TMP/authorized_keys
StrictModes no
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
MaxAuthTries 6
Compression yes
# every default key exchange except ecdh-sha2-nistp521, which the
# "no matching method" client below offers alone
KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256
EOF
$S /usr/sbin/sshd -D -e -f "$TMP/sshd_config" 2>"$TMP/sshd.log" &
SSHD_PID=$!

# A fake server on port 2200: two lines, then "SSH-1.99-..." and a KEXINIT
# sent in three pieces; it reads what the client says and closes. The same
# on port 2201 without the two lines (so that Wireshark dissects it).
cat > "$TMP/fake.py" <<'EOF'
import os, socket, struct, time
def namelist(s):
    b = s.encode()
    return struct.pack("!I", len(b)) + b
lists = ["curve25519-sha256,diffie-hellman-group14-sha256", "ssh-ed25519",
         "aes128-ctr,aes256-ctr", "aes256-ctr", "hmac-sha2-256", "hmac-sha2-512",
         "none", "none,zlib", "", ""]
payload = bytes([20]) + os.urandom(16) + b"".join(namelist(l) for l in lists) + b"\x00" + b"\x00" * 4
pad = 8 - (len(payload) + 5) % 8
if pad < 4:
    pad += 8
pkt = struct.pack("!IB", len(payload) + pad + 1, pad) + payload + b"\x00" * pad
import sys, threading
def serve(port, pre):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("10.78.1.1", port)); ls.listen()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=talk, args=(c, pre)).start()
def talk(c, pre):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.sendall(pre + b"SSH-1.99-JJFake_0.1 test server\r\n")
    time.sleep(0.05)
    for piece in (pkt[:3], pkt[3:40], pkt[40:]):
        c.sendall(piece)
        time.sleep(0.05)
    c.settimeout(2)
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()
threading.Thread(target=serve, args=(2201, b""), daemon=True).start()
serve(2200, b"Welcome to the fake server\r\nplease be nice\r\n")
EOF
$S python3 "$TMP/fake.py" &
FAKE_PID=$!
sleep 1

# Wrong passwords for the askpass helper (root has no usable password here).
cat > "$TMP/askpass" <<'EOF'
#!/bin/sh
echo not-the-password
EOF
chmod 755 "$TMP/askpass"

SSH="ssh -F none -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5"

start() {
    $C tcpdump -i jjsc0 -s 0 -U -w "$OUT/$1" -n tcp >/dev/null 2>&1 &
    TCPDUMP_PID=$!
    sleep 1
}
stop() {
    sleep 1
    kill "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" 2>/dev/null || true
    TCPDUMP_PID=
}

key() { $C $SSH -o BatchMode=yes -i "$TMP/client_key" "$@"; }
pass() {
    $C env SSH_ASKPASS="$TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
        setsid -w $SSH -o NumberOfPasswordPrompts=2 "$@" </dev/null
}

start ssh-login.pcap
key root@10.78.1.1 'echo hello over IPv4'
key root@fd00:78:1::1 'echo hello over IPv6'
stop

start ssh-password.pcap
pass -o PreferredAuthentications=password -o PubkeyAuthentication=no root@10.78.1.1 true || true
pass -i "$TMP/client_key" -o NumberOfPasswordPrompts=1 \
    -o PreferredAuthentications=password,publickey root@10.78.1.1 'echo in after a wrong password'
stop

start ssh-algos.pcap
key -o KexAlgorithms=diffie-hellman-group14-sha256 -o Ciphers=aes128-ctr \
    -o MACs=hmac-sha2-256 -o HostKeyAlgorithms=rsa-sha2-256 root@10.78.1.1 'echo dh14 aes128-ctr'
key -o KexAlgorithms=ecdh-sha2-nistp256 -o Ciphers=aes256-gcm@openssh.com \
    -o Compression=yes -o HostKeyAlgorithms=ecdsa-sha2-nistp256 root@10.78.1.1 'echo nistp256 gcm zlib'
key -o KexAlgorithms=ecdh-sha2-nistp521 root@10.78.1.1 true || true
key -p 2222 root@10.78.1.1 true || true
stop

start ssh-fake.pcap
key -p 2200 root@10.78.1.1 true || true
key -p 2201 root@10.78.1.1 true || true
stop

for f in ssh-login ssh-password ssh-algos ssh-fake; do
    echo "$f.pcap: $(stat -c %s "$OUT/$f.pcap") bytes"
done
