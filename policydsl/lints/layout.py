"""Lints of how a file is laid out and its rules written: W310 the file's ``effective`` written
after a rule, W312 a rule indented under a named rule (or written under its body, as one more
line of it), which is not part of it, W316 a rule's message left blank."""

from __future__ import annotations

import itertools
import unicodedata

from .. import nodes as n
from ..resolve import Workspace
from .index import (
    index_for,
)

# --- W310 ---------------------------------------------------------------------------------


def late_effective(ws: Workspace) -> None:
    """W310: the file's ``effective`` written after a rule. It dates every rule of the file,
    those above it too; under a rule, indented, it reads as that rule's own date, which a
    rule's header gives (``rule NAME effective DATE: ...``)."""
    index = index_for(ws)
    for scope in ws.scopes.values():
        statements = scope.module.statements
        first_rule = next((st for st in statements
                           if isinstance(st, (n.NamedRule, *n.RULE_BODIES))), None)
        if first_rule is None:
            continue
        for st in statements:
            if isinstance(st, n.Effective) and st.span.line > first_rule.span.line:
                index.report(
                    "W310",
                    "this sets the validity of every rule in the file, the rules above it "
                    f"too (from line {first_rule.span.line}); to date one rule, give it in "
                    "the rule's header (rule NAME effective DATE: ...), or move this line "
                    "above the rules",
                    scope.module.path, st.span)


# --- W312 ---------------------------------------------------------------------------------


def indented_after_rule(ws: Workspace) -> None:
    """W312: a rule statement indented under a named rule, or written in line with the body
    of a named rule whose header stands alone on its line, which reads as part of that rule
    but is a rule of its own: a rule has one body, so a second limit written under ``rule acu
    review carc 96: ...`` is an unnamed rule that denies with its kind's CARC."""
    index = index_for(ws)
    for scope in ws.scopes.values():
        for before, st in itertools.pairwise(scope.module.statements):
            if not isinstance(before, n.NamedRule) or not isinstance(st, n.RULE_BODIES):
                continue
            body = before.body.span
            if st.span.column > 1 and st.span.line > before.span.line:
                looks, fix = "is indented under", "move it to the margin"
                if body.line > before.span.line and body.column == 1:
                    # at the margin under a body at the margin, it would read as the body again
                    fix = (f"indent the body of rule '{before.name.text}' and move this to the "
                           "margin")
            elif (body.line > before.span.line and st.span.column == body.column
                    and st.span.line == body.end_line + 1):
                # the header alone on its line, its body below it at the margin, and this on
                # the very next line, as one more line of the body
                looks = "is written like the body of"
                fix = f"indent the body of rule '{before.name.text}' to set the two apart"
            else:
                continue
            index.report(
                "W312", f"this rule {looks} rule '{before.name.text}' (line "
                f"{before.span.line}) but is not part of it: a rule has one statement, so "
                "this is an unnamed rule of its own, with its kind's action and CARC; name "
                f"it (rule NAME: ...), or {fix}", scope.module.path, st.span)


# --- W316 ---------------------------------------------------------------------------------


def blank_message(ws: Workspace) -> None:
    """W316: a named rule whose message is empty or only spaces. Its findings would tell the
    provider nothing, where leaving the message out gives the body's default sentence."""
    index = index_for(ws)
    for scope in ws.scopes.values():
        for st in scope.module.statements:
            if isinstance(st, n.NamedRule) and st.options.message is not None \
                    and _blank(st.options.message.value):
                index.report(
                    "W316", f"rule '{st.name.text}' has an empty message: its findings would "
                    "say nothing to the provider; write one, or leave it out for the default "
                    "(made from the rule's text)", scope.module.path, st.options.message.span)


def _blank(text: str) -> bool:
    """Whether ``text`` shows nothing: spaces, and characters that show as nothing (a
    zero-width space, say)."""
    return all(char.isspace() or unicodedata.category(char) in ("Cf", "Zs") for char in text)
