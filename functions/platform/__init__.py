"""Platform: what every function needs and no domain owns (AWS clients, settings, clock,
observability, HTTP helpers, the event publisher, wire formats)."""
