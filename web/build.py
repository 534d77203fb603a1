"""Build the web e-service as a plain folder of static files: ``python -m web.build``.

Writes ``web/dist/`` (or ``--out DIR``): the start page, one form per catalog service and the
status look-up form in each language, ``404.html``, the assets under ``static/``, and
``routes.json``, which says which paths the API origin must answer (form posts, receipts,
status results). Forms built here have an empty ``submission_id``; the script fills in a
fresh one in the browser. The CDK app uploads the folder to S3 behind CloudFront.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from functions.platform.texts import languages
from schemas.catalog import load_catalog
from web import render

DEFAULT_OUT = Path(__file__).resolve().parent / "dist"

# Served by API Gateway (the web and eservice functions) even when the pages are static:
# these, and the same under every other language's prefix (``/en/status``, ``/fi/status``…).
LANGUAGE_API_PATHS = ("/receipt/*", "/status", "/status/code", "/confirm/*")


def api_paths() -> list[str]:
    return ["/eservice/*"] + [
        render.prefix(language) + path for language in languages() for path in LANGUAGE_API_PATHS
    ]


def pages() -> dict[str, str]:
    """Every static page by its file path inside the folder."""
    catalog = load_catalog()
    out: dict[str, str] = {}
    for language in languages():
        base = render.prefix(language).lstrip("/") + "/" if render.prefix(language) else ""
        out[f"{base}index.html"] = render.home(language)
        out[f"{base}404.html"] = render.not_found(language)
        out[f"{base}status/index.html"] = render.status_form(language)
        for service in catalog.services:
            out[f"{base}forms/{service.service_code}/index.html"] = render.service_form(
                service, language
            )
    return out


def build(out: Path = DEFAULT_OUT) -> list[Path]:
    """Write the folder afresh; the files written."""
    if out.exists():
        shutil.rmtree(out)
    written: list[Path] = []
    for name, html in pages().items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        written.append(path)
    (out / "static").mkdir(parents=True, exist_ok=True)
    for name in render.ASSETS:
        target = out / "static" / name
        shutil.copyfile(render.STATIC / name, target)
        written.append(target)
    routes = out / "routes.json"
    routes.write_text(
        json.dumps(
            {
                "index_document": "index.html",
                "not_found_document": "404.html",
                "api_paths": api_paths(),
                "immutable_assets": "/static/*",
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    written.append(routes)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the folder to write")
    args = parser.parse_args(argv)
    written = build(args.out)
    print(f"wrote {len(written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
