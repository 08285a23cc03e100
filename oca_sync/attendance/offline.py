"""``oca-sync attendance match``: a roster file and a participant export, matched offline."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .files import OUTPUT_COLUMNS, outcome_rows, read_participants, read_roster, write_csv
from .match import Matcher, Outcome, RosterIndex
from .participants import Presence, merge_rows


@dataclass
class OfflineMatch:
    presences: list[Presence]
    outcomes: dict[tuple[str, str], Outcome]

    def counts(self) -> Counter[str]:
        return Counter(self.outcomes[p.identity].status.value for p in self.presences)

    def csv(self, output: Path | None) -> str:
        return write_csv(output, OUTPUT_COLUMNS, outcome_rows(self.presences, self.outcomes))


def match_files(roster: Path, participants: Path) -> OfflineMatch:
    """Read both files (all errors before any output), merge rejoins, match every identity."""
    users = read_roster(roster)
    rows = read_participants(participants)
    presences = sorted(merge_rows(rows), key=lambda p: (p.meeting_uuid, p.first_join or p.name, p.name))
    matcher = Matcher(RosterIndex.build(users))
    return OfflineMatch(presences, {p.identity: matcher.match(*p.identity) for p in presences})
