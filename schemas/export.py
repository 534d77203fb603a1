"""Write the JSON Schemas of the shared models into ``schemas/json/``.

``python -m schemas.export`` rewrites them; ``--check`` fails when a file is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas.bodies import ErrorBody, Preferences, RequestView, StatusChange
from schemas.catalog import Catalog
from schemas.events import RequestEvent, RequestEventData
from schemas.request import AppRequestBody, NewRequest

OUT = Path(__file__).with_name("json")

MODELS: dict[str, type[BaseModel]] = {
    "catalog": Catalog,
    "new-request": NewRequest,
    "app-request": AppRequestBody,
    "request": RequestView,
    "status-change": StatusChange,
    "request-event": RequestEvent,
    "request-event-data": RequestEventData,
    "errors": ErrorBody,
    "preferences": Preferences,
}


def render() -> dict[str, str]:
    files = {}
    for name, model in MODELS.items():
        schema = model.model_json_schema(
            mode="serialization" if name == "request" else "validation"
        )
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{name}.schema.json",
            **schema,
        }
        files[f"{name}.schema.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [
            n
            for n, text in files.items()
            if not (OUT / n).exists() or (OUT / n).read_text() != text
        ]
        if stale:
            print("out of date: " + ", ".join(stale) + " (run: python -m schemas.export)")
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(files)} schemas to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
