"""Deterministic, realistic names and codes for the sandbox catalogue.

Names mix ASCII with accents, CJK and other scripts because real catalogue data does,
and extractors that mishandle encodings should fail here rather than in production.
"""

from __future__ import annotations

import hashlib
import math
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


def draw_upc(rng: random.Random) -> None:
    """Make the draws an album's barcode once took, so the fields drawn after it stay put."""
    for _ in range(12):
        rng.choice("0123456789")


def draw_isrc(rng: random.Random) -> None:
    """Make the draws a track's ISRC once took, so the fields drawn after it stay put."""
    for _ in range(3):
        rng.choice(_BASE36)
    rng.choice(_COUNTRIES)
    rng.randint(0, 99999)


# Barcodes and ISRCs encode the album's index (and the track's number) through a seeded
# bijection, so the Deezer and MusicBrainz emulators find an album by barcode and a track
# by ISRC without an index of the whole catalogue; each code is still unique.
_UPC_SPACE = 10**11
_ISRC_SPACE = 36**3 * 10**5
_TRACKS_PER_ALBUM = 300
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Share of albums whose barcode is a 13-digit EAN (not a zero-led UPC-A).
EAN_SHARE = 0.2


def _multiplier(space: int) -> int:
    """A multiplier near the golden section of ``space`` and coprime to it, so consecutive
    indices land far apart."""
    value = int(space * 0.6180339887)
    while math.gcd(value, space) != 1:
        value += 1
    return value


_UPC_STEP, _ISRC_STEP, _MBID_STEP = (_multiplier(n) for n in (_UPC_SPACE, _ISRC_SPACE, 16**12))


def _offset(seed: int, kind: str, space: int) -> int:
    return int(uniform(seed, "offset", kind) * space)


def _check_digit(digits: str) -> str:
    """The GTIN check digit of ``digits`` (weights 3 and 1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def upc_of(seed: int, index: int) -> str:
    """The barcode Spotify gives album ``index``: 13 digits, a UPC-A with a leading 0
    for most albums, an EAN-13 for :data:`EAN_SHARE` of them; a valid check digit."""
    code = (index * _UPC_STEP + _offset(seed, "upc", _UPC_SPACE)) % _UPC_SPACE
    body = f"{code:011d}"
    if uniform(seed, "ean", index) < EAN_SHARE:
        body = str(1 + int(uniform(seed, "ean-lead", index) * 9)) + body
        return body + _check_digit(body)
    return "0" + body + _check_digit(body)


def index_of_upc(seed: int, digits: str) -> int | None:
    """The album index a 12- or 13-digit barcode decodes to (unchecked), or None."""
    if not digits.isdigit() or len(digits) not in (12, 13):
        return None
    code = int(digits[-12:-1])
    inverse = pow(_UPC_STEP, -1, _UPC_SPACE)
    return ((code - _offset(seed, "upc", _UPC_SPACE)) * inverse) % _UPC_SPACE


def isrc_of(seed: int, index: int, number: int, year: int) -> str:
    """The ISRC of track ``number`` of album ``index`` released in ``year``:
    CC-XXX-YY-NNNNN, unique in the catalogue."""
    key = index * _TRACKS_PER_ALBUM + number
    code = (key * _ISRC_STEP + _offset(seed, "isrc", _ISRC_SPACE)) % _ISRC_SPACE
    registrant, designation = divmod(code, 10**5)
    letters = "".join(_BASE36[registrant // 36**p % 36] for p in (2, 1, 0))
    country = _COUNTRIES[int(uniform(seed, "isrc-country", index) * len(_COUNTRIES))]
    return f"{country}{letters}{year % 100:02d}{designation:05d}"


def track_of_isrc(seed: int, code: str) -> tuple[int, int] | None:
    """The (album index, track number) an upper-case ISRC decodes to (unchecked), or None."""
    if len(code) != 12 or not code[5:].isdigit() or not all(c in _BASE36 for c in code[2:5]):
        return None
    registrant = sum(_BASE36.index(c) * 36**p for c, p in zip(code[2:5], (2, 1, 0), strict=True))
    scrambled = registrant * 10**5 + int(code[7:])
    inverse = pow(_ISRC_STEP, -1, _ISRC_SPACE)
    key: int = ((scrambled - _offset(seed, "isrc", _ISRC_SPACE)) * inverse) % _ISRC_SPACE
    index, number = divmod(key, _TRACKS_PER_ALBUM)
    return index, number


def mbid(seed: int, kind: str, number: int) -> str:
    """A MusicBrainz-style UUID (version 4) for object ``number`` of ``kind``; its last
    group encodes ``number``, so :func:`number_of_mbid` reverses it."""
    digest = hashlib.blake2b(f"{seed}:mb:{kind}".encode(), digest_size=16).hexdigest()
    tail = (number * _MBID_STEP + int(digest[:12], 16)) % 16**12
    variant = "89ab"[int(digest[16], 16) % 4]
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{variant}{digest[17:20]}-{tail:012x}"


def number_of_mbid(seed: int, kind: str, value: str) -> int | None:
    """The number :func:`mbid` encoded in ``value`` for ``kind``, or None if it is not one."""
    try:
        tail = int(value[24:], 16)
    except ValueError:
        return None
    digest = hashlib.blake2b(f"{seed}:mb:{kind}".encode(), digest_size=16).hexdigest()
    inverse = pow(_MBID_STEP, -1, 16**12)
    number = ((tail - int(digest[:12], 16)) * inverse) % 16**12
    return number if mbid(seed, kind, number) == value else None
