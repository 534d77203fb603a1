"""Lambda SnapStart: what a snapshot may keep, and what each restored copy must make anew.

The citizen-facing functions start from a SnapStart snapshot in production
(``Function.snap_start`` in functions/topology.py; infra/cdk). Lambda runs their init once
per published version, snapshots the memory, and resumes every new execution environment of
that version from the same snapshot. So whatever init drew at random, opened or fetched is
shared by every copy, unless a runtime hook (the ``snapshot_restore_py`` library that Lambda's
Python runtimes include) makes it again:

* before the snapshot, :func:`prime` does the first invocation's work that is the same in
  every copy: the service catalog (data shipped with the code, checked by pydantic) and the
  DynamoDB client (botocore's service model, the larger part of a first call), so a restored
  copy answers without it;
* after each restore, :func:`refresh` re-seeds ``random`` (the SDK's retry jitter and ours
  draw from it: every copy would otherwise back off in step) and forgets everything
  :mod:`functions.platform.process` built, so each copy makes its own AWS clients (their
  connections were the snapshot's) and reads its own secrets and credentials. The catalog
  is read again too, cheaply: its validators were built before the snapshot.

References, tokens, idempotency keys and event ids come from ``secrets`` and ``uuid4``, the
operating system's randomness, which differs in every copy with no help. Without SnapStart
(other functions, other environments, the local bus) Lambda calls no hook and nothing here
runs but the registration.
"""

from __future__ import annotations


def prime() -> None:
    """Before the snapshot: build what every first invocation needs and every copy shares."""
    from functions.platform.catalog import get_catalog  # noqa: PLC0415 - only when Lambda snapshots
    from functions.platform.dynamo import Store  # noqa: PLC0415 - as above

    get_catalog()
    _ = Store().client  # the stores' client: botocore loads DynamoDB's model and endpoints


def refresh() -> None:
    """After a restore: this copy's own random state, clients, connections and secrets."""
    import random  # noqa: PLC0415 - only when Lambda restores

    from functions.platform import process  # noqa: PLC0415 - as above

    random.seed()  # from os.urandom, which differs in every restored copy
    process.reset()


def install() -> bool:
    """Register the hooks with Lambda's runtime; False where the library is absent (then
    nothing snapshots this process: the local bus, a machine without the dev tools)."""
    try:
        from snapshot_restore_py import (  # noqa: PLC0415 - in Lambda's runtime, not the asset
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False
    register_before_snapshot(prime)
    register_after_restore(refresh)
    return True
