#!/usr/bin/env python3
"""Derive the Zoom contract the tests check against from Zoom's OpenAPI document.

The tests may not read files outside the repository, so the facts they need
from Zoom's Meeting API document (paths, methods, parameters with types, enums
and limits, request and response schemas, the error codes each operation
lists) are committed as ``tests/contracts/zoom-meeting-api.json``: the same
OpenAPI shape, cut down to the operations oca-sync and its emulator use.
Examples are dropped and long schema descriptions shortened; everything that
validates (types, formats, enums, maximums, required) is kept as Zoom wrote it.

Usage:
  scripts/derive_zoom_contract.py zoom-meeting-api.openapi.json          # rewrite the contract
  scripts/derive_zoom_contract.py zoom-meeting-api.openapi.json --check  # exit 1 if it differs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "tests" / "contracts" / "zoom-meeting-api.json"

#: The operations oca-sync calls or its emulator serves (add one here, then re-derive).
OPERATIONS = (
    "GET /users/{userId}",
    "GET /users/{userId}/meetings",
    "POST /users/{userId}/meetings",
    "GET /meetings/{meetingId}",
    "PATCH /meetings/{meetingId}",
    "DELETE /meetings/{meetingId}",
    "GET /past_meetings/{meetingId}/instances",
    "GET /meetings/{meetingId}/recordings",
    "GET /users/{userId}/recordings",
    "DELETE /meetings/{meetingId}/recordings/{recordingId}",
    "GET /report/meetings/{meetingId}/participants",
)
#: Schema descriptions are cut to this many characters (they carry facts such as Zoom's local time form).
DESCRIPTION_MAX = 400


def derive(doc: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for name in OPERATIONS:
        method, template = name.split(" ", 1)
        try:
            paths.setdefault(template, {})[method.lower()] = doc["paths"][template][method.lower()]
        except KeyError:
            raise SystemExit(f"the document has no {name}") from None
    return {
        "openapi": doc["openapi"],
        "info": {**doc["info"], "x-derived": "cut down by scripts/derive_zoom_contract.py; do not edit by hand"},
        "servers": doc["servers"],
        "paths": _trim(paths, in_schema=False),
    }


def _trim(node: Any, *, in_schema: bool) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("example", "examples", "x-examples"):
                continue
            if key == "description" and in_schema and isinstance(value, str):
                value = value[:DESCRIPTION_MAX]
            out[key] = _trim(value, in_schema=in_schema or key in ("schema", "properties", "items"))
        return out
    if isinstance(node, list):
        return [_trim(v, in_schema=in_schema) for v in node]
    return node


def render(contract: dict[str, Any]) -> str:
    return json.dumps(contract, ensure_ascii=False, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("document", nargs="?", default=os.environ.get("OCA_ZOOM_OPENAPI"),
                        help="Zoom's Meeting API OpenAPI document (default: $OCA_ZOOM_OPENAPI)")
    parser.add_argument("-o", "--output", type=Path, default=CONTRACT, help=f"default: {CONTRACT.relative_to(ROOT)}")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the contract is out of date")
    args = parser.parse_args()
    if not args.document:
        parser.error("give the OpenAPI document (or set OCA_ZOOM_OPENAPI)")
    text = render(derive(json.loads(Path(args.document).read_text(encoding="utf-8"))))
    if args.check:
        same = args.output.is_file() and args.output.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.output} differs from the document: re-derive it", file=sys.stderr)
        return 0 if same else 1
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text) // 1024} KiB, {len(OPERATIONS)} operations)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
