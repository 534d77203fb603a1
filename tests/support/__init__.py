"""What tests share: the one place a test imports a helper from.

Test modules import helpers from ``tests.support`` only, never from another test module or a
``conftest.py`` (``tests/test_layout.py`` checks); the conftest files keep the fixtures and
hooks, which may use these helpers too.
"""
