"""Alembic environment of eligibility-svc."""

from claimflow_kit.migrations import run_env
from claimflow_kit.tables import kit_metadata
from eligibility_svc.adapters.tables import eligibility_metadata

run_env([kit_metadata, eligibility_metadata])
