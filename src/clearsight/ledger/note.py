"""C2SP signed notes, tlog checkpoints and Ed25519 witness cosignatures.

Formats: https://c2sp.org/signed-note (Ed25519, signature type 0x01), https://c2sp.org/tlog-checkpoint and
https://c2sp.org/tlog-cosignature (timestamped Ed25519 cosignatures, type 0x04). Keys use the text encodings
of the Go `golang.org/x/mod/sumdb/note` package, which transparency tools share:
verifier keys `name+hexid+base64(type || public key)` and signer keys
`PRIVATE+KEY+name+hexid+base64(type || private seed)`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

ED25519 = 0x01
COSIGNATURE_ED25519 = 0x04
MAX_SIGNATURES = 100
DASH = "\u2014"


class NoteError(ValueError):
    """A note, key, signature or checkpoint is malformed or does not verify."""


def _check_name(name: str) -> None:
    if not name or any(char.isspace() or char == "+" for char in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || type || public key)[:4], as a big-endian integer."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A public key that checks note signatures of one name and signature type."""

    name: str
    public_key: bytes
    signature_type: int = ED25519

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.signature_type, self.public_key)

    def encode(self) -> str:
        """`name+hexid+base64(type || key)`."""
        material = base64.b64encode(bytes([self.signature_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"

    @classmethod
    def decode(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # names never contain "+"; base64 may
        if len(parts) != 3:
            raise NoteError("a verifier key is name+hexid+base64(key)")
        name, hex_id, material = parts
        _check_name(name)
        try:
            raw = base64.b64decode(material, validate=True)
            given_id = int(hex_id, 16)
        except (binascii.Error, ValueError) as error:
            raise NoteError(f"verifier key {text!r} is not valid: {error}") from error
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_ED25519):
            raise NoteError("only Ed25519 (0x01) and Ed25519 cosignature (0x04) keys are supported")
        verifier = cls(name, raw[1:], raw[0])
        if verifier.key_id != given_id or len(hex_id) != 8:
            raise NoteError(f"verifier key {name}: key id {hex_id} does not match the key")
        return verifier

    def _check(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key with its name (a log or a witness)."""

    name: str
    seed: bytes
    signature_type: int = ED25519

    @classmethod
    def generate(cls, name: str, signature_type: int = ED25519) -> Signer:
        _check_name(name)
        seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(name, seed, signature_type)

    @property
    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, _raw_public(self._key.public_key()), self.signature_type)

    def encode(self) -> str:
        """`PRIVATE+KEY+name+hexid+base64(type || seed)`: keep it secret."""
        material = base64.b64encode(bytes([self.signature_type]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id:08x}+{material}"

    @classmethod
    def decode(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key is PRIVATE+KEY+name+hexid+base64(key)")
        _, _, name, hex_id, material = parts
        _check_name(name)
        try:
            raw = base64.b64decode(material, validate=True)
        except binascii.Error as error:
            raise NoteError(f"signer key {name}: {error}") from error
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_ED25519):
            raise NoteError("only Ed25519 signer keys are supported")
        signer = cls(name, raw[1:], raw[0])
        if f"{signer.verifier.key_id:08x}" != hex_id.lower():
            raise NoteError(f"signer key {name}: key id {hex_id} does not match the key")
        return signer

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


# --- signed notes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: int
    signature: bytes  # without the key id

    def line(self) -> str:
        encoded = base64.b64encode(struct.pack(">I", self.key_id) + self.signature).decode()
        return f"{DASH} {self.name} {encoded}\n"


@dataclass(frozen=True)
class Note:
    """Note text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(char) < 0x20 and char != "\n" for char in text):
        raise NoteError("note text must not contain control characters other than newline")


def sign_note(text: str, signers: Iterable[Signer]) -> Note:
    """Sign a note text with Ed25519 (type 0x01) signers."""
    _check_text(text)
    signatures = []
    for signer in signers:
        if signer.signature_type != ED25519:
            raise NoteError(f"{signer.name}: use cosign() for cosignature keys")
        signatures.append(Signature(signer.name, signer.verifier.key_id, signer.sign(text.encode())))
    return Note(text, tuple(signatures))


def parse_note(encoded: str) -> Note:
    """Split a signed note into text and signature lines (nothing is verified here)."""
    if "\n\n" not in encoded:
        raise NoteError("a signed note needs a blank line between text and signatures")
    split = encoded.rindex("\n\n")
    text, block = encoded[: split + 1], encoded[split + 2 :]
    _check_text(text)
    if not block.endswith("\n"):
        raise NoteError("signature lines must end with a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(DASH + " "):
            raise NoteError(f"malformed signature line {line!r}")
        parts = line[2:].split(" ")
        if len(parts) != 2:
            raise NoteError(f"malformed signature line {line!r}")
        name, encoded_signature = parts
        _check_name(name)
        try:
            raw = base64.b64decode(encoded_signature, validate=True)
        except binascii.Error as error:
            raise NoteError(f"signature of {name} is not base64") from error
        if len(raw) < 5:
            raise NoteError(f"signature of {name} is too short")
        signatures.append(Signature(name, struct.unpack(">I", raw[:4])[0], raw[4:]))
    if not signatures:
        raise NoteError("a signed note needs at least one signature")
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(signatures))


def _matching(note: Note, verifier: Verifier) -> list[Signature]:
    return [s for s in note.signatures if s.name == verifier.name and s.key_id == verifier.key_id]


def verify_note(note: Note, verifier: Verifier) -> None:
    """Raise NoteError unless the note carries a valid Ed25519 signature by `verifier`."""
    matching = _matching(note, verifier)
    if not matching:
        raise NoteError(f"the note is not signed by {verifier.name} ({verifier.key_id:08x})")
    for signature in matching:
        if not verifier._check(note.text.encode(), signature.signature):
            raise NoteError(f"the signature of {verifier.name} does not verify")


# --- checkpoints -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and root hash (plus optional extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint has at least three newline-terminated lines")
        origin, size_text, root_text, *extensions = lines[:-1]
        if not origin:
            raise NoteError("checkpoint origin is empty")
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise NoteError(f"checkpoint size {size_text!r} is not a decimal without leading zeros")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error as error:
            raise NoteError("checkpoint root is not base64") from error
        if len(root) != 32:
            raise NoteError("checkpoint root is not a 32-byte hash")
        if any(not line for line in extensions):
            raise NoteError("checkpoint extension lines must not be empty")
        return cls(origin, int(size_text), root, tuple(extensions))


def open_checkpoint(encoded: str, log_verifier: Verifier, origin: str | None = None) -> tuple[Checkpoint, Note]:
    """Verify the log's signature on a checkpoint note and parse it."""
    note = parse_note(encoded)
    verify_note(note, log_verifier)
    checkpoint = Checkpoint.parse(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint, note


# --- cosignatures ----------------------------------------------------------------------------------


def _cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + checkpoint_text.encode()


def cosign(note: Note, witness: Signer, timestamp: int | None = None) -> Note:
    """Add a witness's timestamped Ed25519 cosignature (type 0x04) to a checkpoint note."""
    if witness.signature_type != COSIGNATURE_ED25519:
        raise NoteError(f"{witness.name} is not a cosignature key (type 0x04)")
    Checkpoint.parse(note.text)
    moment = int(time.time()) if timestamp is None else timestamp
    if not 0 <= moment < 2**63:
        raise NoteError("cosignature timestamp out of range")
    signature = struct.pack(">Q", moment) + witness.sign(_cosigned_message(note.text, moment))
    return Note(note.text, (*note.signatures, Signature(witness.name, witness.verifier.key_id, signature)))


def verify_cosignature(note: Note, witness: Verifier) -> int:
    """Check a witness's cosignature on a checkpoint note; return its timestamp."""
    matching = _matching(note, witness)
    if not matching:
        raise NoteError(f"no cosignature from {witness.name}")
    for signature in matching:
        if len(signature.signature) != 8 + 64:
            raise NoteError(f"cosignature of {witness.name} has the wrong length")
        (moment,) = struct.unpack(">Q", signature.signature[:8])
        if moment >= 2**63 or not witness._check(_cosigned_message(note.text, moment), signature.signature[8:]):
            raise NoteError(f"the cosignature of {witness.name} does not verify")
    return int(struct.unpack(">Q", matching[-1].signature[:8])[0])


def verify_witness_policy(note: Note, witnesses: Sequence[Verifier], quorum: int) -> list[str]:
    """Require valid cosignatures from at least `quorum` of `witnesses` (k-of-n); return who cosigned.

    A witness whose cosignature is present but invalid makes the note invalid, as the signed-note
    specification recommends for known keys that fail.
    """
    if not 0 < quorum <= len(witnesses):
        raise NoteError(f"quorum {quorum} is impossible with {len(witnesses)} witnesses")
    signed = []
    for witness in witnesses:
        if _matching(note, witness):
            verify_cosignature(note, witness)
            signed.append(witness.name)
    if len(signed) < quorum:
        raise NoteError(f"{len(signed)} of the required {quorum} witnesses cosigned ({', '.join(signed) or 'none'})")
    return signed
