"""Agencies: bearer keys, the read audit, webhook subscriptions and delivery, routing on the bus."""
