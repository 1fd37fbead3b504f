"""The optional bearer token: read from a file or the environment, compared in constant time."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from foldwise.errors import FoldwiseError

TOKEN_ENV = "FOLDWISE_TOKEN"
MIN_TOKEN_CHARS = 16


def load_token(token_file: Path | None, environ: dict[str, str] | None = None) -> str | None:
    """The token from ``token_file`` if given, else ``$FOLDWISE_TOKEN``, else None (no auth)."""
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise FoldwiseError(
                f"--token-file {token_file}: cannot read ({exc.strerror})"
            ) from None
        source = f"--token-file {token_file}"
    elif env.get(TOKEN_ENV):
        token, source = env[TOKEN_ENV].strip(), f"${TOKEN_ENV}"
    else:
        return None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise FoldwiseError(
            f"{source}: the token must be at least {MIN_TOKEN_CHARS} characters without spaces"
        )
    return token


def check_bearer(header: str | None, token: str) -> str | None:
    """None if the Authorization header carries ``token``; else why not (for a 401)."""
    if not header:
        return "missing bearer token (send 'Authorization: Bearer <token>')"
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return "Authorization header must be 'Bearer <token>'"
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return "invalid bearer token"
    return None
