"""AES-256-GCM envelope encryption for the spec's ENCRYPTED columns.

A master key (REVOS_MASTER_KEY, never stored in the database) wraps per-client data keys kept in
`encryption_keys`; data keys encrypt values. Every ciphertext is bound by its AAD to the table,
column and row it belongs to, so a ciphertext copied to another row or column fails to decrypt.

Rotation of the master key re-wraps data keys only (`revos keys rotate`): values are untouched,
so it runs online, a row at a time, and a crash half-way loses nothing. During the change the
previous master key stays accepted for unwrapping (REVOS_MASTER_KEY_PREVIOUS).

LinkedIn credentials get two layers: an inner one under the client's `credentials` data key and
an outer one under its `data` key, so leaking either data key alone reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from revos.errors import ConfigError, RevosError

FORMAT_VERSION = 1
HEADER = struct.Struct(">BI")  # format version, data key version
NONCE_BYTES = 12
PURPOSES = ("data", "credentials")


class DecryptionError(RevosError):
    """The ciphertext, its binding (table/column/row) or the key does not match."""

    status_code = 500
    code = "decryption_failed"


def generate_master_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def parse_master_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("master key must be base64 of 32 random bytes") from exc
    if len(raw) != 32:
        raise ConfigError("master key must be base64 of 32 random bytes")
    return raw


def master_key_id(raw: bytes) -> str:
    """A short, non-secret fingerprint recorded with each wrapped data key."""
    return hashlib.sha256(b"revos-master-key-id:" + raw).hexdigest()[:16]


def aad_for(table: str, column: str, row_id: UUID | str) -> bytes:
    return f"revos:{table}:{column}:{row_id}".encode()


class Keyring:
    """The primary master key plus any previous ones still accepted for unwrapping."""

    def __init__(self, primary: str, previous: Iterable[str] = ()) -> None:
        self.primary = parse_master_key(primary)
        self.primary_id = master_key_id(self.primary)
        self._keys = {self.primary_id: self.primary}
        for text in previous:
            raw = parse_master_key(text)
            self._keys.setdefault(master_key_id(raw), raw)

    def wrap(self, data_key: bytes, *, client_id: UUID, version: int, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aad = f"revos:data-key:{client_id}:{version}:{purpose}".encode()
        return nonce + AESGCM(self.primary).encrypt(nonce, data_key, aad)

    def unwrap(self, wrapped: bytes, *, master_id: str, client_id: UUID, version: int, purpose: str) -> bytes:
        master = self._keys.get(master_id)
        if master is None:
            raise DecryptionError(
                f"data key {client_id}/{purpose}/v{version} is wrapped by master key {master_id}, "
                "which is not configured (set REVOS_MASTER_KEY_PREVIOUS during a rotation)"
            )
        aad = f"revos:data-key:{client_id}:{version}:{purpose}".encode()
        try:
            return AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise DecryptionError(f"data key {client_id}/{purpose}/v{version} failed to unwrap") from exc


def seal(data_key: bytes, key_version: int, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return HEADER.pack(FORMAT_VERSION, key_version) + nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)


def header_of(ciphertext: bytes) -> tuple[int, int]:
    if len(ciphertext) < HEADER.size + NONCE_BYTES + 16:
        raise DecryptionError("ciphertext is truncated")
    version, key_version = HEADER.unpack_from(ciphertext)
    if version != FORMAT_VERSION:
        raise DecryptionError(f"unknown ciphertext format {version}")
    return version, key_version


def open_sealed(data_key: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    header_of(ciphertext)
    start = HEADER.size
    nonce = ciphertext[start : start + NONCE_BYTES]
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext[start + NONCE_BYTES :], aad)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not match its key or its table/column/row binding") from exc


@dataclass(frozen=True)
class DataKey:
    client_id: UUID
    purpose: str
    version: int
    key: bytes


def keyring_from_settings(settings: Any) -> Keyring:
    settings.require_secrets()
    previous = []
    if settings.master_key_previous is not None:
        previous = [k for k in settings.master_key_previous.get_secret_value().split(",") if k.strip() != ""]
    elif settings.master_key_file.with_suffix(".previous").exists():
        previous = [settings.master_key_file.with_suffix(".previous").read_text().strip()]
    return Keyring(settings.master_key.get_secret_value(), previous)
