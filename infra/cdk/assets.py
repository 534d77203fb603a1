"""Lambda code and layers, built on this machine without Docker.

A function's asset holds only what its handler can import from the repo (found by scanning
the bytecode, lazy imports included) and the data files of those packages (``catalog.json``,
templates). Third-party packages come from two layers
built from ``uv.lock`` for arm64 / Python 3.12 from wheels only: a base layer (everything but
boto3/botocore, which the runtime has, and twilio) and a Twilio layer for the functions with
``uses_twilio``. Code and layers carry their bytecode (``__pycache__``, compiled with
``--invalidation-mode unchecked-hash``): Lambda cannot write it, so without it every cold
start would compile what it imports. Layers are cached under
``infra/cdk/build/layers/<hash of requirements>``, so a repeated synth needs no network.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from modulefinder import ModuleFinder
from pathlib import Path

from functions import topology
from infra.cdk.constants import (
    BUILD_DIR,
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON,
    REPO_ROOT,
    RUNTIME_PROVIDED,
    TWILIO_PACKAGES,
)

# One fixed mtime (zip needs >= 1980) so an unchanged asset zips to the same bytes.
STABLE_MTIME = 315_705_600  # 1980-01-03
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "json")


def dir_size(path: Path) -> int:
    """Bytes in the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def zipped_size(path: Path) -> int:
    """Bytes of ``path`` as a deflated zip, as Lambda stores the asset."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, strict_timestamps=False) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            archive.write(file, file.relative_to(path))
    return buffer.tell()


DATA_SUFFIXES = {".json", ".html", ".j2", ".css", ".js", ".svg", ".ico", ".txt"}
_NOT_DATA = {"__pycache__", "dist", "node_modules", "json", "build", "cdk.out"}


def first_party_files(handler_module: str, root: Path = REPO_ROOT) -> set[Path]:
    """The repo's files a handler can import, found by scanning its bytecode (lazy imports too).

    Every module reached from the handler (only inside the repo: third-party imports resolve
    to the layers) plus the data files of the packages it touches (templates, catalog.json).
    """
    finder = ModuleFinder(path=[str(root)])
    finder.run_script(str(root / (handler_module.replace(".", "/") + ".py")))
    files: set[Path] = set()
    packages: set[Path] = set()
    for module in finder.modules.values():
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        path = Path(filename).resolve()
        if root.resolve() not in path.parents:
            continue
        files.add(path)
        packages.add(path.parent)
    for package in packages:
        for parent in [package, *package.parents]:  # every package on the way needs __init__
            if parent == root.resolve():
                break
            if (parent / "__init__.py").exists():
                files.add(parent / "__init__.py")
        for data in package.rglob("*"):
            relative = data.relative_to(package).parts
            if not data.is_file() or data.suffix not in DATA_SUFFIXES or _NOT_DATA & set(relative):
                continue
            inner = [package.joinpath(*relative[: i + 1]) for i in range(len(relative) - 1)]
            if any((d / "__init__.py").exists() for d in inner):
                continue  # another package's data: only if that package is imported itself
            files.add(data)
    return files


def compile_bytecode(path: Path, runs_at: str, strict: bool = True) -> bool:
    """Compile every module under ``path`` to ``__pycache__`` as Lambda's Python will load it.

    Lambda's ``/var/task`` and ``/opt`` are read-only, so Python can never cache bytecode
    there: without it every cold start compiles each module it imports (the bus's own and
    the layers'). ``unchecked-hash`` bytecode is used without looking at the source's mtime
    (the assets carry one fixed mtime) and is the same bytes on every build of the same
    source. Compiled only by a CPython of Lambda's version (bytecode is per minor version):
    False, and nothing written, on any other. ``strict``: a module that does not compile
    fails the build (the bus's own code; a layer may carry a file no import reaches).
    ``runs_at``: where Lambda puts the tree (``/var/task``, ``/opt``), the file names the
    bytecode records instead of this build folder's.
    """
    if f"{sys.version_info[0]}.{sys.version_info[1]}" != LAMBDA_PYTHON:
        return False
    # a fresh interpreter per tree, files in sorted order (compileall sorts): the marshalled
    # bytes do not depend on what this process compiled before
    subprocess.run(  # noqa: S603 - this interpreter, our own build folder
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j",
            "1",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(path),
            "-p",
            runs_at,
            str(path),
        ],
        check=strict,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    return True


def build_function(name: str, root: Path = REPO_ROOT, build_dir: Path = BUILD_DIR) -> Path:
    """Copy the first-party code and data the function's handler can reach into its folder,
    with its bytecode (:func:`compile_bytecode`)."""
    target = build_dir / "functions" / name
    if target.exists():
        shutil.rmtree(target)
    handler_module = topology.function(name).handler.rpartition(".")[0]
    base = root.resolve()
    for source in sorted(first_party_files(handler_module, root)):
        destination = target / source.relative_to(base)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    compile_bytecode(target, "/var/task")
    for path in target.rglob("*"):  # stable asset hashes: the zip carries mtimes
        os.utime(path, (STABLE_MTIME, STABLE_MTIME))
    return target


def _uv() -> str:
    for candidate in (os.environ.get("UV"), str(REPO_ROOT / ".tools" / "bin" / "uv")):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("uv")
    if not found:
        raise RuntimeError("uv is needed to build the Lambda layers: run `make test` once")
    return found


def _export(*prune: str) -> list[str]:
    """Pinned runtime requirements from uv.lock (no dev/infra groups), minus ``prune``."""
    args = [
        _uv(),
        "export",
        "--frozen",
        "--no-default-groups",
        "--no-hashes",
        "--no-emit-project",
        "--no-header",
        "--no-annotate",
    ]
    for package in prune:
        args += ["--prune", package]
    # our own uv with fixed arguments (package names come from our lock file)
    out = subprocess.run(  # noqa: S603
        args, cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout
    return sorted(line.strip() for line in out.splitlines() if line.strip())


@dataclass(frozen=True)
class LayerSpec:
    name: str
    requirements: tuple[str, ...]


def layer_specs() -> tuple[LayerSpec, LayerSpec]:
    """The base layer and the Twilio layer (only what twilio adds on top of the base)."""
    base = _export(*RUNTIME_PROVIDED, *TWILIO_PACKAGES)
    full = _export(*RUNTIME_PROVIDED)
    twilio = [r for r in full if r not in set(base)]
    return LayerSpec("base", tuple(base)), LayerSpec("twilio", tuple(twilio))


def build_layer(spec: LayerSpec, build_dir: Path = BUILD_DIR) -> Path:
    """pip-install the requirements for arm64 Python 3.12 into a cached layer folder."""
    digest = hashlib.sha256(
        "\n".join((LAMBDA_PLATFORM, LAMBDA_PYTHON, *spec.requirements)).encode()
    ).hexdigest()[:16]
    target = build_dir / "layers" / f"{spec.name}-{digest}"
    done = target.parent / f"{spec.name}-{digest}.complete"
    compiled = target.parent / f"{spec.name}-{digest}.compiled"
    if done.exists() and target.exists():
        if not compiled.exists():  # a layer cached before it was compiled: compile it once
            _compile_layer(target, compiled)
        return target
    if target.exists():
        shutil.rmtree(target)
    site = target / "python"
    site.mkdir(parents=True)
    requirements = target.parent / f"{spec.name}-{digest}.txt"
    requirements.write_text("\n".join(spec.requirements) + "\n")
    command = [
        _uv(),
        "pip",
        "install",
        "--quiet",
        "--no-deps",  # the export is already the whole pinned closure
        "--target",
        str(site),
        "--python-platform",
        LAMBDA_PLATFORM,
        "--python-version",
        LAMBDA_PYTHON,
        "--only-binary",
        ":all:",
        "--no-compile",
        "-r",
        str(requirements),
    ]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    # our uv, requirements pinned by our uv.lock; without a network, uv's wheel cache
    try:
        subprocess.run(command, cwd=REPO_ROOT, check=True, env=env)  # noqa: S603
    except subprocess.CalledProcessError:
        subprocess.run([*command, "--offline"], cwd=REPO_ROOT, check=True, env=env)  # noqa: S603
    for junk in list(site.rglob("__pycache__")):
        shutil.rmtree(junk, ignore_errors=True)
    done.write_text("ok\n")
    _compile_layer(target, compiled)
    return target


def _compile_layer(target: Path, marker: Path) -> None:
    """The layer's bytecode (:func:`compile_bytecode`), then its stable mtimes."""
    if compile_bytecode(target, "/opt", strict=False):
        marker.write_text("ok\n")
    for path in target.rglob("*"):
        os.utime(path, (STABLE_MTIME, STABLE_MTIME))
