#!/usr/bin/env python3
"""A tiny QUIC echo server and client (aioquic), for recording test captures.

    quic_peer.py server --host H --port P --cert C --key K [--retry] [--versions v1,v2] [--alpn a,b]
    quic_peer.py client --host H --port P [--sni NAME] [--alpn a,b] [--versions v2,v1]
                        [--message TEXT] [--timeout S]

The server accepts any of its ALPN protocols and echoes every stream's bytes
back on the same stream, closing it when the client closes its side. The
client opens one bidirectional stream, sends the message with FIN, waits for
the echo (or the timeout), then closes the connection. Versions are named v1
(0x00000001) or v2 (0x6b3343cf); the client's first is the one its first
Initial packet uses. Certificate checks are off (self-signed test cert).
"""

import argparse
import asyncio
import ssl
import sys

from aioquic.asyncio import QuicConnectionProtocol, connect, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import StreamDataReceived
from aioquic.quic.packet import QuicProtocolVersion

VERSIONS = {"v1": QuicProtocolVersion.VERSION_1, "v2": QuicProtocolVersion.VERSION_2}


class EchoServer(QuicConnectionProtocol):
    def quic_event_received(self, event):
        if isinstance(event, StreamDataReceived):
            self._quic.send_stream_data(event.stream_id, event.data, end_stream=event.end_stream)
            self.transmit()


class EchoClient(QuicConnectionProtocol):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.done = asyncio.get_event_loop().create_future()
        self.got = b""

    def quic_event_received(self, event):
        if isinstance(event, StreamDataReceived):
            self.got += event.data
            if event.end_stream and not self.done.done():
                self.done.set_result(self.got)


def versions(s):
    return [VERSIONS[v] for v in s.split(",")]


async def run_server(a):
    cfg = QuicConfiguration(is_client=False, alpn_protocols=a.alpn.split(","))
    cfg.supported_versions = versions(a.versions)
    cfg.load_cert_chain(a.cert, a.key)
    await serve(a.host, a.port, configuration=cfg, create_protocol=EchoServer, retry=a.retry)
    await asyncio.Future()


async def run_client(a):
    cfg = QuicConfiguration(is_client=True, alpn_protocols=a.alpn.split(","))
    cfg.supported_versions = versions(a.versions)
    cfg.verify_mode = ssl.CERT_NONE
    cfg.server_name = a.sni or None
    cfg.idle_timeout = a.timeout
    try:
        async with connect(
            a.host, a.port, configuration=cfg, create_protocol=EchoClient, wait_connected=True
        ) as client:
            sid = client._quic.get_next_available_stream_id()
            client._quic.send_stream_data(sid, a.message.encode(), end_stream=True)
            client.transmit()
            got = await asyncio.wait_for(client.done, a.timeout)
            print("echo:", got.decode(errors="replace"))
    except (asyncio.TimeoutError, ConnectionError) as e:
        print("client:", type(e).__name__, e, file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--retry", action="store_true")
    p.add_argument("--versions", default="v1,v2")
    p.add_argument("--alpn", default="h3")
    p.add_argument("--sni", default="")
    p.add_argument("--message", default="hello over quic")
    p.add_argument("--timeout", type=float, default=3.0)
    a = p.parse_args()
    asyncio.run(run_server(a) if a.mode == "server" else run_client(a))


if __name__ == "__main__":
    main()
