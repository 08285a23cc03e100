"""JSON Schema of the course spec, for editors (YAML language server) and CI.

``course_spec/schema.json`` is generated from the pydantic models with
``python -m oca_sync.spec.schema course_spec/schema.json``; a unit test fails
when the committed file is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from oca_sync.spec.models import CourseSpec

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:oca-sync:course-spec:1"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a course spec file."""
    schema = CourseSpec.model_json_schema()
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = SCHEMA_ID
    schema["title"] = "oca-sync course specification"
    return schema


def render() -> str:
    """The schema as committed: pretty, sorted keys, trailing newline (stable diffs)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: str | Path) -> None:
    Path(path).write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    write_schema(sys.argv[1] if len(sys.argv) > 1 else "course_spec/schema.json")
