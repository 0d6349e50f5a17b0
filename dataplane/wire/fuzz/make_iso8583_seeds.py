#!/usr/bin/env python3
"""Writes the hand-made seeds for the iso8583_decode and frame_split fuzz targets.

Run from this directory: python3 make_iso8583_seeds.py. Standard library only; the
few field layouts used are those of pyiso8583's default / default_ascii specs.
"""
import os
import struct

# field: (LL/LLL prefix digits or 0 for fixed, binary in `default`)
LAYOUT = {2: (2, False), 3: (0, False), 4: (0, False), 11: (0, False), 35: (2, False),
          39: (0, False), 41: (0, False), 48: (3, False), 52: (0, True), 55: (3, True),
          64: (0, True), 70: (0, False), 128: (0, True)}

MESSAGES = [
    ("0200", {2: b"4761739001010010", 3: b"000000", 4: b"000000012345", 11: b"123456",
              35: b"4761739001010010=28122011758928889", 41: b"TERM0001",
              52: bytes.fromhex("123456789abcdef0"), 55: bytes.fromhex("9f260801020304050607089f270180"),
              64: b"\xaa" * 8}),
    ("0210", {2: b"4761739001010010", 3: b"000000", 11: b"123456", 39: b"00", 41: b"TERM0001"}),
    ("0800", {11: b"000001", 70: b"301"}),
    ("0420", {2: b"", 4: b"000000000100", 11: b"000042", 48: b"x" * 999, 128: b"\xbb" * 8}),
]


def bitmaps(fields, ascii_hex):
    bits = 0
    for n in fields:
        bits |= 1 << (128 - n)
    if any(n > 64 for n in fields):
        bits |= 1 << 127
    words = [bits >> 64] + ([bits & (2**64 - 1)] if bits & (1 << 127) else [])
    if ascii_hex:
        return b"".join(b"%016X" % w for w in words)
    return b"".join(struct.pack("!Q", w) for w in words)


def encode(mti, fields, ascii_hex):
    out = mti.encode() + bitmaps(fields, ascii_hex)
    for n in sorted(fields):
        digits, binary = LAYOUT[n]
        value = fields[n]
        if binary and ascii_hex:
            value = value.hex().upper().encode()
        if digits:
            out += b"%0*d" % (digits, len(value))
        out += value
    return out


def write(target, name, data):
    os.makedirs(f"corpus/{target}", exist_ok=True)
    with open(f"corpus/{target}/seed-{name}", "wb") as f:
        f.write(data)


def main():
    framed = []
    for mti, fields in MESSAGES:
        for spec, ascii_hex in (("default", False), ("default_ascii", True)):
            msg = encode(mti, fields, ascii_hex)
            write("iso8583_decode", f"{mti}-{spec}", msg)
            framed.append(struct.pack("!H", len(msg)) + msg)
    # frame_split: [max_seed, chunk_seed, payload...]; max = 1 + 4 * max_seed.
    write("frame_split", "one-frame", bytes([255, 7]) + framed[0])
    write("frame_split", "many-frames", bytes([255, 31]) + b"".join(framed[:6]))
    write("frame_split", "truncated", bytes([255, 3]) + framed[2][:-5])
    write("frame_split", "oversize", bytes([10, 1]) + framed[0])
    write("frame_split", "zero-length", bytes([255, 2]) + b"\x00\x00" + framed[3])


if __name__ == "__main__":
    main()
