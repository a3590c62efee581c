"""``python -m tenderwatch`` runs the command-line interface."""

from tenderwatch.cli import main

main()
