"""Citizens: identity and pseudonyms, consent, preferences, conversations, message
statuses, erasure."""
