"""Alembic environment of coding-svc."""

from claimflow_kit.migrations import run_env
from claimflow_kit.tables import kit_metadata
from coding_svc.adapters.tables import coding_metadata

run_env([kit_metadata, coding_metadata])
