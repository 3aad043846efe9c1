"""How strong a bearer token must be: one rule for every token the services accept (ingest's, reviewers')."""

from __future__ import annotations

MIN_TOKEN_CHARS = 16
MIN_TOKEN_DISTINCT = 8
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def weak_token_reason(token: str) -> str | None:
    """Why a bearer token is too weak to guard an endpoint, or None. Length alone is not strength:
    "aaaaaaaaaaaaaaaa" or "1234123412341234" pass a length check and fall to the first guesses."""
    if len(token) < MIN_TOKEN_CHARS:
        return f"must be at least {MIN_TOKEN_CHARS} characters"
    if len(set(token)) < MIN_TOKEN_DISTINCT:
        return f"must use at least {MIN_TOKEN_DISTINCT} different characters"
    return None
