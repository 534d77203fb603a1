"""The citizen's verdict on a resolved request: one question, one answer, no personal data."""
