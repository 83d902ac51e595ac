"""Entry point for `python -m agentsync`."""

from agentsync.cli import main

main()
