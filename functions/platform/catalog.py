"""The one catalog of a process: ``CATALOG_PATH`` if set, else the catalog shipped with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.platform import process
from functions.platform.settings import get_settings

if TYPE_CHECKING:
    from schemas.catalog import Catalog


@process.once
def get_catalog() -> Catalog:
    from schemas.catalog import load_catalog  # noqa: PLC0415 - pydantic catalog models on first use

    return load_catalog(get_settings().catalog_path)
