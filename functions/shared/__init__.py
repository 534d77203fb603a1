"""First-party code every function imports: settings, observability, data access, intake."""
