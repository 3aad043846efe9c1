"""The README's settings table, kept from the settings classes: every variable a service reads has a row, every
row names variables that exist, and the defaults column is written from the classes' defaults (declared once, in
code). The meaning column is prose, kept by hand.

    python -m services.dev.settings_doc            exits 1 and says what differs when the README is stale
    python -m services.dev.settings_doc --write    rewrites the defaults column

A row may name several variables, `PULSE_INGEST_LIVE_BACKOFF_INITIAL_S`, `_BACKOFF_MAX_S`: a name starting with `_`
replaces the tail of the row's first one.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from services.aggregate.settings import AggregateSettings
from services.api.settings import ApiSettings
from services.common.settings import KafkaSettings, RedisSettings, RoutingSettings
from services.dev.settings import UpSettings
from services.infer.settings import InferSettings
from services.ingest.settings import BlueskySettings, IngestSettings, LiveSettings, MastodonSettings, XSettings

README = Path(__file__).resolve().parents[2] / "README.md"
CLASSES: list[type[BaseSettings]] = [KafkaSettings, RedisSettings, RoutingSettings, IngestSettings, LiveSettings,
                                     BlueskySettings, MastodonSettings, XSettings, InferSettings, AggregateSettings,
                                     ApiSettings, UpSettings]
SECTION = ("## Settings", "## Metrics")
UNITS_S = ((86_400, "d"), (3600, "h"), (60, "min"))
UNITS_BYTES = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


def defaults() -> dict[str, Any]:
    """Every variable the services read → its default."""
    out: dict[str, Any] = {}
    for cls in CLASSES:
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            out[f"{prefix}{name}".upper()] = field.get_default(call_default_factory=True)
    return out


def _scaled(value: float, units: tuple[tuple[int, str], ...]) -> str:
    for size, unit in units:
        if value >= size and value % size == 0:
            return f" ({value / size:g} {unit})"
    return ""


def render(variable: str, value: Any) -> str:
    """A default as the table shows it: `value`, with a readable unit for long durations and large sizes."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or value == "" or value == []:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | tuple):
        return f"`{','.join(str(v) for v in value)}`"
    if isinstance(value, int | float):
        text = f"`{value:g}`" if isinstance(value, float) else f"`{value}`"
        if variable.endswith("_S"):
            text += _scaled(value, UNITS_S)
        elif variable.endswith("_BYTES"):
            text += _scaled(value, UNITS_BYTES)
        return text
    return f"`{value}`"


def row_variables(first_cell: str, known: set[str]) -> list[str]:
    """The variables a row names, its `_TAIL` shorthands expanded; a name that resolves to nothing stays as is."""
    tokens = re.findall(r"`([A-Z_][A-Z0-9_]*)`", first_cell)
    out = []
    for token in tokens:
        if token.startswith("_"):
            parts = tokens[0].split("_")
            candidates = ["_".join(parts[:i]) + token for i in range(len(parts) - 1, 0, -1)]
            token = next((c for c in candidates if c in known), token)
        out.append(token)
    return out


def table_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line index, cells) of every row of the settings table."""
    lines = text.splitlines()
    start, end = (next(i for i, line in enumerate(lines) if line.startswith(h)) for h in SECTION)
    return [(i, lines[i].split("|")) for i in range(start, end) if lines[i].startswith("| `")]


def rewrite(text: str) -> str:
    """`text` with every row's defaults column written from the classes."""
    known = defaults()
    lines = text.splitlines(keepends=True)
    for i, cells in table_rows(text):
        variables = row_variables(cells[1], set(known))
        if all(v in known for v in variables):
            cells[2] = " " + ", ".join(render(v, known[v]) for v in variables) + " "
            lines[i] = "|".join(cells) + ("\n" if lines[i].endswith("\n") else "")
    return "".join(lines)


def documented(text: str) -> tuple[set[str], list[str]]:
    """(the variables the table names, the names in it that resolve to no variable)."""
    known = set(defaults())
    names: set[str] = set()
    unknown: list[str] = []
    for _, cells in table_rows(text):
        for variable in row_variables(cells[1], known):
            (names.add if variable in known else unknown.append)(variable)
    return names, unknown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite the README's defaults column")
    args = parser.parse_args(argv)
    text = README.read_text()
    fresh = rewrite(text)
    if args.write:
        README.write_text(fresh)
        return 0
    if fresh != text:
        stale = [line for line in fresh.splitlines() if line not in text.splitlines()]
        print("README settings defaults differ from the code; run python -m services.dev.settings_doc --write:",
              *stale, sep="\n", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
