"""Shared helpers for the Clearway <-> pyiso8583 interop scripts.

Values are exchanged as Clearway's `clearctl msg` JSON does: text fields as text,
binary fields as lowercase hex, bitmaps ("p", "1") and the MTI key "t" left out of
"fields".
"""

import iso8583
import iso8583.specs

SPECS = {"default": iso8583.specs.default, "default_ascii": iso8583.specs.default_ascii}


def to_clearway(doc_dec, spec):
    """pyiso8583's decoded dict -> {"mti": ..., "fields": {...}} in Clearway's form."""
    fields = {}
    for key, value in doc_dec.items():
        if key in ("t", "p", "1", "h"):
            continue
        if spec[key]["data_enc"] == "b":
            value = value.lower()
        fields[key] = value
    ordered = {k: fields[k] for k in sorted(fields, key=int)}
    return {"mti": doc_dec["t"], "fields": ordered}
