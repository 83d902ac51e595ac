"""Entry point of the `agentsync` command and of `python -m agentsync`."""

import sys
from collections.abc import Sequence

_STATUS_WORDS = frozenset({"status", "list", "ls"})


def entry(argv: Sequence[str]) -> None:
    """Answer from agentsync.fastpath when it can, else run the full command line; exits."""
    from agentsync.fastpath import keep_help, run_fast

    code = run_fast(argv)
    if code is None and _STATUS_WORDS.intersection(argv):
        from agentsync.fast_status import cached_status

        code = cached_status(argv)
    if code is None and "outdated" in argv:
        from agentsync.fast_outdated import up_to_date

        code = up_to_date(argv)
    if code is not None:
        sys.exit(code)
    from agentsync.cli import main
    from agentsync.fast_status import keep_status

    keep_help(argv, lambda: keep_status(argv, lambda: main(argv)))


def run() -> None:
    """Run the command; Ctrl-C while it loads ends as quietly as Ctrl-C later."""
    try:
        entry(sys.argv[1:])
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    run()
