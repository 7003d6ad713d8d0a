"""Unit-test fixtures: the real ICD-10-CM years and the demo tables, loaded once per session."""

from __future__ import annotations

from functools import cache

import pytest

from coding_svc.codesets.demo import load_demo_registry
from coding_svc.codesets.registry import CodeSetRegistry


@cache
def _registry() -> CodeSetRegistry:
    return load_demo_registry()


@pytest.fixture(scope="session")
def registry() -> CodeSetRegistry:
    return _registry()
