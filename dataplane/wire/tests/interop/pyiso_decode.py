"""Decode hex lines with pyiso8583.

Usage: pyiso_decode.py SPEC < hex lines
Writes one JSON line per input line: {"mti": ..., "fields": {...}} or {"error": "..."}.
"""

import json
import sys

import iso8583
from pyiso_common import SPECS, to_clearway


def main():
    spec = SPECS[sys.argv[1]]
    out = sys.stdout
    for line in sys.stdin:
        try:
            decoded, _ = iso8583.decode(bytes.fromhex(line.strip()), spec)
            out.write(json.dumps(to_clearway(decoded, spec)) + "\n")
        except Exception as e:  # every failure becomes a line, so lines stay aligned
            out.write(json.dumps({"error": str(e)}) + "\n")


if __name__ == "__main__":
    main()
