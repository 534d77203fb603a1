"""Room on CPython's frame stack for a handler's call (python/cpython#142183, Python 3.12).

CPython keeps the locals and evaluation stack of Python frames on a per-thread stack of
chunks (16 KB each by default). On 3.12, the runtime Lambda gives these functions, a chunk is
unmapped as soon as the frame that opened it returns: a hot call made at a chunk's edge maps
and unmaps a chunk, and faults its pages in again, on every call. Where the edges fall depends
on every frame below, so any function can land on one: measured with ``strace`` in
``make bench``'s cold starts, the e-service's first call made 1,572-6,042 such ``mmap`` calls
(15-35 ms of system time and page faults), app_api's 832-1,238, sms's 620-1,529, depending on
nothing but how deep the runtime called it. CPython 3.13 and later keep a spare chunk per thread
and need none of this (the fix was not backported to 3.12).

:func:`with_room` gives a wrapper's frame a large evaluation stack (``co_stacksize``; it is
never initialized, so its pages are never touched): the wrapper's frame cannot fit in the chunk
it is called from, so CPython maps a chunk for it with ~70 KB to spare after it (``SLOTS``),
and everything the handler calls runs in that room (one map and unmap per call instead of
thousands). ``gc_init.after_first_call`` runs each handler's first invocation (the cold start)
in such a frame; warm invocations skip it (mapping the chunk costs ~8 µs a call). Only the
code object's stack size changes; nothing is imported (the health check uses it too).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: health imports no typing at all
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# CPython maps a chunk of 16 KB doubled until it holds the frame plus 1,000 slots of 8 bytes
# (pystate.c, push_chunk): a frame of 7,200 slots takes a 128 KB chunk and leaves ~70 KB
# (~9,000 slots: a few hundred frames deep) after it.
SLOTS = 7_200
FIXED = sys.version_info >= (3, 13)


def with_room[F: Callable[..., Any]](wrapper: F) -> F:
    """``wrapper`` with a frame that opens a chunk of its own, where CPython needs it."""
    if FIXED:
        return wrapper
    code = wrapper.__code__
    wrapper.__code__ = code.replace(co_stacksize=code.co_stacksize + SLOTS)
    return wrapper
