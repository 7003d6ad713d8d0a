"""Alembic environment of remit-svc."""

from claimflow_kit.migrations import run_env
from claimflow_kit.tables import kit_metadata
from remit_svc.adapters.tables import remit_metadata

run_env([kit_metadata, remit_metadata])
