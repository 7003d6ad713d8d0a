"""Root conftest: the shared fixtures apply to tests/, shared/tests and every service's tests."""

import os

import pytest

pytest_plugins = ["claimflow_kit.testing", "claimflow.testing"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long-running variants (``@pytest.mark.slow``) run only with CLAIMFLOW_LONG_TESTS=1."""
    if os.environ.get("CLAIMFLOW_LONG_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="long-running variant: set CLAIMFLOW_LONG_TESTS=1 to run it")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
