"""The tail every service's `__main__` shares: parse its arguments, run it, exit with its code."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def run_command(prog: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                run: Callable[[argparse.Namespace], int], argv: list[str] | None = None) -> int:
    """`python -m services.X` does what `pulse X` does (services/cli.py builds the same parser)."""
    parser = argparse.ArgumentParser(prog=prog)
    add_arguments(parser)
    return run(parser.parse_args(argv))
