"""Package ``__init__`` modules that run only when a name they export is asked for.

Importing ``aws_lambda_powertools.event_handler.api_gateway`` (the HTTP API resolver every
HTTP function uses) first runs the package's ``__init__``, which imports every resolver
Powertools has: AppSync (and with it ``asyncio``), Bedrock agents, VPC Lattice, … The
resolver module in turn imports ``aws_lambda_powertools.utilities.data_classes``, whose
``__init__`` imports all thirty-odd event classes. Together that is ~15 ms of CPU on every
cold start that no function here uses (measured: ``bench/cold.py``, docs/performance.md).

:func:`install` adds an import finder that loads such a package as a stand-in: it has the
package's ``__path__`` (so its submodules import as usual, and only those are loaded), and a
module ``__getattr__`` (PEP 562) that answers a name the real ``__init__`` exports by
importing just the submodule it comes from (read from the ``__init__``'s ``from .x import y``
lines). A name found in neither runs the real ``__init__`` in the stand-in, so
``from aws_lambda_powertools.event_handler import AppSyncResolver`` still works, at the old
price. ``functions/__init__.py`` installs it, so it is in place before any handler module
imports Powertools (a handler's module path always starts with ``functions.``).
"""

from __future__ import annotations

import _thread
import importlib
import importlib.util
import sys

TYPE_CHECKING = False  # not typing's: health and the authorizer import no typing at all
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any


