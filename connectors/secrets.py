"""The per-home secret that keys personal-data hashes (connectors.engine.pii_hash reads CWH_HASH_KEY).

An unkeyed SHA-256 of an email is re-identifiable by anyone with an email list, so no landing
runs without a key: when `CWH_HASH_KEY` is not set, the home's own key is used, generated on first
use into `$CWH_HOME/config/hash_key` (mode 600, never in the repository), and announced once.
Keep that file with the home (back it up): the same email hashes to the same key only with it.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

HASH_KEY_ENV = "CWH_HASH_KEY"
_homes_keys: dict[str, str] = {}  # keys this process took from a home file (not set by the user)


def hash_key_file(root: Path) -> Path:
    return Path(root) / "config" / "hash_key"


def _read_or_create(path: Path) -> tuple[str, bool]:
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created the key meanwhile: keep theirs
        created = True
    except FileExistsError:
        created = False
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip(), created


def ensure_hash_key(root: Path, announce=None) -> str:
    """Make CWH_HASH_KEY available before anything is hashed for the home at `root`.

    A key the user set in the environment wins. Otherwise the home's key file is read (created
    on first use, mode 600) and put into the environment. Returns the key in force."""
    current = os.environ.get(HASH_KEY_ENV, "")
    if current and current not in _homes_keys.values():
        return current  # set by the user
    path = hash_key_file(root)
    key, created = _read_or_create(path)
    if not key:
        raise RuntimeError(f"{path} is empty: restore the home's hashing key from a backup, "
                           f"or set {HASH_KEY_ENV}")
    if created:
        message = (f"cwh: no {HASH_KEY_ENV} set, so a secret key for hashing personal data was generated "
                   f"at {path} (mode 600). Keep it with this home: without it the same email no longer "
                   "hashes to the same customer key.")
        (announce or (lambda text: print(text, file=sys.stderr)))(message)
    _homes_keys[str(Path(root).resolve())] = key
    os.environ[HASH_KEY_ENV] = key
    return key
