"""Deployment size: each function's asset and the dependency layers, zipped as Lambda takes them.

A function's asset is ``functions/__init__.py``, ``functions/topology.py``,
``functions/platform/``, ``functions/domain/``, ``functions/<name>/`` and ``schemas/`` (the code
and the catalog data it reads). The layer holds the third-party packages the functions import at
run time: the project's dependencies and theirs, without boto3/botocore/s3transfer (the Lambda
Python runtime provides them) and without ``twilio`` (and what only twilio needs), which gets
its own layer so that only the functions that send SMS carry it. Until the CDK app builds its
own assets this is the same packaging done here; sizes are deflate-compressed zips in memory.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from bench.events import ROOT
from functions import topology

RUNTIME_PROVIDED = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
}
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _zip(files: Iterable[tuple[Path, str]]) -> tuple[int, int, int]:
    """(zipped bytes, unzipped bytes, file count) of a zip holding ``files``."""
    buffer = io.BytesIO()
    raw = count = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path, name in files:
            data = path.read_bytes()
            raw += len(data)
            count += 1
            archive.writestr(name, data)
    return len(buffer.getvalue()), raw, count


def _tree(folder: Path) -> list[tuple[Path, str]]:
    return [
        (p, str(p.relative_to(ROOT)))
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def function_files(name: str) -> list[tuple[Path, str]]:
    files = [(ROOT / "functions" / "__init__.py", "functions/__init__.py")]
    files.append((ROOT / "functions" / "topology.py", "functions/topology.py"))
    files += _tree(ROOT / "functions" / "platform")
    files += _tree(ROOT / "functions" / "domain")
    files += [(ROOT / "functions" / m, f"functions/{m}") for m in ("filing.py",)]
    files += _tree(ROOT / "functions" / name)
    files += [f for f in _tree(ROOT / "schemas") if "/json/" not in f[1]]
    return files


def _requirements(dist: str) -> list[str]:
    names = []
    for spec in metadata.requires(dist) or []:
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        names.append(_norm(req.name))
        names += [f"{_norm(req.name)}[{e}]" for e in req.extras]
    return names


def _closure(roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        item = todo.pop()
        name, _, extra = item.partition("[")
        extra = extra.rstrip("]")
        if name in RUNTIME_PROVIDED:
            continue
        if item in seen:
            continue
        seen.add(item)
        try:
            specs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in specs:
            req = Requirement(spec)
            env = {"extra": extra}
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            todo.append(_norm(req.name))
            todo += [f"{_norm(req.name)}[{e}]" for e in req.extras]
    return {s.partition("[")[0] for s in seen}


def _dist_files(names: Iterable[str]) -> list[tuple[Path, str]]:
    files: list[tuple[Path, str]] = []
    for name in sorted(names):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for entry in dist.files or []:
            path = Path(str(dist.locate_file(entry)))
            text = str(entry)
            if "__pycache__" in text or text.endswith(".pyc") or ".dist-info/" in text:
                continue
            if path.is_file():
                files.append((path, "python/" + text))
    return files


def measure() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for fn in topology.FUNCTIONS:
        zipped, raw, count = _zip(function_files(fn.name))
        rows.append(
            {"function": fn.name, "zip_bytes": zipped, "unzipped_bytes": raw, "files": count}
        )
    roots = _requirements("citizenbus")
    everything = _closure(roots)
    without_twilio = _closure(r for r in roots if not r.startswith("twilio"))
    twilio_only = everything - without_twilio
    layers: list[dict[str, Any]] = []
    for name, members in (("shared", without_twilio), ("twilio", twilio_only)):
        zipped, raw, count = _zip(_dist_files(members))
        layers.append(
            {
                "layer": name,
                "packages": sorted(members),
                "zip_bytes": zipped,
                "unzipped_bytes": raw,
                "files": count,
            }
        )
    shared_raw = int(layers[0]["unzipped_bytes"])
    twilio_raw = int(layers[1]["unzipped_bytes"])
    for row in rows:
        fn = topology.function(str(row["function"]))
        total = int(row["unzipped_bytes"]) + shared_raw + (twilio_raw if fn.uses_twilio else 0)
        row["layers"] = ["shared", "twilio"] if fn.uses_twilio else ["shared"]
        row["unzipped_with_layers_bytes"] = total
        row["within_lambda_limit"] = total <= LAMBDA_UNZIPPED_LIMIT
    return {"functions": rows, "layers": layers, "runtime_provided": sorted(RUNTIME_PROVIDED)}
