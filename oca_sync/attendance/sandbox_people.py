"""Who attends a session in the sandbox: the spec's members as Zoom shows real people.

Used by ``oca-sync demo`` and the tests to give the Zoom emulator participant
rows that exercise the matcher: names in Cyrillic, surname first, with a
CSO prefix, on a phone, rejoining, arriving late, leaving early; plus an
interpreter and a dial-in. Deterministic for a given session number.
"""

from __future__ import annotations

import random
from typing import Any

from ..spec import LoadedSpec

_TO_CYRILLIC = (("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"), ("ya", "я"),
                ("yu", "ю"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"),
                ("i", "и"), ("y", "ы"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
                ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("j", "ж"), ("h", "х"), ("c", "к"),
                ("w", "в"), ("x", "кс"), ("q", "к"))


def cyrillic(name: str) -> str:
    """A plausible Cyrillic spelling of a Latin name (for the sandbox only)."""
    out, i, low = [], 0, name.lower()
    while i < len(low):
        for lat, cyr in _TO_CYRILLIC:
            if low.startswith(lat, i):
                out.append(cyr.upper() if name[i].isupper() else cyr)
                i += len(lat)
                break
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def session_people(loaded: LoadedSpec, number: int, duration: int, course: str | None = None) -> list[dict[str, Any]]:
    """Participants of one session (``number`` seeds the choices): ``{"name", "email", "segments"}``.

    About four in five members come; segments are minutes from the start.
    """
    rng = random.Random(f"attendance:{number}")
    out: list[dict[str, Any]] = []
    for org in loaded.spec.organisations:
        if course is not None and org.courses is not None and course not in org.courses:
            continue
        orgname = org.name if isinstance(org.name, str) else next(iter(dict(org.name).values()))
        for m in loaded.members.get(org.key, ()):
            if m.role != "member" or rng.random() < 0.2:
                continue
            first, last = m.firstname, m.lastname
            style = rng.randrange(8)
            name, email = {
                0: (f"{first} {last}", m.email),
                1: (f"{cyrillic(first)} {cyrillic(last)}", ""),
                2: (f"{last} {first}", ""),
                3: (f"{orgname} - {first}", ""),
                4: (f"iPhone ({first})", ""),
                5: (f"{first} {last[:1]}.", ""),
                6: (f"{first.upper()} {last.upper()}", ""),
                7: (f"{first} {last}", f"{first.lower()}.{last.lower()}@gmail.com"),
            }[style]
            shape = rng.randrange(6)
            segs: list[tuple[float, float]]
            if shape == 0:  # late
                segs = [(rng.uniform(12, 25), float(duration))]
            elif shape == 1:  # leaves early
                segs = [(0.0, duration * rng.uniform(0.2, 0.45))]
            elif shape == 2:  # drops out and rejoins (overlapping rows)
                cut = duration * rng.uniform(0.3, 0.6)
                segs = [(0.0, cut), (cut - 1, float(duration))]
            else:
                segs = [(rng.uniform(0, 3), duration - rng.uniform(0, 5))]
            out.append({"name": name, "email": email, "segments": segs})
    out.append({"name": "Interpreter RU", "email": "", "segments": [(0.0, duration)]})
    out.append({"name": "+996 312 000 111", "email": "", "segments": [(5.0, 30.0)]})
    return out
