"""Entry point of the `agentsync` command and of `python -m agentsync`."""

import sys


def run() -> None:
    """Load the CLI and run it; Ctrl-C while it loads ends as quietly as Ctrl-C later."""
    try:
        from agentsync.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
