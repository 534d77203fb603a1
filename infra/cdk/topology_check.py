"""functions/topology.py checked against what the CDK app can build, before anything is built.

The CDK app keeps no setting keyed by a function's name: a function's permissions and reserved
concurrency are fields of its topology entry. What still names something (a table, a bucket, a
queue to send to, an authorizer function, a permission) is checked here, and the synth stops
with every problem listed instead of building a role without its grant, an orphan queue, or
failing deep inside CDK with a KeyError.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from functions import topology
from functions.domain.agencies.routing import function_queue
from functions.topology import Bucket, Function, Table
from infra.cdk.functions_construct import PERMISSIONS, SQS_SEND, effective_permissions, handles

BUILT_IN_AUTH = {"none", "jwt"}  # API Gateway's own: no authorizer function
# A new on-demand table's warm throughput; AWS never lowers it (DynamoDB developer guide,
# "Understanding DynamoDB warm throughput"), so a deadline day asks for more or nothing.
WARM_MIN_READS, WARM_MIN_WRITES = 12_000, 4_000


class TopologyError(ValueError):
    """The topology names something the CDK app cannot build."""


def consumed_queues(functions: Sequence[Function]) -> set[str]:
    """Local queue names some function reads (``{agency}`` left as it is)."""
    queues = {queue for fn in functions for queue in fn.queues}
    return queues | {function_queue(fn.name) for fn in functions if fn.subscribes}


def problems(
    functions: Sequence[Function] | None = None,
    tables: Sequence[Table] | None = None,
    buckets: Sequence[Bucket] | None = None,
    authorizers: Mapping[str, str] | None = None,
) -> list[str]:
    """Everything the CDK app cannot build as the topology says (the real one by default)."""
    functions = topology.FUNCTIONS if functions is None else functions
    tables = topology.TABLES if tables is None else tables
    buckets = topology.BUCKETS if buckets is None else buckets
    authorizers = topology.AUTHORIZERS if authorizers is None else authorizers
    found: list[str] = []
    names = Counter(fn.name for fn in functions)
    found += [f"function {name!r} is registered {n} times" for name, n in names.items() if n > 1]
    table_by_name = {table.name: table for table in tables}
    bucket_names = {bucket.name for bucket in buckets}
    consumed = consumed_queues(functions)
    for kind, name in authorizers.items():
        if name not in names:
            found.append(
                f"AUTHORIZERS[{kind!r}] names {name!r}, which is not a function of the topology"
            )
    vocabulary = ", ".join([*sorted(PERMISSIONS), f"{SQS_SEND}<queue>"])
    for fn in functions:
        where = f"{fn.name}:"
        for route in fn.routes:
            if route.auth not in BUILT_IN_AUTH and route.auth not in authorizers:
                found.append(
                    f"{where} {route.method} {route.path} has auth {route.auth!r}, "
                    "which no function of AUTHORIZERS serves"
                )
        for name in fn.tables:
            if name not in table_by_name:
                found.append(f"{where} table {name!r} is not in TABLES")
        if fn.stream is not None:
            table = table_by_name.get(fn.stream)
            if table is None:
                found.append(f"{where} stream {fn.stream!r} is not a table in TABLES")
            elif not table.stream:
                found.append(f"{where} stream {fn.stream!r}: that table has stream=False")
        for name in fn.buckets:
            if name not in bucket_names:
                found.append(f"{where} bucket {name!r} is not in BUCKETS")
        if fn.deadline_day_reserved_concurrency is not None and (
            fn.reserved_concurrency is None
            or fn.deadline_day_reserved_concurrency < fn.reserved_concurrency
        ):
            found.append(
                f"{where} deadline_day_reserved_concurrency raises reserved_concurrency for the "
                f"day: it needs one, and not a lower one ({fn.reserved_concurrency!r})"
            )
        for setting in (
            "reserved_concurrency",
            "deadline_day_reserved_concurrency",
            "schedule_minutes",
        ):
            value = getattr(fn, setting)
            if value is not None and (not isinstance(value, int) or value < 1):
                found.append(f"{where} {setting} must be a whole number >= 1, not {value!r}")
        for permission in effective_permissions(fn, authorizers):
            how = "" if permission in fn.permissions else " (implied by the function's shape)"
            if not handles(permission):
                found.append(
                    f"{where} unknown permission {permission!r}{how}: the grant code handles "
                    f"{vocabulary} (infra/cdk/functions_construct.py PERMISSIONS)"
                )
            elif permission.startswith(SQS_SEND):
                queue = permission.removeprefix(SQS_SEND)
                if queue not in consumed:
                    found.append(
                        f"{where} permission {permission!r} names a queue no function of the "
                        f"topology consumes (consumed: {', '.join(sorted(consumed)) or 'none'})"
                    )
    found += deadline_day_problems(table_by_name)
    return found


def deadline_day_problems(tables: Mapping[str, Table]) -> list[str]:
    """The deadline-day figures (topology.DEADLINE_DAY_*) name what exists, within AWS's range."""
    found: list[str] = []
    for cls in topology.DEADLINE_DAY_THROTTLES:
        if cls not in topology.THROTTLES:
            found.append(f"DEADLINE_DAY_THROTTLES[{cls!r}]: not a throttle class of THROTTLES")
    for name, (reads, writes) in topology.DEADLINE_DAY_WARM_THROUGHPUT.items():
        if name not in tables:
            found.append(f"DEADLINE_DAY_WARM_THROUGHPUT[{name!r}]: not a table in TABLES")
        # a table's warm throughput starts at what a new on-demand table has
        if reads < WARM_MIN_READS or writes < WARM_MIN_WRITES:
            found.append(
                f"DEADLINE_DAY_WARM_THROUGHPUT[{name!r}]: at least {WARM_MIN_READS} read and "
                f"{WARM_MIN_WRITES} write units per second, not {reads}/{writes}"
            )
    return found


def check_topology(
    functions: Sequence[Function] | None = None,
    tables: Sequence[Table] | None = None,
    buckets: Sequence[Bucket] | None = None,
    authorizers: Mapping[str, str] | None = None,
) -> None:
    """Raise TopologyError listing every problem (see ``problems``); the stack calls this first."""
    found = problems(functions, tables, buckets, authorizers)
    if found:
        listed = "\n".join(f"  - {problem}" for problem in found)
        raise TopologyError(f"functions/topology.py: the CDK app cannot build this:\n{listed}")
