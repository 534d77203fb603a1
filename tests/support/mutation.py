"""``make mutate``: mutation testing (mutmut) over the trust code listed in tests/mutation.toml.

Runs mutmut with the table's modules as the only ones mutated and the union of their test
selections as the tests, then prints the score per module and overall, the survivors (marking
those the table judges harmless) and how long it took. Exit status 1 when the overall score is
below the table's ``min_score``. ``--keep`` reuses ``mutants/`` (mutmut's incremental cache)
instead of starting afresh; ``--max-children N`` sets the parallel workers.

The rest of mutmut's configuration (what it copies, the pytest flags) is ``[tool.mutmut]`` in
pyproject.toml; ``mutmut show NAME`` prints a mutant's diff, ``mutmut browse`` all of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "tests" / "mutation.toml"
KILLED = frozenset({"killed", "timeout", "caught by type check"})
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
STATUS |= {35: "suspicious", 36: "timeout", 37: "caught by type check"}
STATUS |= {-24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout"}


@dataclass(frozen=True)
class Module:
    path: str
    rule: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()  # the rule's functions; none listed: the whole module

    @property
    def dotted(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")

    def prefixes(self) -> list[str]:
        """The mutant-name prefixes of the rule's functions (``Class.method`` for a method)."""
        names = ["ǁ".join(("x", *f.split("."))) if "." in f else f"x_{f}" for f in self.functions]
        return [f"{self.dotted}.{name}__mutmut_" for name in names]

    def counts(self, mutant: str) -> bool:
        return not self.functions or mutant.startswith(tuple(self.prefixes()))


@dataclass(frozen=True)
class Table:
    modules: tuple[Module, ...]
    min_score: float
    harmless: dict[str, str]

    @property
    def tests(self) -> list[str]:
        return sorted({t for m in self.modules for t in m.tests})


def load_table(path: Path = TABLE) -> Table:
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    modules = tuple(
        Module(
            str(m["path"]),
            str(m.get("rule", "")),
            tuple(m["tests"]),
            tuple(m.get("functions", ())),
        )
        for m in data["module"]
    )
    for module in modules:
        missing = [p for p in (module.path, *module.tests) if not (ROOT / p).exists()]
        if missing:
            raise SystemExit(f"{path.name}: no such file: {', '.join(missing)}")
    return Table(modules, float(data.get("min_score", 90)), dict(data.get("harmless", {})))


def status_of(exit_code: int | None) -> str:
    return "not checked" if exit_code is None else STATUS.get(exit_code, "suspicious")


def results(module: Module) -> dict[str, str]:
    """mutant name → status, from the run's ``mutants/<path>.meta``."""
    meta = ROOT / "mutants" / f"{module.path}.meta"
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_of(code) for name, code in codes.items() if module.counts(name)}


def score(statuses: dict[str, str]) -> float:
    killed = sum(s in KILLED for s in statuses.values())
    return 100.0 * killed / len(statuses) if statuses else 100.0


def report(table: Table, seconds: float | None = None) -> bool:
    """Print the score per module and overall; True when the overall score is high enough."""
    everything: dict[str, str] = {}
    print(f"\n{'module':<44} {'mutants':>7} {'killed':>7} {'survived':>8} {'score':>7}")
    for module in table.modules:
        statuses = results(module)
        everything |= statuses
        killed = sum(s in KILLED for s in statuses.values())
        print(
            f"{module.path:<44} {len(statuses):>7} {killed:>7} {len(statuses) - killed:>8}"
            f" {score(statuses):>6.1f}%"
        )
    total_killed = sum(s in KILLED for s in everything.values())
    overall = score(everything)
    print(
        f"{'overall':<44} {len(everything):>7} {total_killed:>7}"
        f" {len(everything) - total_killed:>8} {overall:>6.1f}%"
    )
    survivors = sorted(n for n, s in everything.items() if s not in KILLED)
    if survivors:
        print("\nsurvivors (mutmut show NAME prints the diff):")
        for name in survivors:
            why = table.harmless.get(name)
            mark = f"harmless: {why}" if why else "NOT EXPLAINED"
            print(f"  {name} [{everything[name]}] {mark}")
    counts = Counter(everything.values())
    print("\nstatuses: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if seconds is not None:
        print(f"took {seconds:.0f} s")
    ok = overall >= table.min_score and bool(everything)
    print(f"mutation score {overall:.1f}% (floor {table.min_score:.0f}%): {'ok' if ok else 'LOW'}")
    return ok


def run_mutmut(table: Table, max_children: int) -> None:
    """mutmut run, with the table's modules and tests in place of its own configuration
    (mutmut is imported here: it is in the ``mutate`` dependency group only)."""
    from mutmut import configuration
    from mutmut.__main__ import cli

    configuration._config = dataclasses.replace(
        configuration.config(),
        only_mutate=[m.path for m in table.modules],
        pytest_add_cli_args_test_selection=table.tests,
    )
    # Only the rules' functions: a module that lists none has all its mutants run.
    names = [f"{prefix}*" for m in table.modules for prefix in m.prefixes()]
    names += [f"{m.dotted}.*" for m in table.modules if not m.functions]
    try:
        cli(["run", "--max-children", str(max_children), *names], standalone_mode=False)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make mutate", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="reuse mutants/ (incremental)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--report", action="store_true", help="only print the last results")
    args = parser.parse_args(argv)
    table = load_table()
    os.chdir(ROOT)
    if args.report:
        return 0 if report(table) else 1
    if not args.keep:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    started = time.monotonic()
    run_mutmut(table, args.max_children)
    return 0 if report(table, time.monotonic() - started) else 1


if __name__ == "__main__":
    sys.exit(main())
