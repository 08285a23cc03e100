"""Multilingual text (``MultiText``): one string, or one string per language.

Moodle shows the right language with its multilang filter, which expects the
variants side by side as ``<span lang="xx" class="multilang">…</span>`` blocks.
Places that take a single language (Zoom topics, iCal, logs) use :func:`plain`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from oca_sync.spec.models import Lang, MultiText

# ``{name}`` or ``{name:format-spec}``; anything else in braces is left alone.
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")


def _variants(text: Mapping[Lang, str]) -> dict[str, str]:
    return dict(text.items())


def _present(text: Mapping[str, str], languages: Sequence[str]) -> list[str]:
    """Languages of ``text`` in the order of ``languages`` (all of them if none match)."""
    present = [lang for lang in languages if lang in text]
    # A dict without any of the wanted languages is a spec error reported by the
    # checks; render it anyway rather than silently dropping the text.
    return present or list(text)


def render(text: MultiText, languages: Sequence[str]) -> str:
    """Text for Moodle: a plain string as is, a dict as multilang filter spans.

    The texts are inserted verbatim (they may hold HTML, e.g. a page body).
    A dict holding only one of the languages gives that text without a span.
    """
    if isinstance(text, str):
        return text
    variants = _variants(text)
    present = _present(variants, languages)
    if len(present) == 1:
        return variants[present[0]]
    return "".join(f'<span lang="{lang}" class="multilang">{variants[lang]}</span>' for lang in present)


def plain(text: MultiText, lang: str | None = None, fallback_languages: Sequence[str] = ()) -> str:
    """One language of ``text``: ``lang`` if present, else the first fallback present, else any."""
    if isinstance(text, str):
        return text
    variants = _variants(text)
    for candidate in ([lang] if lang else []) + list(fallback_languages):
        if candidate in variants:
            return variants[candidate]
    return next(iter(variants.values()), "")


def format_text(text: MultiText, **values: object) -> MultiText:
    """Substitute ``{name}`` / ``{name:spec}`` fields in every language.

    Unlike ``str.format`` this leaves unknown fields and lone braces untouched,
    so a title such as ``"Q&A {live}"`` or CSS in a page body does not break.
    """

    def one(s: str) -> str:
        def sub(m: re.Match[str]) -> str:
            name, spec = m.group(1), m.group(2)
            if name not in values:
                return m.group(0)
            return format(values[name], spec or "")

        return _FIELD.sub(sub, s)

    if isinstance(text, str):
        return one(text)
    return {lang: one(s) for lang, s in text.items()}
