"""Deezer's genres: ids, names by language, and which the sandbox's albums draw from.

Ids are Deezer's own and never change; names follow the caller's ``Accept-Language``
(English by default; French and Spanish as captured), as ``/genre`` and album
``genres`` show them.
"""

from __future__ import annotations

#: Deezer's genres with their names in English, French and Spanish, as ``/genre`` lists
#: them; 0 "All" first. Ids are Deezer's own.
GENRES: dict[int, tuple[str, str, str]] = {
    0: ("All", "Tous", "Todos"),
    132: ("Pop", "Pop", "Pop"),
    116: ("Rap/Hip Hop", "Rap/Hip Hop", "Rap/Hip Hop"),
    152: ("Rock", "Rock", "Rock"),
    113: ("Dance", "Dance", "Dance"),
    165: ("R&B", "R&B", "R&B"),
    85: ("Alternative", "Alternative", "Alternativo"),
    106: ("Electro", "Electro", "Electro"),
    466: ("Folk", "Folk", "Folk"),
    144: ("Reggae", "Reggae", "Reggae"),
    129: ("Jazz", "Jazz", "Jazz"),
    84: ("Country", "Country", "Country"),
    98: ("Classical", "Classique", "Clásica"),
    173: ("Films/Games", "Films/Jeux vidéo", "Películas/Juegos"),
    464: ("Metal", "Metal", "Metal"),
    169: ("Soul & Funk", "Soul & Funk", "Soul & Funk"),
    2: ("African Music", "Musique africaine", "Música Africana"),
    16: ("Asian Music", "Musique asiatique", "Música Asiática"),
    153: ("Blues", "Blues", "Blues"),
    75: ("Brazilian Music", "Musique brésilienne", "Música Brasileña"),
    81: ("Indian Music", "Musique indienne", "Música de La India"),
    95: ("Kids", "Jeunesse", "Infantil"),
    197: ("Latin Music", "Musique latine", "Latino"),
}
LANGUAGES = ("en", "fr", "es")
#: Genres an album draws from, the common first (never 0 "All").
ALBUM_GENRES = (132, 132, 132, 116, 116, 152, 113, 165, 85, 106, 466, 144, 129, 84, 98,
                 173, 464, 169, 2, 16, 153, 75, 81, 95, 197, 197)  # fmt: skip


def language(header: str | None) -> str:
    """The language of an ``Accept-Language`` header Deezer answers in (English by default)."""
    for part in (header or "").split(","):
        primary = part.split(";")[0].strip().split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "en"


def genre_name(genre: int, lang: str = "en") -> str:
    """A genre's name in ``lang``."""
    return GENRES[genre][LANGUAGES.index(lang)]
