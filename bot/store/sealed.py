"""Sealing what must be kept but may not be stored in clear: a command typed with a secret in
it. The store keeps the redacted text for everything shown, and the exact text sealed
(Fernet: AES with an HMAC) under a key derived from SLACK_BOT_TOKEN, which every process that
runs Slack's jobs holds and the database never sees. Reading the store alone reveals nothing.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b"fracas: sealed job payloads"


class Sealer:
    def __init__(self, secret: str | None) -> None:
        self._fernet = Fernet(_key(secret)) if secret else None

    def seal(self, text: str) -> str:
        """The sealed text; empty when there is no key (then nothing can be kept)."""
        return self._fernet.encrypt(text.encode()).decode() if self._fernet else ""

    def unseal(self, sealed: str) -> str | None:
        """None when it cannot be opened: no key, or the key changed since it was sealed."""
        if self._fernet is None or not sealed:
            return None
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None


def _key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE)
    return base64.urlsafe_b64encode(derived.derive(secret.encode()))
