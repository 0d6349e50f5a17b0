"""Dump pyiso8583's built-in specs (and its version) as JSON for the drift check."""

import json

import iso8583
from pyiso_common import SPECS

print(
    json.dumps(
        {
            "version": iso8583.__version__,
            "specs": {
                name: {key: {k: v for k, v in field.items() if k != "desc"} for key, field in spec.items()}
                for name, spec in SPECS.items()
            },
        }
    )
)
