"""Keyed pseudonyms for participant and app-user ids (HMAC-SHA256 with a local secret key).

``pseudonym = hmac_sha256(key, normalised_id).hexdigest()[:length]``. Without the key nobody can
recompute a pseudonym from a known id (the old scheme, SHA-256 of a *committed* salt and the id,
could be reversed from the public FedCycle file in seconds). The key lives in
``conf/local/credentials.yml`` (git-ignored) under ``pseudonymisation.hmac_key``; it is created
with 32 random bytes on first use (:func:`load_or_create_key`) and reaches the first node of each
input through the ``pseudonym_key`` dataset (:class:`cycle_kedro.datasets.secrets.PseudonymKeyDataset`),
never as a ``params:`` input, so kedro-mlflow never logs it. :class:`PseudonymKey` hides the value
in ``repr``/``str`` so it cannot leak into a log line either.

What pseudonymisation does *not* do: the tables still hold each person's real cycle lengths, so a
sequence of cycle lengths (or start dates) can be matched against the public FedCycle file or
against a person's own app history; anyone holding the key (or the optional local lookup table)
can map pseudonyms back; pseudonyms change when the key changes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

logger = logging.getLogger(__name__)

CREDENTIALS_KEY = "pseudonymisation"
KEY_FIELD = "hmac_key"
MIN_KEY_CHARS = 32


class PseudonymKey:
    """A secret HMAC key whose value never appears in ``repr``, ``str`` or a pickle-free log."""

    __slots__ = ("_key",)

    def __init__(self, key: str | bytes) -> None:
        raw = key.encode() if isinstance(key, str) else bytes(key)
        if len(raw) < MIN_KEY_CHARS // 2:
            raise ValueError(
                f"the pseudonymisation key is too short ({len(raw)} bytes; use at least "
                f"{MIN_KEY_CHARS // 2}): delete it from conf/local/credentials.yml to get a new one"
            )
        self._key = raw

    def __repr__(self) -> str:
        return "PseudonymKey(<secret>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PseudonymKey) and hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(hmac.new(self._key, b"hash", hashlib.sha256).hexdigest())

    def pseudonym(self, normalised_id: str, length: int = 12) -> str:
        """HMAC-SHA256 of the (already normalised) id, as ``length`` hex digits."""
        return hmac.new(self._key, normalised_id.encode(), hashlib.sha256).hexdigest()[:length]


def normalise_id(raw: object) -> str:
    """The id compared between rows: text with surrounding whitespace removed (case is kept)."""
    return str(raw).strip()


def pseudonymise(ids: pd.Series, key: PseudonymKey, length: int = 12) -> pd.Series:
    """Pseudonymise a column of (normalised) ids; each distinct id is hashed once.

    Raises ``ValueError`` if two different ids get the same pseudonym (never seen; it would need
    a longer ``length``).
    """
    codes, uniques = pd.factorize(ids)
    mapped = np.array([key.pseudonym(str(u), length) for u in uniques], dtype=object)
    if len(set(mapped)) != len(mapped):
        raise ValueError(f"two ids share a {length}-digit pseudonym: use a longer pseudonym")
    out = np.empty(len(ids), dtype=object)
    valid = codes >= 0
    out[valid] = mapped[codes[valid]]
    out[~valid] = None
    return pd.Series(out, index=ids.index, dtype=object)


def hash_id(raw: object, salt: str) -> str:
    """A public 12-hex-digit *label* for a generated (synthetic) id: SHA-256 of ``salt:raw``.

    Not a pseudonym: anyone can recompute it (generated people need no secret). Real participant
    ids go through the keyed HMAC of :class:`PseudonymKey` instead.
    """
    return hashlib.sha256(f"{salt}:{raw}".encode()).hexdigest()[:12]


def load_or_create_key(path: str | os.PathLike) -> PseudonymKey:
    """Read ``pseudonymisation.hmac_key`` from ``path``; create the file or the entry if absent.

    A new key is 32 random bytes (64 hex digits) appended to the file (other entries untouched);
    the file is made readable by its owner only. The key itself is never logged.
    """
    path = Path(path)
    content = {}
    if path.is_file():
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(content, dict):
            raise ValueError(f"{path}: expected a YAML mapping of credentials")
    entry = content.get(CREDENTIALS_KEY) or {}
    key = entry.get(KEY_FIELD) if isinstance(entry, dict) else None
    if key:
        return PseudonymKey(str(key))
    if CREDENTIALS_KEY in content:
        raise ValueError(
            f"{path}: '{CREDENTIALS_KEY}' has no '{KEY_FIELD}'; remove the entry to get a new key"
        )
    new = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    block = (
        "\n# Secret key of the HMAC pseudonyms (cycle_kedro.pseudonyms). Never commit or share it;\n"
        "# changing it changes every pseudonym.\n"
        f"{CREDENTIALS_KEY}:\n  {KEY_FIELD}: {new}\n"
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write(block)
    os.chmod(path, 0o600)
    logger.warning("Created a new pseudonymisation key in %s (keep it private)", path)
    return PseudonymKey(new)


def content_order(
    df: pd.DataFrame, id_col: str, columns: list[str], sort_by: list[str] | None = None
) -> np.ndarray:
    """The ids of ``df`` in an order fixed by each id's *data*, not by its pseudonym.

    Pseudonyms change with the key (every install has its own), so anything seeded that walks over
    ids (fold assignment, sampling) must start from an order that does not depend on them: the ids
    sorted by a SHA-256 digest of their ``columns`` (rows in ``sort_by`` order). Ids with identical
    data are interchangeable, so their relative order does not matter.
    """
    rows = df.sort_values(sort_by or [id_col], kind="stable")
    values = rows[columns].astype(str).agg("\x1f".join, axis=1)
    digest = values.groupby(rows[id_col], sort=True).agg(
        lambda v: hashlib.sha256("\x1e".join(v).encode()).hexdigest()
    )
    return digest.sort_values(kind="stable").index.to_numpy()
