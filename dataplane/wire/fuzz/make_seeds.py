#!/usr/bin/env python3
"""Writes the hand-made seed frames for the packet fuzz targets.

Run from this directory: python3 make_seeds.py. Uses only the standard
library so the seeds are reproducible without scapy.
"""
import os
import struct

MAC_A = bytes.fromhex("020000000001")
MAC_S = bytes.fromhex("02000000000a")
IP_A = bytes([192, 168, 10, 1])
IP_S = bytes([192, 168, 10, 254])


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def eth(dst, src, ethertype, payload, vlan=None):
    if vlan is None:
        return dst + src + struct.pack("!H", ethertype) + payload
    return dst + src + struct.pack("!HHH", 0x8100, vlan, ethertype) + payload


def ipv4(src, dst, proto, payload, options=b"", flags_frag=0x4000, ttl=64):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload),
                      0x1c46, flags_frag, ttl, proto, 0, src, dst) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def udp(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, length)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def icmp_echo(ident, seq, data, typ=8):
    msg = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    return msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]


def arp_request(sha, spa, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, sha, spa, b"\0" * 6, tpa)


# A framed ISO 8583 0200-like payload: 2-byte length + text, ~250 bytes.
iso = b"0200" + bytes(range(0x30, 0x3a)) * 24 + b"1234"
iso_payload = struct.pack("!H", len(iso)) + iso

seeds = {
    "seed-arp-request": eth(b"\xff" * 6, MAC_A, 0x0806, arp_request(MAC_A, IP_A, IP_S) + b"\0" * 18),
    "seed-icmp-echo": eth(MAC_S, MAC_A, 0x0800,
                          ipv4(IP_A, IP_S, 1, icmp_echo(0x1234, 1, bytes(range(56))))),
    "seed-udp-iso": eth(MAC_S, MAC_A, 0x0800, ipv4(IP_A, IP_S, 17, udp(IP_A, IP_S, 40000, 8583, iso_payload))),
    "seed-udp-vlan": eth(MAC_S, MAC_A, 0x0800, ipv4(IP_A, IP_S, 17, udp(IP_A, IP_S, 40000, 8583, b"hello")), vlan=0xa064),
    "seed-udp-options": eth(MAC_S, MAC_A, 0x0800,
                            ipv4(IP_A, IP_S, 17, udp(IP_A, IP_S, 40000, 8583, b"opts"), options=b"\x01\x01\x01\x00")),
    "seed-ipv4-fragment": eth(MAC_S, MAC_A, 0x0800, ipv4(IP_A, IP_S, 17, b"\0" * 16, flags_frag=0x2000)),
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "net_headers")
    os.makedirs(out, exist_ok=True)
    for name, frame in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(frame)
        print(f"{name}: {len(frame)} bytes")
