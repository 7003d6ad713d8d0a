"""Alembic environment of claims-svc."""

from claimflow_kit.migrations import run_env
from claimflow_kit.tables import kit_metadata
from claims_svc.adapters.tables import claims_metadata

run_env([kit_metadata, claims_metadata])
