"""The tail every service's `__main__` shares: parse its arguments, run it, exit with its code; and the boundary
that turns what an operator can fix (a missing file, a folder that is not a bundle, an unreachable broker, a
malformed setting) into one line on stderr and exit status 2, not a traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from kafka.errors import KafkaTimeoutError
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from models.runtime.bundle import BundleError

log = logging.getLogger(__name__)

EXIT_USAGE = 2


class CommandError(Exception):
    """A misuse or an unmet precondition the operator can fix; its message is the whole explanation."""


def require_input_file(path: str) -> None:
    """Checks a file to be read before anything starts ('-' is standard input)."""
    if path == "-":
        return
    file = Path(path)
    if not file.exists():
        raise CommandError(f"{path}: no such file")
    if not file.is_file():
        raise CommandError(f"{path}: not a file")
    if not os.access(file, os.R_OK):
        raise CommandError(f"{path}: not readable")


def explain(exc: BaseException) -> str | None:
    """The one line for an error an operator can fix; None for anything else (a bug: let its traceback show)."""
    if isinstance(exc, CommandError | BundleError):
        return str(exc)
    if isinstance(exc, KafkaTimeoutError) and "bootstrap" in str(exc):
        return f"cannot reach the Kafka broker ({exc}): is it running, and is PULSE_KAFKA_BOOTSTRAP right?"
    if isinstance(exc, ValidationError) and (prefix := _env_prefix(exc.title)) is not None:
        first = exc.errors(include_input=False)[0]  # the value itself is never shown: it may be a secret
        return f"{prefix}{str(first['loc'][0]).upper()}: {first['msg']}"
    return None


def _env_prefix(title: str) -> str | None:
    """The environment prefix of the settings class named `title`; None when no settings class has that name."""
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        if cls.__name__ == title:
            return str(cls.model_config.get("env_prefix", ""))
        pending += cls.__subclasses__()
    return None


def guarded(prog: str, run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return run(args)
    except Exception as exc:
        message = explain(exc)
        if message is None:
            raise
        print(f"{prog}: {message}", file=sys.stderr)  # noqa: T201 (the message is the command's output)
        return EXIT_USAGE


def run_command(prog: str, add_arguments: Callable[[argparse.ArgumentParser], None],
                run: Callable[[argparse.Namespace], int], argv: list[str] | None = None) -> int:
    """`python -m services.X` does what `pulse X` does (services/cli.py builds the same parser)."""
    parser = argparse.ArgumentParser(prog=prog)
    add_arguments(parser)
    return guarded(prog, run, parser.parse_args(argv))
