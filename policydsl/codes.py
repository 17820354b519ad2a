"""Procedure codes, diagnosis codes and modifiers: their shapes, ranges and patterns.

CPT Category I is five digits; Category II, III and PLA codes are four digits and a letter
(``F``, ``T``, ``U``, and ``A``/``M`` for the vaccine and multianalyte codes); HCPCS Level II
is a letter and four digits. Codes of one shape order like their text, so a range is every code
of that shape between its ends. ICD-10-CM diagnoses are a letter, a digit, a letter or digit,
then up to four more after an optional dot; a pattern ending in ``*`` names a prefix.
"""

from __future__ import annotations

import re

_CPT = re.compile(r"\d{5}", re.ASCII)
_CPT_ALPHA = re.compile(r"\d{4}[FTUAM]", re.ASCII)
_HCPCS = re.compile(r"[A-Z]\d{4}", re.ASCII)
_ICD10 = re.compile(r"[A-Z]\d[A-Z0-9](\.?[A-Z0-9]{1,4})?", re.ASCII)
_ICD10_PREFIX = re.compile(r"[A-Z](\d([A-Z0-9](\.?[A-Z0-9]{0,4})?)?)?", re.ASCII)
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_CARC = re.compile(r"[A-Z]?\d{1,3}", re.ASCII)

#: The widest range the language accepts; wider ones are almost surely typos.
MAX_RANGE = 100_000


def normalize(code: str) -> str:
    return code.strip().upper()


def code_shape(code: str) -> str | None:
    """``"cpt"``, ``"cpt-<letter>"`` (Category II, III, PLA: the letter), ``"hcpcs"``, or
    ``None`` for no valid code."""
    code = normalize(code)
    if _CPT.fullmatch(code):
        return "cpt"
    if _CPT_ALPHA.fullmatch(code):
        return "cpt-" + code[4]
    if _HCPCS.fullmatch(code):
        return "hcpcs"
    return None


def is_code(code: str) -> bool:
    return code_shape(code) is not None


def expand_range(low: str, high: str) -> list[str]:
    """Every code from ``low`` to ``high`` inclusive; both must be valid codes of one shape."""
    low, high = normalize(low), normalize(high)
    shape = code_shape(low)
    if shape == "cpt":
        return [f"{i:05d}" for i in range(int(low), int(high) + 1)]
    if shape is not None and shape.startswith("cpt-"):
        return [f"{i:04d}{low[4]}" for i in range(int(low[:4]), int(high[:4]) + 1)]
    letters = [chr(c) for c in range(ord(low[0]), ord(high[0]) + 1)]
    out: list[str] = []
    for letter in letters:
        start = int(low[1:]) if letter == low[0] else 0
        stop = int(high[1:]) if letter == high[0] else 9999
        out.extend(f"{letter}{i:04d}" for i in range(start, stop + 1))
    return out


def range_size(low: str, high: str) -> int:
    low, high = normalize(low), normalize(high)
    shape = code_shape(low)
    if shape == "hcpcs":
        return (ord(high[0]) - ord(low[0])) * 10000 + int(high[1:]) - int(low[1:]) + 1
    digits = 5 if shape == "cpt" else 4
    return int(high[:digits]) - int(low[:digits]) + 1


def is_modifier(text: str) -> bool:
    return _MODIFIER.fullmatch(normalize(text)) is not None


def is_carc(text: str) -> bool:
    return _CARC.fullmatch(normalize(text)) is not None


#: Claim adjustment group codes (X12 CAS01), which analysts often write before a CARC
#: (``CO119``, ``CO-119``): not part of it.
CARC_GROUPS = ("CO", "PR", "OA", "PI", "CR")


def diagnosis_pattern(text: str) -> tuple[str, bool] | None:
    """``(code without dot, is_prefix)`` for a valid ICD-10-CM code or ``X12*`` prefix."""
    text = normalize(text)
    if text.endswith("*"):
        body = text[:-1]
        if _ICD10_PREFIX.fullmatch(body) and not body.endswith("."):
            return body.replace(".", ""), True
        return None
    if _ICD10.fullmatch(text):
        return text.replace(".", ""), False
    return None


def looks_like_code(text: str) -> bool:
    """A token of a code list that is no valid code but has a code's shape (it starts with a
    digit, or is a letter and four digits), so it cannot be a set name: a malformed code."""
    return text[:1].isdigit() or (len(text) == 5 and text[0].isalpha() and text[1:].isdigit())


def looks_like_diagnosis(text: str) -> bool:
    """A token that has the shape of a diagnosis (so it cannot be a dx set name)."""
    return "." in text or "*" in text or diagnosis_pattern(text) is not None


def dx_word_text(text: str) -> str:
    """A word of a dx list as the canonical layout writes it: upper case when it is (or can
    only be) a diagnosis, as written when it may name a dx set."""
    return text.upper() if looks_like_diagnosis(text) or text[:1].isdigit() else text
