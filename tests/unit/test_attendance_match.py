"""Matching, step by step (parse, index, compare, classify), and its properties (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oca_sync.attendance.match import (
    EXTRA,
    FIRST,
    FULL,
    INITIAL,
    TYPO,
    Matcher,
    RosterIndex,
    RosterUser,
    Status,
    compare,
    parse_display,
)
from oca_sync.attendance.translit import first_name_forms, name_keys, skeleton, to_latin

GROUPS = {("kelechek",): "Kelechek", ("ak", "jol"): "Ak-Jol"}


def test_transliteration_of_kyrgyz_and_kazakh_letters() -> None:
    assert to_latin("Өмүр Миң Үмүт") == "omur ming umut"
    assert to_latin("Қайрат Нұрланов Әлия Ғалым Һ") == "kairat nurlanov aliya galym h"
    assert skeleton("Айжан") == skeleton("Aizhan") == skeleton("Ayzhan") == skeleton("Aijan")
    assert skeleton("Khalida") == skeleton("Halida") == skeleton("Халида")
    assert skeleton("Aliyev") == skeleton("Aliev") == skeleton("Алиев")
    assert skeleton("Yulia") == skeleton("Юлия")


def test_patronymic_surnames_glue_to_the_name_before() -> None:
    assert name_keys("Бакыт уулу") == name_keys("Bakyt uulu") == name_keys("Bakytuulu")
    assert name_keys("Мелис кызы") == name_keys("Melis kyzy") == name_keys("Meliskyzy")
    assert name_keys("уулу") == ("ulu",)  # alone, it stays a word


def test_diminutives_stand_for_full_names() -> None:
    assert {skeleton("Aleksandr"), skeleton("Aleksandra")} <= first_name_forms(skeleton("Sasha"))
    assert skeleton("Dmitriy") in first_name_forms(skeleton("Dima"))
    assert first_name_forms(skeleton("Aibek")) == {skeleton("Aibek")}


def test_parse_takes_off_groups_roles_and_devices() -> None:
    p = parse_display("Kelechek - Aibek (host)", GROUPS)
    assert (p.keys, p.kind, p.group) == (("aibek",), "person", "Kelechek")
    assert set(p.removed) == {"group", "role"}
    assert parse_display("Aibek Asanov (Ak-Jol)", GROUPS).group == "Ak-Jol"
    assert parse_display("iPhone (Samat)").keys == ("samat",)
    assert parse_display("Samat's iPhone").keys == ("samat",)
    assert parse_display("Galaxy A52").kind == "device"
    assert parse_display("+996 (555) 12-34-56").kind == "phone"
    assert parse_display("Interpreter (RU)").kind == "non-person"
    assert parse_display("Kelechek", GROUPS).kind == "organisation"
    assert parse_display("   ").kind == "empty"


def _person(first: str, last: str) -> object:
    idx = RosterIndex.build([RosterUser(1, "u", first, last, "")])
    return idx.people[1]


def test_compare_levels() -> None:
    p = _person("Айбек", "Асанов")
    assert compare(("asanov", "aibek"), p) == FULL  # type: ignore[arg-type]
    assert compare(name_keys("Aibek Bakytovich Asanov"), p) == EXTRA  # type: ignore[arg-type]
    assert compare(name_keys("Aibek Asnov"), p) == TYPO  # type: ignore[arg-type]
    assert compare(name_keys("Aibek A."), p) == INITIAL  # type: ignore[arg-type]
    assert compare(name_keys("Aibek"), p) == FIRST  # type: ignore[arg-type]
    assert compare(name_keys("Asanov"), p) is None  # type: ignore[arg-type]
    assert compare(name_keys("Aibk Asnov"), p) is None  # type: ignore[arg-type]  # two typos
    assert compare(name_keys("A. A."), p) is None  # type: ignore[arg-type]  # initials only


def test_index_blocks_on_shared_keys_only() -> None:
    users = [RosterUser(1, "a", "Aibek", "Asanov", ""), RosterUser(2, "b", "Nurlan", "Kim", ""),
             RosterUser(3, "c", "Aleksandr", "Li", "")]
    idx = RosterIndex.build(users)
    assert idx.candidates(name_keys("Kim Nurlan Aibek"), None) == {2}  # two words must meet a user's two
    assert idx.candidates(name_keys("Aibek Kim"), None) == set()  # one word each: nobody can fit
    assert idx.candidates(name_keys("Aibek K."), None) == {1}  # an initial stands for one word
    assert idx.candidates(name_keys("Asnov Aibek"), None) == {1}  # one edit away
    assert idx.candidates(name_keys("Sasha"), None) == {3}  # a diminutive
    assert idx.candidates(name_keys("Bolot"), None) == set()
    assert idx.candidates(name_keys("Nurlan Kim"), {1}) == set()


def test_email_wins_and_a_shared_account_is_ambiguous() -> None:
    users = [RosterUser(1, "a", "Aibek", "Asanov", "aibek@x.kg"), RosterUser(2, "b", "Nurlan", "Kim", "n@x.kg")]
    m = Matcher(RosterIndex.build(users))
    assert m.match("Galaxy A52", " AIBEK@x.kg").userid == 1
    shared = m.match("Nurlan Kim", "aibek@x.kg")
    assert (shared.status, shared.candidates, shared.rule) == (Status.AMBIGUOUS, (1, 2), "shared-account")


def test_two_users_with_one_email_are_ambiguous() -> None:
    users = [RosterUser(1, "a", "Aibek", "Asanov", "cso@x.kg"), RosterUser(2, "b", "Nurlan", "Kim", "cso@x.kg")]
    out = Matcher(RosterIndex.build(users)).match("Aibek", "cso@x.kg")
    assert (out.status, out.candidates) == (Status.AMBIGUOUS, (1, 2))


def test_a_mapping_to_a_user_who_left_is_ignored() -> None:
    users = [RosterUser(1, "a", "Aibek", "Asanov", "")]
    m = Matcher(RosterIndex.build(users), {("apa", ""): 99, ("baike", ""): 1})
    assert m.match("Apa").status is Status.NONE
    assert m.match("  BAIKE ").userid == 1  # case and spacing ignored


def test_review_flags() -> None:
    users = [RosterUser(1, "a", "Aibek", "Asanov", ""), RosterUser(2, "b", "Aibek", "Kim", "")]
    m = Matcher(RosterIndex.build(users))
    assert m.match("Aibek").needs_review
    assert m.match("John Smith").needs_review
    assert not m.match("Galaxy A52").needs_review
    assert not m.match("Aibek Kim").needs_review


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

FIRSTS = ["Айбек", "Aibek", "Нурлан", "Aizhan", "Айжан", "Samat", "Гульнара", "Dmitriy", "Дмитрий", "Aleksandra",
          "Александр", "Bermet", "Чолпон", "Kanykei", "Үмүт", "Өмүр", "Elena", "Sanzhar", "Azamat", "Ilya"]
LASTS = ["Asanov", "Асанов", "Kim", "Ким", "Бакыт уулу", "Melis kyzy", "Sadykova", "Садыкова", "Toktogulov",
         "Li", "Ибраимова", "Ibraimova", "Abdieva", "Usenov", "Сыдыков", "Omurova", "Petrova", "Ермеков"]

users_st = st.lists(st.tuples(st.sampled_from(FIRSTS), st.sampled_from(LASTS)), min_size=1, max_size=12).map(
    lambda names: [RosterUser(i + 1, f"u{i + 1}", f, last, f"u{i + 1}@x.kg") for i, (f, last) in enumerate(names)])
display_st = st.one_of(
    st.tuples(st.sampled_from(FIRSTS), st.sampled_from(LASTS)).map(lambda t: f"{t[0]} {t[1]}"),
    st.tuples(st.sampled_from(LASTS), st.sampled_from(FIRSTS)).map(lambda t: f"{t[0]} {t[1]}"),
    st.sampled_from(FIRSTS),
    st.text(min_size=0, max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(users_st, display_st)
def test_outcomes_are_well_formed(users: list[RosterUser], name: str) -> None:
    out = Matcher(RosterIndex.build(users)).match(name)
    ids = {u.id for u in users}
    if out.status is Status.MATCH:
        assert out.userid in ids and out.userid in out.candidates
    elif out.status is Status.AMBIGUOUS:
        assert out.userid is None and out.candidates and set(out.candidates) <= ids
    else:
        assert out.userid is None and not out.candidates
    assert out.reason


@settings(max_examples=300, deadline=None)
@given(users_st, display_st, st.data())
def test_a_name_never_matches_one_of_two_identical_users(users: list[RosterUser], name: str, data: st.DataObject) -> None:
    twin_of = data.draw(st.sampled_from(users))
    twin = RosterUser(999, "twin", twin_of.firstname, twin_of.lastname, "twin@x.kg", twin_of.groups)
    out = Matcher(RosterIndex.build([*users, twin])).match(name)
    assert out.userid not in (twin.id, twin_of.id)


@settings(max_examples=300, deadline=None)
@given(users_st, display_st, st.tuples(st.sampled_from(FIRSTS), st.sampled_from(LASTS)))
def test_adding_a_user_never_makes_a_wrong_match(users: list[RosterUser], name: str, extra: tuple[str, str]) -> None:
    before = Matcher(RosterIndex.build(users)).match(name)
    newcomer = RosterUser(999, "new", extra[0], extra[1], "new@x.kg")
    after = Matcher(RosterIndex.build([*users, newcomer])).match(name)
    if before.status is Status.NONE:
        assert after.status is Status.NONE or after.userid in (None, 999)
    if before.status is Status.MATCH:
        assert after.userid in (before.userid, 999, None)
        if after.userid is None:
            assert before.userid in after.candidates


@settings(max_examples=200, deadline=None)
@given(users_st, st.data())
def test_a_unique_name_is_found_in_either_alphabet(users: list[RosterUser], data: st.DataObject) -> None:
    u = data.draw(st.sampled_from(users))
    same = [v for v in users if name_keys(v.fullname) == name_keys(u.fullname)]
    out = Matcher(RosterIndex.build(users)).match(to_latin(f"{u.lastname} {u.firstname}").title())
    if len(same) == 1:
        assert out.userid == u.id, out
    else:
        assert out.status is Status.AMBIGUOUS
