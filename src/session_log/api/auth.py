"""API tokens: each token stands for one party (and optionally only some projects).

Tokens come from a JSON file (``<data dir>/tokens.json`` by default, or
``SESSION_LOG_TOKENS_FILE``)::

    {"tokens": {"3f9c...": {"party": "rui", "projects": ["moonlit"]},
                "a81d...": {"party": "lena"}}}

and from the environment, ``SESSION_LOG_TOKENS="3f9c...=rui,a81d...=lena@moonlit"``
(``token=party`` or ``token=party@project``). A party id is the party's id in the
project (``rui``), so a token without ``projects`` acts as that id in every project.
The HTTP API sets a command's actor from the token: a client never chooses it.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Principal", "TokenBook", "issue_token"]

TOKEN_ENV = "SESSION_LOG_TOKENS"
TOKEN_FILE_ENV = "SESSION_LOG_TOKENS_FILE"


@dataclass(frozen=True)
class Principal:
    """Who a token stands for."""

    party: str
    projects: frozenset[str] | None = None
    """Projects the token may act in (None: any)."""

    def may_act_in(self, project: str) -> bool:
        return self.projects is None or project in self.projects


@dataclass
class TokenBook:
    """Tokens -> principals, from a file and the environment (reloaded on change)."""

    path: Path | None = None
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    _mtime: float = -1.0
    _from_file: dict[str, Principal] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        override = self.env.get(TOKEN_FILE_ENV)
        if override:
            self.path = Path(override)

    def _file_tokens(self) -> dict[str, Principal]:
        if self.path is None:
            return {}
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                self._from_file, self._mtime = {}, -1.0
                return {}
            if mtime != self._mtime:
                self._from_file = _parse_file(self.path)
                self._mtime = mtime
            return self._from_file

    def _env_tokens(self) -> dict[str, Principal]:
        found: dict[str, Principal] = {}
        for entry in self.env.get(TOKEN_ENV, "").split(","):
            token, _, who = entry.strip().partition("=")
            if not token or not who:
                continue
            party, _, project = who.partition("@")
            found[token] = Principal(party, frozenset({project}) if project else None)
        return found

    def lookup(self, token: str | None) -> Principal | None:
        """The principal of ``token``, or None for an unknown or empty token."""
        if not token:
            return None
        tokens = {**self._file_tokens(), **self._env_tokens()}
        for known, principal in tokens.items():
            if secrets.compare_digest(known.encode(), token.encode()):
                return principal
        return None

    def all(self) -> dict[str, Principal]:
        return {**self._file_tokens(), **self._env_tokens()}


def _parse_file(path: Path) -> dict[str, Principal]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    tokens = data.get("tokens", {}) if isinstance(data, dict) else {}
    found: dict[str, Principal] = {}
    for token, entry in tokens.items():
        if isinstance(entry, str):
            found[token] = Principal(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("party"), str):
            projects = entry.get("projects")
            found[token] = Principal(
                entry["party"],
                frozenset(str(p) for p in projects)
                if isinstance(projects, list)
                else None,
            )
    return found


def issue_token(path: Path, party: str, projects: list[str] | None = None) -> str:
    """Add a new random token for ``party`` to the token file; return it.

    An existing token of the same party and projects is returned instead.
    """
    data: dict[str, dict[str, Any]] = {"tokens": {}}
    if path.exists():
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict) and isinstance(loaded.get("tokens"), dict):
            data = loaded
    wanted = sorted(projects) if projects else None
    for token, known in data["tokens"].items():
        if isinstance(known, dict) and known.get("party") == party:
            have = known.get("projects")
            if (sorted(have) if isinstance(have, list) else None) == wanted:
                return token
    token = secrets.token_urlsafe(24)
    entry: dict[str, object] = {"party": party}
    if wanted:
        entry["projects"] = wanted
    data["tokens"][token] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    path.chmod(0o600)
    return token
