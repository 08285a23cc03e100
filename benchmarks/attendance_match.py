"""Benchmark: match a generated Zoom participant report against a course roster.

    python benchmarks/attendance_match.py [--rows 100000] [--users 5000] [--seed 1]

The report has Cyrillic and Latin names, surname-first order, CSO prefixes,
device wrappers, first names alone, typos, rejoins (several rows per person
and instance), guests, interpreters and dial-ins. Prints the time and peak
memory (Python allocations, tracemalloc) of merging the rows and matching
every distinct identity with :mod:`oca_sync.attendance.match`, and the same
for a plain matcher (exact e-mail, else exact "first last"), with the ratio.
Targets: under 2 s and under 300 MiB; the ratio is for information.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from oca_sync.attendance.match import Matcher, RosterIndex, RosterUser, Status
from oca_sync.attendance.participants import ZoomRow, merge_rows
from oca_sync.attendance.sandbox_people import cyrillic

FIRST = ("Aibek Aizhan Almaz Altynai Asel Azamat Bakyt Bermet Chyngyz Cholpon Daniyar Dinara Elmira Emil Erlan "
         "Gulnara Gulzat Ilyas Jamilya Kanat Kanykei Kairat Meerim Mederbek Mirlan Nazgul Nurlan Nurzhan Omur "
         "Ruslan Saikal Samat Sanzhar Talant Tilek Ulan Umut Zarina Zhyldyz Aigerim Aidana Adilet Akylbek Asylbek "
         "Baktygul Beksultan Dastan Elnura Eldiyar Kubanych Marat Nurbek Nurgul Syrgak Timur Urmat Venera "
         "Aleksandr Aleksandra Dmitriy Elena Evgeniya Irina Mariya Natalya Olga Sergei Tatyana Vladimir Yuliya "
         "Aisuluu Aiperi Aibike Ainura Akmaral Alina Almagul Anara Asylzat Atai Ayana Azat Bektur Bolot Chynara "
         "Damira Eliza Emir Gulmira Iskender Jibek Kalys Kamila Kubat Maksat Malika Medina Mirbek Nargiza Nuriza "
         "Nurlanbek Rahat Saltanat Sezim Sultan Tamerlan Tolgonai Zhanyl Zhazgul Zhibek Aruuke Bekbolot Esen").split()
LAST = ("Asanov Toktogulov Sadykova Omurova Abdrakhmanov Zhumabaev Toktosunova Sydykov Beishenaliev Kasymova "
        "Nurlanov Ibraimova Mamytova Abdyldaev Osmonova Yusupova Abdieva Kadyrov Ermekov Sadyrov Usenov Alieva "
        "Akmatov Tashieva Karimova Nurmatova Rakhimova Chotkaraev Sarybaeva Moldokulov Asanalieva Ergeshov "
        "Sultanova Mamytov Kadyrova Omurbekov Sheralieva Abdullaeva Dzhumabaeva Kurmanbekov Bekova Isakov "
        "Jeenbekov Atambaev Otunbaeva Bakiev Akaev Kulov Tekebaev Sariev Petrova Ivanova Kim Li Tsoy Pak "
        "Sokolova Sergeev Smirnov Kuznetsova Popov Volkova Morozov Novikova Fedorov Orlova "
        "Abdykadyrov Alymkulov Baibosunov Borubaev Chynybaev Dzhaparov Eshenkulov Imanaliev Japarov Kasymaliev "
        "Kenzhebaev Kochkonbaev Mambetov Muratbekov Nazarov Osmonaliev Raimbekov Sagynbaev Satybaldiev Shamshiev "
        "Temirov Tokonbaev Turdubaev Usubaliev Zhusupov Abylov Beishenbaev Duishenov Kalmatov Maripov").split()
DEVICES = ("iPhone", "Galaxy A52", "Redmi Note 10", "iPad", "DESKTOP-7QK2L")
GROUPS = ("Kelechek", "Bilim", "Umut", "Tumar", "Ayalzat", "Ak-Jol", "Ilbirs", "Jashtyk")


def roster(n: int, rng: random.Random) -> list[RosterUser]:
    pairs = rng.sample([(f, la) for f in FIRST for la in LAST], n)
    users = []
    for i, (first, last) in enumerate(pairs, start=1):
        if rng.random() < 0.4:  # Moodle holds some names in Cyrillic
            first, last = cyrillic(first), cyrillic(last)
        users.append(RosterUser(i, f"u{i}", first, last, f"u{i}@cso.example.kg", (GROUPS[i % len(GROUPS)],)))
    return users


def display(u: RosterUser, pair: tuple[str, str], rng: random.Random) -> tuple[str, str]:
    first, last = pair
    r = rng.random()
    if r < 0.25:
        return f"{first} {last}", ""
    if r < 0.35:
        return f"{cyrillic(first)} {cyrillic(last)}", ""
    if r < 0.45:
        return f"{last} {first}", ""
    if r < 0.55:
        return f"{u.groups[0]} - {first} {last}", ""
    if r < 0.62:
        return f"{rng.choice(DEVICES)} ({first})", ""
    if r < 0.67:
        return first, ""
    if r < 0.72:
        cut = rng.randrange(1, len(last))
        return f"{first} {last[:cut] + last[cut + 1:]}", ""  # one letter missing
    if r < 0.80:
        return f"{first} {last[:1]}.", ""
    return f"{first} {last}", u.email  # signed in with the Moodle e-mail


def report(users: list[RosterUser], rows: int, rng: random.Random) -> list[ZoomRow]:
    names = {u.id: (u.firstname, u.lastname) for u in users}
    latin = {}
    for u in users:  # the participant calls themself by the Latin name whatever Moodle holds
        latin[u.id] = names[u.id] if names[u.id][0].isascii() else _latin_of(u, names)
    t0 = dt.datetime(2022, 1, 17, 9, 0, tzinfo=dt.timezone.utc)
    out: list[ZoomRow] = []
    meeting = 0
    people: dict[int, tuple[str, str]] = {}
    while len(out) < rows:
        meeting += 1
        start = t0 + dt.timedelta(days=meeting)
        uuid = f"inst{meeting}=="
        for u in rng.sample(users, 300):
            ident = people.setdefault(u.id, display(u, latin[u.id], rng)) if rng.random() < 0.8 \
                else display(u, latin[u.id], rng)
            for j in range(rng.choice((1, 1, 2, 3))):  # rejoins
                a = start + dt.timedelta(minutes=rng.uniform(0, 60) + 30 * j)
                out.append(ZoomRow(uuid, ident[0], ident[1], a, a + dt.timedelta(minutes=rng.uniform(5, 60))))
        for k in range(6):
            extra = rng.choice(("Interpreter RU", "Guest", f"+996 555 {rng.randrange(100000, 999999)}",
                                rng.choice(DEVICES), f"Observer {k}", "Otter.ai"))
            out.append(ZoomRow(uuid, extra, "", start, start + dt.timedelta(minutes=90)))
    return out[:rows]


_FIRST_BY_CYR = {cyrillic(f): f for f in FIRST}
_LAST_BY_CYR = {cyrillic(la): la for la in LAST}


def _latin_of(u: RosterUser, names: dict[int, tuple[str, str]]) -> tuple[str, str]:
    f, la = names[u.id]
    return _FIRST_BY_CYR.get(f, f), _LAST_BY_CYR.get(la, la)


def ours(users: list[RosterUser], rows: list[ZoomRow]) -> dict[str, int]:
    presences = merge_rows(rows)
    matcher = Matcher(RosterIndex.build(users))
    counts = {"match": 0, "ambiguous": 0, "none": 0}
    for p in presences:
        counts[matcher.match(p.name, p.email).status.value] += 1
    return counts


def plain(users: list[RosterUser], rows: list[ZoomRow]) -> dict[str, int]:
    presences = merge_rows(rows)
    by_email = {u.email.lower(): u.id for u in users}
    by_name = {f"{u.firstname} {u.lastname}".lower(): u.id for u in users}
    counts = {"match": 0, "ambiguous": 0, "none": 0}
    for p in presences:
        hit = by_email.get(p.email.strip().lower()) or by_name.get(" ".join(p.name.split()).lower())
        counts["match" if hit else "none"] += 1
    return counts


def measure(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    gc.collect()
    tracemalloc.start()
    t = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return elapsed, peak, result


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall time and CPU time of the process (the machine is shared: CPU time is what the code costs)."""
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    users = roster(args.users, rng)
    rows = report(users, args.rows, rng)
    print(f"{len(rows):,} participant rows, {len(users):,} enrolled users, "
          f"{len({(r.meeting_uuid, r.name, r.email) for r in rows}):,} distinct (instance, name, e-mail), "
          f"{len({(r.name, r.email) for r in rows}):,} distinct (name, e-mail)")
    w_ours, t_ours = min(timed(lambda: ours(users, rows)) for _ in range(3))
    w_plain, t_plain = min(timed(lambda: plain(users, rows)) for _ in range(3))
    _t, peak_ours, c_ours = measure(lambda: ours(users, rows))
    _t, peak_plain, c_plain = measure(lambda: plain(users, rows))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"oca-sync matcher : {t_ours:6.2f} s CPU, {w_ours:6.2f} s wall (best of 3), peak {peak_ours:6.1f} MiB allocated; "
          f"identities: {c_ours['match']:,} match, {c_ours['ambiguous']:,} ambiguous, {c_ours['none']:,} none")
    print(f"plain e-mail+name: {t_plain:6.2f} s CPU, {w_plain:6.2f} s wall (best of 3), peak {peak_plain:6.1f} MiB allocated; "
          f"identities: {c_plain['match']:,} match, {c_plain['none']:,} none")
    print(f"ratio (CPU time) {t_ours / t_plain:.1f}x; process peak RSS {rss:.0f} MiB "
          f"(rows and roster included); targets < 2 s and < 300 MiB: "
          f"{'met' if t_ours < 2 and peak_ours < 300 else 'NOT met'}")
    assert Status.MATCH.value == "match"


if __name__ == "__main__":
    main()
