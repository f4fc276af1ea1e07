"""Sealed tokens (catalog/auth/sealed.py): only what this key sealed for this purpose opens,
and only in the one spelling it was handed out in."""

from __future__ import annotations

import pytest

from catalog.auth.sealed import InvalidSeal, Sealer

KEY = b"k" * 32


def test_a_sealed_payload_opens_as_it_was_sealed() -> None:
    sealer = Sealer(KEY, b"plans")
    assert sealer.open(sealer.seal({"t": "uuid", "m": [1, 2]})) == {"m": [1, 2], "t": "uuid"}


def test_a_token_of_another_purpose_or_key_does_not_open() -> None:
    token = Sealer(KEY, b"plans").seal({"t": "uuid"})
    with pytest.raises(InvalidSeal):
        Sealer(KEY, b"uploads").open(token)
    with pytest.raises(InvalidSeal):
        Sealer(b"x" * 32, b"plans").open(token)


def test_a_changed_byte_breaks_the_seal() -> None:
    sealer = Sealer(KEY, b"plans")
    body, mac = sealer.seal({"t": "uuid", "k": "s3://b/t"}).split(".")
    changed = body[:4] + ("A" if body[4] != "A" else "B") + body[5:]
    with pytest.raises(InvalidSeal):
        sealer.open(f"{changed}.{mac}")


@pytest.mark.parametrize("where", ["body", "mac"])
def test_only_the_spelling_handed_out_opens(where: str) -> None:
    """A foreign character, padding, or other unused bits in the last character decode to the
    same bytes; each is another text for one token, and none opens."""
    sealer = Sealer(KEY, b"plans")
    token = sealer.seal({"t": "uuid"})
    body, mac = token.split(".")
    part = body if where == "body" else mac
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(part[-1])
    unused_bits = {2: 0b1111, 3: 0b11}.get(len(part) % 4, 0)
    respellings = [part[:3] + "!" + part[3:], part + "=="]
    if unused_bits:
        respellings.append(part[:-1] + alphabet[last ^ 1])
    for respelled in respellings:
        candidate = f"{respelled}.{mac}" if where == "body" else f"{body}.{respelled}"
        with pytest.raises(InvalidSeal):
            sealer.open(candidate)
