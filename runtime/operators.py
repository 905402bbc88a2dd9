"""The operators file: each person's password, kept as a scrypt hash with its own salt and
parameters, in a file only the service account may read (``<data dir>/operators``, or
``[duty] operators_file``).

The file is JSON: ``{"version": 1, "operators": {NAME: {"scheme": "scrypt", "n": …,
"r": …, "p": …, "salt": hex, "hash": hex}}}``. It is written whole, to a new 0600 file
that replaces the old one, so a reader never sees half of it. A file others can read or
write is refused (``ConfigError``), as the token files are (``runtime.config.read_token``).

Imports: runtime.config (ConfigError), the standard library (hashlib.scrypt, hmac).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from runtime.config import ConfigError

#: Shortest password accepted.
MIN_PASSWORD: Final = 8
#: scrypt cost for new hashes: 2**14 x 8 x 1 (16 MiB, ~50 ms); each hash keeps its own.
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
HASH_BYTES: Final = 32
SALT_BYTES: Final = 16
#: The file's name in the data dir, when the config names none.
FILE_NAME: Final = "operators"


@dataclass(frozen=True, slots=True)
class Credential:
    """One person's password hash and how it was made."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    @classmethod
    def make(cls, password: str) -> Credential:
        """A new hash of ``password`` with a fresh salt and the current parameters."""
        salt = secrets.token_bytes(SALT_BYTES)
        return cls(SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, _scrypt(password, salt, SCRYPT_N,
                                                             SCRYPT_R, SCRYPT_P))  # fmt: skip

    def matches(self, password: str) -> bool:
        """Whether ``password`` is this one (constant-time comparison; slow by design)."""
        got = _scrypt(password, self.salt, self.n, self.r, self.p)
        return hmac.compare_digest(got, self.digest)

    def to_json(self) -> dict[str, Any]:
        return {"scheme": "scrypt", "n": self.n, "r": self.r, "p": self.p,
                "salt": self.salt.hex(), "hash": self.digest.hex()}  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> Credential:
        if not isinstance(data, dict) or data.get("scheme") != "scrypt":
            raise ValueError("not a scrypt entry")
        n, r, p = (int(data[k]) for k in ("n", "r", "p"))
        return cls(n, r, p, bytes.fromhex(data["salt"]), bytes.fromhex(data["hash"]))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem: 128 * r * (n + p + 2) bytes, with room to spare (the default is 32 MiB).
    memory = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=memory,
                          dklen=HASH_BYTES)  # fmt: skip


#: Checked against when the person is unknown, so a wrong name costs the same time.
_DUMMY: Final = Credential(SCRYPT_N, SCRYPT_R, SCRYPT_P, b"\0" * SALT_BYTES, b"\0" * HASH_BYTES)


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used (None: it can)."""
    if len(password) < MIN_PASSWORD:
        return f"the password is too short: at least {MIN_PASSWORD} characters"
    if password != password.strip():
        return "the password starts or ends with a space"
    return None


class Operators:
    """The operators file: name → credential. ``Operators.load`` reads (or starts) it."""

    def __init__(self, path: Path, credentials: dict[str, Credential] | None = None) -> None:
        self.path = path
        self.credentials: dict[str, Credential] = dict(credentials or {})

    @classmethod
    def load(cls, path: Path) -> Operators:
        """Read ``path``; a missing file is an empty one. Refused (``ConfigError``) when
        others can read or write it, or it is not an operators file."""
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return cls(path)
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the operators file: {error}") from error
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{path}: the operators file is readable by others (mode "
                f"{stat.filemode(mode)}); only the service account may read it: "
                f"run: chmod 600 {path}"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["operators"]
            credentials = {str(k): Credential.from_json(v) for k, v in entries.items()}
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the operators file: {error}") from error
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ConfigError(f"{path}: not an operators file: {error}") from error
        return cls(path, credentials)

    def names(self) -> list[str]:
        return sorted(self.credentials)

    def __contains__(self, name: object) -> bool:
        return name in self.credentials

    def check(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s (an unknown name takes as long, and fails)."""
        credential = self.credentials.get(name)
        if credential is None:
            _DUMMY.matches(password)
            return False
        return credential.matches(password)

    def set_password(self, name: str, password: str) -> None:
        """Give ``name`` this password (a new salt) and save; ``ValueError`` if too weak."""
        problem = password_problem(password)
        if problem is not None:
            raise ValueError(problem)
        self.credentials[name] = Credential.make(password)
        self.save()

    def remove(self, name: str) -> None:
        """Remove ``name``'s password and save (``KeyError`` if there is none)."""
        del self.credentials[name]
        self.save()

    def save(self) -> None:
        """Write the whole file anew: a 0600 file beside it, then renamed over it."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = {
            "version": 1,
            "operators": {k: c.to_json() for k, c in sorted(self.credentials.items())},
        }
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out, ensure_ascii=False, indent=1)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
