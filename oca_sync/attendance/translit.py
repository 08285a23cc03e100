"""Names as comparable keys: Cyrillic (Russian, Kyrgyz, Kazakh) and Latin alike.

A name is reduced to a *skeleton*: lower-case ASCII where the usual spelling
variants of Central Asian names coincide (Айжан, Aizhan, Ayzhan and Aijan all
give ``aijan``). Libraries such as ``unidecode`` or ``transliterate`` do not
know the Kyrgyz letters ң ө ү (or read them as Russian), so the table is ours.

The rules only ever merge spellings; the matcher decides what a merge means.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Cyrillic → Latin, close to the Kyrgyz and Russian passport (ICAO-like) practice.
CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    # Kyrgyz
    "ң": "ng", "ө": "o", "ү": "u",
    # Kazakh (ң ө ү as above)
    "ә": "a", "ғ": "g", "қ": "k", "ұ": "u", "һ": "h", "і": "i",
    # Ukrainian / Belarusian letters seen in names
    "є": "ye", "ї": "yi", "ґ": "g", "ў": "u",
}

#: Latin letters that NFKD does not take apart.
LATIN_EXTRA = {"ı": "i", "ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "œ": "oe"}

# Spelling variants merged in the skeleton, applied in this order.
_VARIANTS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(a), b) for a, b in (
    (r"dzh|dj|zh", "j"),     # Джамиля: Dzhamilya / Djamilya / Jamilya; Айжан: Aizhan / Aijan
    (r"kh", "h"),            # Халида: Khalida / Halida
    (r"x", "ks"),            # Alexei / Aleksei
    (r"q", "k"),             # Kazakh Latin қ
    (r"w", "v"),
    (r"ph", "f"),
    (r"y", "i"),             # ya/ia, yu/iu, -yev/-iev, Ayzhan/Aizhan, Dmitriy/Dmitrii
    (r"^ie", "e"),           # Yelena / Elena, Yevgeniy / Evgenii
    (r"([aeiou])ie", r"\1e"),  # Sergeyev / Sergeev
    (r"(.)\1+", r"\1"),      # doubled letters: Assel / Asel, Dmitrii / Dmitri, Alla / Ala
))

#: Words that glue to the name before them: Kyrgyz and Kazakh patronymic surnames.
#: (as skeletons: уулу/uulu → ``ulu``, кызы/kyzy/qizi → ``kizi``, ұлы → ``uli``, oglu/ogly → ``oglu``/``ogli``)
PATRONYMIC_WORDS = {"ulu": "ulu", "uli": "ulu", "ogli": "ulu", "oglu": "ulu", "kizi": "kizi", "kiz": "kizi"}


def to_latin(text: str) -> str:
    """Lower-case Latin letters for ``text`` (Cyrillic transliterated, accents removed)."""
    out: list[str] = []
    for ch in text.lower():
        if ch in CYRILLIC:
            out.append(CYRILLIC[ch])
        elif ch in LATIN_EXTRA:
            out.append(LATIN_EXTRA[ch])
        else:
            out.append(ch)
    decomposed = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def skeleton(word: str) -> str:
    """The comparable key of one word (letters only; '' when none are left)."""
    s = re.sub(r"[^a-z]", "", to_latin(word))
    for pattern, repl in _VARIANTS:
        s = pattern.sub(repl, s)
    return s


def words(text: str) -> list[str]:
    """The words of a name: split on spaces, hyphens, dots, underscores and apostrophes."""
    return [w for w in re.split(r"[\s\-‐‑–—_.,;'’`\"]+", text) if w]


def name_keys(text: str) -> tuple[str, ...]:
    """Skeletons of a name's words, with a patronymic word glued to the one before.

    ``Бакыт уулу`` and ``Bakyt uulu`` both give ``("bakitulu",)`` (so does
    ``Bakytuulu``); words with no letters left are dropped.
    """
    keys: list[str] = []
    for w in words(text):
        k = skeleton(w)
        if not k:
            continue
        if k in PATRONYMIC_WORDS and keys:
            keys[-1] = skeleton(keys[-1] + PATRONYMIC_WORDS[k])
        else:
            keys.append(k)
    return tuple(keys)


# Russian diminutives and common variant spellings of first names, written as
# they are said; both sides are reduced to skeletons when the table is built.
_DIMINUTIVES: dict[str, tuple[str, ...]] = {
    "Aleksandr": ("Sasha", "Sanya", "Shura", "Alexander", "Aleksander", "Alex"),
    "Aleksandra": ("Sasha", "Sanya", "Shura", "Alexandra", "Alex"),
    "Aleksei": ("Alyosha", "Lyosha", "Lesha", "Alexey", "Alexei", "Alex"),
    "Anastasiya": ("Nastya", "Nastia", "Asya"),
    "Anatoliy": ("Tolya", "Tolik"),
    "Andrei": ("Andryusha", "Andrey"),
    "Anna": ("Anya", "Annushka", "Nyura"),
    "Boris": ("Borya",),
    "Valentina": ("Valya",),
    "Valeriy": ("Valera",),
    "Varvara": ("Varya",),
    "Vasiliy": ("Vasya",),
    "Viktor": ("Vitya", "Victor"),
    "Viktoriya": ("Vika", "Victoria"),
    "Vladimir": ("Volodya", "Vova"),
    "Vladislav": ("Vlad", "Slava"),
    "Vyacheslav": ("Slava",),
    "Stanislav": ("Stas", "Slava"),
    "Galina": ("Galya",),
    "Georgiy": ("Gosha", "Zhora"),
    "Grigoriy": ("Grisha",),
    "Daniil": ("Danya", "Daniel"),
    "Darya": ("Dasha",),
    "Dmitriy": ("Dima", "Mitya"),
    "Evgeniy": ("Zhenya",),
    "Evgeniya": ("Zhenya",),
    "Ekaterina": ("Katya", "Katerina", "Katia"),
    "Elena": ("Lena", "Alena", "Helen"),
    "Elizaveta": ("Liza",),
    "Ivan": ("Vanya",),
    "Irina": ("Ira",),
    "Kirill": ("Kirya",),
    "Konstantin": ("Kostya",),
    "Kseniya": ("Ksyusha", "Ksenia"),
    "Larisa": ("Lara",),
    "Lyudmila": ("Lyuda", "Mila", "Ludmila"),
    "Lyubov": ("Lyuba",),
    "Margarita": ("Rita",),
    "Mariya": ("Masha", "Maria", "Marya"),
    "Mikhail": ("Misha",),
    "Nadezhda": ("Nadya",),
    "Natalya": ("Natasha", "Natalia", "Natalie"),
    "Nikolai": ("Kolya", "Nikolay"),
    "Oksana": ("Ksyusha",),
    "Olga": ("Olya",),
    "Pavel": ("Pasha",),
    "Petr": ("Petya", "Pyotr"),
    "Polina": ("Polya",),
    "Svetlana": ("Sveta",),
    "Sergei": ("Seryozha", "Serezha", "Sergey"),
    "Tatyana": ("Tanya", "Tatiana"),
    "Yuliya": ("Yulya", "Julia", "Yulia"),
    "Yuriy": ("Yura",),
    # Kyrgyz and Kazakh short forms in everyday use
    "Nurzhan": ("Nuri",),
    "Zhyldyz": ("Jyldyz",),
    "Kanykei": ("Kanyke",),
}


def _build_forms() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for full, shorts in _DIMINUTIVES.items():
        fk = skeleton(full)
        for s in shorts:
            groups.setdefault(skeleton(s), set()).add(fk)
        groups.setdefault(fk, set()).add(fk)
    # variant spellings listed as "shorts" of one full name are the same name
    return {k: frozenset(v) for k, v in groups.items()}


_FORMS = _build_forms()


@lru_cache(maxsize=200_000)
def first_name_forms(key: str) -> frozenset[str]:
    """The full first names a first-name skeleton can stand for (itself included).

    ``sasa`` (Sasha) gives ``{"sasa", "aleksandr", "aleksandra"}``.
    """
    return frozenset({key}) | _FORMS.get(key, frozenset())
