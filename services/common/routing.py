"""Routes a tweet to the targets (candidates) it is about, and their parties, from a TOML config."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from services.common.schemas import Route

DEFAULT_CONFIG = "routing.toml"


class RoutingConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TargetRule:
    name: str
    party: str
    pattern: re.Pattern[str]


def _compile(terms: list[str]) -> re.Pattern[str]:
    # Longest first so "donald trump" wins over "trump" in the alternation; boundaries are "not a word char".
    alts = "|".join(re.escape(t.strip().lower()) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.IGNORECASE)


class Router:
    def __init__(self, rules: list[TargetRule]) -> None:
        if not rules:
            raise RoutingConfigError("routing config has no targets")
        self.rules = rules

    @property
    def parties(self) -> list[str]:
        return sorted({r.party for r in self.rules})

    @property
    def targets(self) -> dict[str, str]:
        """target name → party"""
        return {r.name: r.party for r in self.rules}

    def route(self, text: str) -> list[Route]:
        return [Route(target=r.name, party=r.party) for r in self.rules if r.pattern.search(text)]

    @classmethod
    def from_toml(cls, text: str, source: str = "<config>") -> Router:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RoutingConfigError(f"{source}: {exc}") from exc
        rules = []
        for i, t in enumerate(data.get("target", [])):
            name, party, terms = t.get("name"), t.get("party"), t.get("terms")
            if not isinstance(name, str) or not isinstance(party, str) or not terms:
                raise RoutingConfigError(f"{source}: target #{i + 1} needs name, party and a non-empty terms list")
            if not all(isinstance(x, str) and x.strip() for x in terms):
                raise RoutingConfigError(f"{source}: target {name!r} has an empty or non-string term")
            rules.append(TargetRule(name=name, party=party, pattern=_compile(terms)))
        return cls(rules)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Router:
        if path:
            return cls.from_toml(Path(path).read_text(encoding="utf-8"), str(path))
        text = resources.files("services.common").joinpath(DEFAULT_CONFIG).read_text(encoding="utf-8")
        return cls.from_toml(text, DEFAULT_CONFIG)
