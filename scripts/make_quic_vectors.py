#!/usr/bin/env python3
"""Write the client Initial test vectors of RFC 9001 Appendix A.2 (QUIC v1)
and RFC 9369 Appendix A.2 (QUIC v2) to testdata/quic/*.bin.

The plaintext (header and CRYPTO frame with the ClientHello, padded with
917 zero bytes to a 1200-byte datagram) is the RFCs' own; aioquic's packet
protection (an implementation independent of ours) encrypts it with the
initial keys of DCID 8394c8f03e515708, and the result is checked against
the RFCs' published protected bytes (first and last 16 bytes below) before
anything is written.

    /tmp/aioq/bin/python scripts/make_quic_vectors.py [OUTDIR]
"""
import binascii
import sys

from aioquic.quic.crypto import CryptoPair
from aioquic.quic.packet import QuicProtocolVersion

PAYLOAD = binascii.unhexlify(
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff"
) + bytes(917)

CASES = [
    # name, version, plain header, published protected start, published end
    ("rfc9001-client-initial.bin", QuicProtocolVersion.VERSION_1,
     "c300000001088394c8f03e5157080000449e00000002",
     "c000000001088394c8f03e5157080000449e7b9aec34",
     "e221af44860018ab0856972e194cd934"),
    ("rfc9369-client-initial.bin", QuicProtocolVersion.VERSION_2,
     "d36b3343cf088394c8f03e5157080000449e00000002",
     "d76b3343cf088394c8f03e5157080000449ea0c95e82",
     "a18b2faa745b6fe189cf772a9f84cbfc"),
]

out = sys.argv[1] if len(sys.argv) > 1 else "testdata/quic"
for name, version, header, start, end in CASES:
    pair = CryptoPair()
    pair.setup_initial(cid=binascii.unhexlify("8394c8f03e515708"), is_client=True, version=version)
    pkt = pair.encrypt_packet(binascii.unhexlify(header), PAYLOAD, 2)
    assert len(pkt) == 1200, len(pkt)
    assert pkt.hex().startswith(start), (name, pkt[:24].hex())
    if end:
        assert pkt.hex().endswith(end), (name, pkt[-16:].hex())
    open(f"{out}/{name}", "wb").write(pkt)
    print(name, len(pkt), pkt[:22].hex(), "...", pkt[-16:].hex())
open(f"{out}/rfc-client-hello.bin", "wb").write(PAYLOAD[4 : 4 + 241])
