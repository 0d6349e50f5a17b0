"""Generate random ISO 8583 messages with pyiso8583.

Usage: pyiso_generate.py SPEC COUNT SEED NUMERIC_FIELDS
NUMERIC_FIELDS is a comma-separated list of the fields Clearway's spec marks numeric
(pyiso8583 has no such notion; the generator puts digits there so both sides accept).
Writes one JSON line per message: {"hex": ..., "mti": ..., "fields": {...}}.
"""

import json
import random
import sys

import iso8583
from pyiso_common import SPECS, to_clearway

DIGITS = "0123456789"
# Every 7-bit character: pyiso8583's ASCII fields accept all of them.
ASCII = "".join(chr(c) for c in range(128))


def random_length(rng, field_spec):
    if field_spec["len_type"] == 0:
        return field_spec["max_len"]
    pick = rng.random()
    if pick < 0.15:
        return 0
    if pick < 0.25:
        return field_spec["max_len"]
    return rng.randint(0, min(field_spec["max_len"], 64))


def random_value(rng, n, field_spec, numeric):
    length = random_length(rng, field_spec)
    if field_spec["data_enc"] == "b":
        return rng.randbytes(length).hex().upper()
    alphabet = DIGITS if n in numeric else ASCII
    return "".join(rng.choices(alphabet, k=length))


def main():
    spec_name, count, seed, numeric_arg = sys.argv[1:5]
    spec = SPECS[spec_name]
    numeric = {int(n) for n in numeric_arg.split(",") if n}
    rng = random.Random(int(seed))
    out = sys.stdout
    for _ in range(int(count)):
        density = rng.choice([0.02, 0.08, 0.2, 0.4])
        with_secondary = rng.random() < 0.5
        doc = {"t": "".join(rng.choice(DIGITS) for _ in range(4))}
        for n in range(2, 129):
            if n == 65 or (n > 64 and not with_secondary):
                continue
            if rng.random() < density:
                doc[str(n)] = random_value(rng, n, spec[str(n)], numeric)
        # encode() takes the dict apart (it pops "1" and "65"), so hand it a copy.
        encoded, _ = iso8583.encode(dict(doc), spec)
        line = to_clearway(doc, spec)
        line["hex"] = bytes(encoded).hex()
        out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
