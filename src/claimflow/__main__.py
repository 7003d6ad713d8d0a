"""``python -m claimflow`` runs the CLI."""

from claimflow.cli import main

main()
