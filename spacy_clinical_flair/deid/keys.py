"""The de-identification key: where it comes from, and the keyed hashes derived from it.

The key is never part of a pipeline, a config or an output: it comes from an environment variable or a file
the user names. With a key, every choice (a surrogate, a hash, a patient's date shift) is an HMAC-SHA256 of the
key and what it is for, so the same key gives the same choices in every run and every worker process, and
nobody without the key can recompute them (surrogates drawn from a public seed could be reversed by trying
candidate names). Without a key, a random one is drawn per process: choices are consistent within a run only.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

#: The environment variable read for the key unless another is named.
DEFAULT_KEY_ENV = "CLINICAL_FLAIR_DEID_KEY"
#: The shortest key accepted, in bytes.
MIN_KEY_BYTES = 16


class DeidKeyError(ValueError):
    """The key is missing where an operator needs one, or unreadable, or too short."""


@dataclass(frozen=True)
class DeidKey:
    """A secret for keyed hashes; ``given`` says whether the user supplied it (``False``: drawn at random)."""

    secret: bytes
    given: bool

    def digest(self, *parts: str) -> bytes:
        """HMAC-SHA256 of the parts (joined with NUL, so that ("ab", "c") and ("a", "bc") differ)."""
        return hmac.new(self.secret, "\0".join(parts).encode("utf-8"), hashlib.sha256).digest()

    def number(self, *parts: str) -> int:
        """A 64-bit number derived from the parts (a seed for random choices)."""
        return int.from_bytes(self.digest(*parts)[:8], "big")


def load_key(env: Optional[str] = DEFAULT_KEY_ENV, file: Union[str, Path, None] = None) -> Optional[DeidKey]:
    """The key from ``file`` (its bytes, surrounding whitespace stripped) if given, else from the environment
    variable ``env`` if it is set; ``None`` when neither has one. Raises :class:`DeidKeyError` when the file
    cannot be read or the key is shorter than :data:`MIN_KEY_BYTES`."""
    if file is not None:
        try:
            secret = Path(file).read_bytes().strip()
        except OSError as err:
            raise DeidKeyError(f"cannot read the de-identification key file {str(file)!r}: {err}") from err
        source = f"key file {str(file)!r}"
    elif env and os.environ.get(env):
        secret, source = os.environ[env].encode("utf-8"), f"environment variable {env}"
    else:
        return None
    if len(secret) < MIN_KEY_BYTES:
        raise DeidKeyError(f"the de-identification key in {source} has {len(secret)} bytes; use at least "
                           f"{MIN_KEY_BYTES} (e.g. python -c \"import secrets; print(secrets.token_hex(32))\")")
    return DeidKey(secret, given=True)


def key_or_random(key: Optional[DeidKey]) -> DeidKey:
    """``key``, or a random key for this process when there is none."""
    return key if key is not None else DeidKey(secrets.token_bytes(32), given=False)
