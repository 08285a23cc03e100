from oca_sync.spec.multilang import format_text, plain, render


def test_render_plain_string_is_unchanged() -> None:
    assert render("Hello", ["en", "ru"]) == "Hello"


def test_render_dict_gives_spans_in_programme_order() -> None:
    text = {"ru": "Привет", "en": "Hello", "ky": "Салам"}
    assert render(text, ["en", "ru", "ky"]) == (
        '<span lang="en" class="multilang">Hello</span>'
        '<span lang="ru" class="multilang">Привет</span>'
        '<span lang="ky" class="multilang">Салам</span>'
    )


def test_render_only_languages_present() -> None:
    assert render({"en": "Hello", "ky": "Салам"}, ["en", "ru", "ky"]) == (
        '<span lang="en" class="multilang">Hello</span><span lang="ky" class="multilang">Салам</span>'
    )


def test_render_single_language_needs_no_span() -> None:
    assert render({"ru": "Привет"}, ["en", "ru"]) == "Привет"


def test_plain_picks_language_then_fallbacks() -> None:
    text = {"en": "Hello", "ru": "Привет"}
    assert plain(text, "ru") == "Привет"
    assert plain(text, "ky", ["ru", "en"]) == "Привет"
    assert plain(text, None, ["en"]) == "Hello"
    assert plain({"ky": "Салам"}, "en", ["ru"]) == "Салам"
    assert plain("Hi", "ru") == "Hi"


def test_format_text_substitutes_every_language() -> None:
    text = {"en": "Mentoring {n}", "ru": "Менторство {n:02d}"}
    assert format_text(text, n=3) == {"en": "Mentoring 3", "ru": "Менторство 03"}


def test_format_text_leaves_other_braces_alone() -> None:
    body = "<style>p {color: red}</style> {unknown} {n} {0} } {"
    assert format_text(body, n=7) == "<style>p {color: red}</style> {unknown} 7 {0} } {"


def test_render_works_for_any_moodle_language_code() -> None:
    text = {"kk": "Сабақ", "uz": "Dars", "pt_br": "Aula"}
    assert render(text, ["kk", "uz", "pt_br"]) == (
        '<span lang="kk" class="multilang">Сабақ</span><span lang="uz" class="multilang">Dars</span>'
        '<span lang="pt_br" class="multilang">Aula</span>')
    assert plain(text, "pt_br") == "Aula" and plain(text, "tr", ["uz"]) == "Dars"