def _exports(origin: str) -> dict[str, tuple[str, int, str]]:
    """``{name: (module, level, name in module)}`` of the ``from … import`` lines of a file."""
    import ast  # noqa: PLC0415 - on the first name asked for (Powertools' logger has it loaded by then)

    with open(origin, "rb") as fh:
        tree = ast.parse(fh.read(), origin)
    found: dict[str, tuple[str, int, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module, node.level, alias.name)
    return found


class _Deferred:  # an importlib.abc.Loader (duck-typed: importlib.abc costs ~10 ms)
    """Loads a package as a stand-in whose ``__init__`` runs only if a name needs it."""

    def __init__(self, real: Loader, origin: str) -> None:
        self.real = real
        self.origin = origin

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        name, real, origin = module.__name__, self.real, self.origin
        state: dict[str, Any] = {"exports": None, "ran": False}

        def real_init() -> ModuleType:
            if not state["ran"]:
                state["ran"] = True
                real.exec_module(module)  # the real __init__, as a plain import runs it
            return module

        def __getattr__(attr: str) -> Any:
            if attr in CALLED_LATER.get(name, ()) and not state["ran"]:

                def later(*args: Any, **kwargs: Any) -> Any:
                    return getattr(real_init(), attr)(*args, **kwargs)

                later.__name__ = later.__qualname__ = attr
                return later
            if state["exports"] is None:
                state["exports"] = _exports(origin)
            where = state["exports"].get(attr)
            if where is not None and not state["ran"]:
                source, level, original = where
                target = importlib.import_module("." * level + source, name if level else None)
                value = getattr(target, original)
                setattr(module, attr, value)
                return value
            if not attr.startswith("__") and importlib.util.find_spec(f"{name}.{attr}"):
                return importlib.import_module(f"{name}.{attr}")
            if not state["ran"]:
                return getattr(real_init(), attr)
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")

        module.__getattr__ = __getattr__  # type: ignore[method-assign]


class _LaterList(list):  # type: ignore[type-arg]
    """A list a module only stores at import, filled by ``load`` the first time it is read."""

    def __init__(self, load: Callable[[], list[Any]]) -> None:
        super().__init__()
        self._load: Callable[[], list[Any]] | None = load
        self._lock = _thread.allocate_lock()  # two threads reading first: one fills

    def _filled(self) -> _LaterList:
        if self._load is not None:
            with self._lock:
                if self._load is not None:
                    self.extend(self._load())
                    self._load = None
        return self

    def __iter__(self) -> Any:
        return list.__iter__(self._filled())

    def __len__(self) -> int:
        return list.__len__(self._filled())

    def __getitem__(self, index: Any) -> Any:
        return list.__getitem__(self._filled(), index)

    def __contains__(self, item: object) -> bool:
        return list.__contains__(self._filled(), item)

    def __eq__(self, other: object) -> bool:
        return list.__eq__(self._filled(), other)

    __hash__ = None  # as list's

    def __repr__(self) -> str:
        return list.__repr__(self._filled())


class _AltFormats:  # a Loader, duck-typed
    """Loads one of phonenumbers' ``data.alt_format_<code>`` modules as a stand-in whose
    ``PHONE_ALT_FORMAT_<code>`` is a :class:`_LaterList`: the real module runs when the
    list is first read (only phonenumbers' text matcher reads them)."""

    def __init__(self, real: Loader) -> None:
        self.real = real

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.real.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        real = self.real
        name = "PHONE_ALT_FORMAT_" + module.__name__.rpartition("_")[2]

        def load() -> list[Any]:
            real.exec_module(module)  # sets the name to the real list: hand over its items
            items = list(getattr(module, name))
            setattr(module, name, later)
            return items

        later = _LaterList(load)
        setattr(module, name, later)


class _Finder:  # an importlib.abc.MetaPathFinder, duck-typed likewise
    """Finds the packages named in :data:`DEFERRED` (and phonenumbers' alternate formats) as
    the other finders do, loads them through :class:`_Deferred` (:class:`_AltFormats`)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        alt_formats = fullname.startswith(ALT_FORMATS)
        if fullname not in DEFERRED and not alt_formats:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and spec.origin:
                if alt_formats:
                    spec.loader = _AltFormats(spec.loader)  # type: ignore[assignment]
                elif spec.submodule_search_locations:
                    spec.loader = _Deferred(spec.loader, spec.origin)  # type: ignore[assignment]
            if spec is not None:
                return spec
        return None


# Packages whose __init__ only the names asked for pay for: Powertools' event handler (the
# HTTP functions use its api_gateway module) and its data classes (the resolver, the batch
# utility and the handlers use a few event classes of thirty); and asyncio, which Powertools'
# batch utility imports for its async processor alone (29 modules, ~10 ms): the SQS and stream
# consumers here use the synchronous one, so asyncio loads only if something uses it. And
# phonenumbers, whose __init__ imports its text matcher and as-you-type formatter (regexes
# compiled at import) besides the parse/validate/format functions the bus uses: a first
# number typed in costs ~11 ms instead of ~15. And Powertools' parameters, whose __init__
# imports every provider (AppConfig, DynamoDB with boto3's condition builder, SSM) where the
# bus reads secrets only (functions/platform/secrets.py): ~2.0 ms -> 0.9 on a first secret.
# And boto3: the functions make their clients from botocore (functions/platform/aws.py), but
# Powertools' parameters and idempotency modules ``import boto3`` at their top and touch it
# only when handed no client (they are always handed one); boto3's __init__ imports
# s3transfer, ``multiprocessing`` and ``concurrent.futures`` (~10 ms). Any other use of it
# (``boto3.client``, ``boto3.DEFAULT_SESSION``: tests, the local bus) runs the real __init__.
DEFERRED = frozenset(
    {
        "aws_lambda_powertools.event_handler",
        "aws_lambda_powertools.utilities.data_classes",
        "asyncio",
        "phonenumbers",
        "importlib.metadata",
        "aws_lambda_powertools.utilities.parameters",
        "boto3",
    }
)
# phonenumbers' data package imports the alternate national formats of 46 country codes at
# import (one module each, ~4 ms of a first number typed in); only its text matcher reads them
# (``phonenumbermatcher``), never parse, validate or format: each loads when first read.
ALT_FORMATS = "phonenumbers.data.alt_format_"
# Functions a module imports by name (``from package import f``) but calls only sometimes:
# the stand-in hands out a function that runs the real ``__init__`` when first called.
# pydantic's plugin loader imports ``importlib.metadata.entry_points`` (importlib.metadata
# brings zipfile, csv, email's parser: ~10-15 ms of CPU, 40 under load) when the first model
# is built, and calls it only when plugins are enabled; functions/__init__.py disables them.
CALLED_LATER: dict[str, frozenset[str]] = {"importlib.metadata": frozenset({"entry_points"})}


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once); costs nothing until Powertools loads."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
