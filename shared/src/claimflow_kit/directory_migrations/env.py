"""Alembic environment of the tenant directory database."""

from claimflow_kit.directory import directory_metadata
from claimflow_kit.migrations import run_env

run_env([directory_metadata])
