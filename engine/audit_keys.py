"""The keys of the audit chain (art. 29: records that can be trusted), kept outside the database.

* **The MAC key.** Every record after the chain's seal is authenticated with HMAC-SHA256 under a
  key that is not in the database (``GOVFLOW_AUDIT_KEY``; without it, one derived from
  ``GOVFLOW_SECRET_KEY``). Someone who can write the database can no longer alter a record and
  re-hash the rest of the chain: they do not hold the key.
* **Key ids.** A record names its key by a fingerprint (``key_id``), never the key.
* **Rotation.** ``GOVFLOW_AUDIT_KEY`` becomes the new key and the old one moves to
  ``GOVFLOW_AUDIT_OLD_KEYS`` (comma-separated). New records use the new key; older ones keep
  verifying with theirs (docs/deployment.md, "Rotating the audit key").
* **Checkpoints.** ``govflow audit checkpoint`` signs the chain's head with an Ed25519 key derived
  from the MAC key (``cryptography``). Its public key is printed with every checkpoint, so a copy
  kept elsewhere (another machine, paper) can be checked later. A re-hashed chain, or a head
  forged to hide records cut off the end, contradicts it.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DERIVATION = b"govflow audit chain v1"


def key_id(key: bytes) -> str:
    """A key's public name: a fingerprint that reveals nothing of the key."""
    return hashlib.sha256(b"govflow-audit-key-id\x00" + key).hexdigest()[:16]


def derive(secret: str) -> bytes:
    """The audit key of an installation that set only ``GOVFLOW_SECRET_KEY``."""
    return hmac.new(secret.encode("utf-8"), DERIVATION, hashlib.sha256).digest()


MIN_KEY_LENGTH = 32  # characters of a configured key (GOVFLOW_AUDIT_KEY, each of GOVFLOW_AUDIT_OLD_KEYS)
MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def parse(text: str, name: str = "GOVFLOW_AUDIT_KEY") -> bytes:
    """A configured key: any string of at least ``MIN_KEY_LENGTH`` characters (used as UTF-8 bytes),
    surrounding blanks ignored. Shorter, ``config.BadAuditKey`` names the setting ``name`` and says
    what to set (never the key itself)."""
    text = (text or "").strip()
    if len(text) < MIN_KEY_LENGTH:
        from .config import BadAuditKey
        if name == "GOVFLOW_AUDIT_KEY":
            raise BadAuditKey(
                f"GOVFLOW_AUDIT_KEY is too short ({len(text)} characters): an audit key needs at least "
                f"{MIN_KEY_LENGTH}. Set it to a long random value, kept outside the database and the same "
                f"for every web process and worker, e.g. GOVFLOW_AUDIT_KEY=$({MAKE_ONE}); or leave it "
                "unset to use a key derived from GOVFLOW_SECRET_KEY.")
        raise BadAuditKey(
            f"{name} is too short ({len(text)} characters): a former audit key has at least "
            f"{MIN_KEY_LENGTH}. Give the former keys exactly as they were set in GOVFLOW_AUDIT_KEY, "
            "separated by commas, or remove the entry.")
    return text.encode("utf-8")


@dataclass(frozen=True)
class AuditKeys:
    current: bytes | None  # None: records are appended unkeyed (verify reports them after the seal)
    old: tuple[bytes, ...] = ()
    by_id: dict[str, bytes] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        keys = ([self.current] if self.current else []) + list(self.old)
        object.__setattr__(self, "by_id", {key_id(k): k for k in keys})

    @property
    def current_id(self) -> str | None:
        return key_id(self.current) if self.current else None

    def signing_key(self, kid: str | None = None) -> Ed25519PrivateKey:
        """The Ed25519 key checkpoints are signed with, derived from the MAC key ``kid`` (current)."""
        key = self.by_id[kid] if kid else self.current
        if key is None:
            raise LookupError("no audit key is configured")
        seed = hmac.new(key, b"govflow audit checkpoint signing v1", hashlib.sha256).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)

    def public_key(self, kid: str | None = None) -> str:
        """The checkpoint signing key's public half, hex (to keep with the checkpoints)."""
        return self.signing_key(kid).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def verify_signature(public_key_hex: str, signature_hex: str, payload: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(bytes.fromhex(signature_hex), payload)
        return True
    except Exception:  # noqa: BLE001 - any malformed or wrong signature is simply not valid
        return False


def from_config(config) -> AuditKeys:
    """The keys of ``config``: ``audit_key`` (else derived from the secret key) and ``audit_old_keys``.
    A key too short raises ``config.BadAuditKey`` (the engine is not built: refuse to start)."""
    current = parse(config.audit_key) if getattr(config, "audit_key", None) else (
        derive(config.secret_key) if getattr(config, "secret_key", None) else None)
    old = [k for k in getattr(config, "audit_old_keys", ()) if k.strip()]
    return AuditKeys(current, tuple(parse(k, f"GOVFLOW_AUDIT_OLD_KEYS (entry {n} of {len(old)})")
                                    for n, k in enumerate(old, 1)))
