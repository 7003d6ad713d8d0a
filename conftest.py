"""Root conftest: the shared fixtures apply to tests/, shared/tests and every service's tests."""

pytest_plugins = ["claimflow_kit.testing", "claimflow.testing"]
