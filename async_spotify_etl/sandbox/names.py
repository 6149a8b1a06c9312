"""Deterministic, realistic names and codes for the sandbox catalogue.

Names mix ASCII with accents, CJK and other scripts because real catalogue data does,
and extractors that mishandle encodings should fail here rather than in production.
"""

from __future__ import annotations

import hashlib
import random

_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: Maps every byte value onto the base62 alphabet, so a digest becomes an id in one call.
_BASE62 = bytes(_ALPHABET[i % 62] for i in range(256))

_ADJECTIVES = (
    "Midnight",
    "Golden",
    "Quiet",
    "Electric",
    "Broken",
    "Endless",
    "Neon",
    "Hollow",
    "Velvet",
    "Silver",
    "Wild",
    "Lonely",
    "Distant",
    "Crimson",
    "Paper",
    "Northern",
    "Süße",
    "Fröhliche",
    "Dulce",
    "Éternel",
    "Ljós",
    "Święty",
    "Красная",
    "青い",
)
_NOUNS = (
    "Heart",
    "River",
    "Summer",
    "Ghosts",
    "Lights",
    "Horizon",
    "Garden",
    "Echoes",
    "Machine",
    "Ocean",
    "Letters",
    "Skyline",
    "Dreams",
    "Fire",
    "Satellite",
    "Roads",
    "Nächte",
    "Corazón",
    "Saudade",
    "Café",
    "Mañana",
    "Øer",
    "Ночь",
    "夜空",
    "바다",
    "حلم",
)
_SUFFIXES = (
    "",
    "",
    "",
    "",
    " (Deluxe Edition)",
    " (Remastered 2026)",
    " - EP",
    " (Live)",
    " [Radio Edit]",
    " (feat. Zoë)",
    " Vol. 2",
    " — Acoustic",
)
_FIRST = (
    "Luna",
    "Mateo",
    "Aria",
    "Noah",
    "Sofía",
    "Kai",
    "Zoë",
    "Björn",
    "Chloé",
    "Jürgen",
    "Anaïs",
    "Søren",
    "Yūki",
    "Minh",
    "Ngozi",
    "Ólafur",
    "Dvořák",
    "Renée",
    "Ana",
    "Leo",
)
_LAST = (
    "Rivers",
    "Stone",
    "Moreau",
    "Nakamura",
    "Løvland",
    "García",
    "Kowalski",
    "Núñez",
    "O'Brien",
    "Müller",
    "Lindqvist",
    "Okafor",
    "Çelik",
    "Papadopoulos",
    "Silva",
    "Kim",
)
_BANDS = (
    "The Night Owls",
    "Sigur Sólo",
    "Mötley Hearts",
    "Los Caminos",
    "東京 Drift",
    "Café Tacvba Tribute",
    "Ensemble Øresund",
    "Kraftwerk Kids",
    "Les Étoiles",
    "Zebra Kollektiv",
    "Sons of Ñandú",
    "The Velvet Signals",
    "Алиса и Море",
    "무지개",
)
_COUNTRIES = ("US", "GB", "DE", "FR", "SE", "JP", "BR", "KR", "NG", "MX")


def make_id(seed: int, kind: str, *parts: int) -> str:
    """A stable 22-character base62 id for one catalogue object."""
    key = f"{seed}:{kind}:{':'.join(map(str, parts))}".encode()
    return hashlib.blake2b(key, digest_size=22).digest().translate(_BASE62).decode("ascii")


def uniform(seed: int, *parts: object) -> float:
    """A stable number in [0, 1) for a key: decisions that must repeat exactly per seed."""
    key = f"{seed}|{'|'.join(map(str, parts))}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2.0**64


def artist_name(rng: random.Random) -> str:
    """A person's name or a band name."""
    if rng.random() < 0.4:
        return rng.choice(_BANDS) + ("" if rng.random() < 0.6 else f" {rng.randint(2, 99)}")
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def album_name(rng: random.Random) -> str:
    """An album title."""
    return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}{rng.choice(_SUFFIXES)}"


def track_name(rng: random.Random) -> str:
    """A track title, sometimes with a featuring credit or a version tag."""
    name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    roll = rng.random()
    if roll < 0.1:
        name += f" (feat. {rng.choice(_FIRST)})"
    elif roll < 0.15:
        name += " - Remix"
    return name


def upc(rng: random.Random) -> str:
    """A 12-digit Universal Product Code."""
    return "".join(rng.choice("0123456789") for _ in range(12))


def isrc(rng: random.Random, year: int) -> str:
    """An International Standard Recording Code: CC-XXX-YY-NNNNN."""
    registrant = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(3))
    return f"{rng.choice(_COUNTRIES)}{registrant}{year % 100:02d}{rng.randint(0, 99999):05d}"
