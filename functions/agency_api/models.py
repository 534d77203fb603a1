"""The agency API's bodies live in :mod:`schemas.agency`, with the other wire models.

Re-exported here only until ``handler.py`` imports them from ``schemas.agency``; then this
module goes.
"""

from __future__ import annotations

from schemas.agency import StatusUpdateBody, SubscriptionBody

__all__ = ["StatusUpdateBody", "SubscriptionBody"]
