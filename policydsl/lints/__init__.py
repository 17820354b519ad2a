"""Lints: warnings about policy that is legal but probably not what the analyst meant.

Each lint is a function over the resolved ``Workspace`` that appends warnings; ``lints`` runs
them all. ``policyc check --strict`` turns these warnings into errors.

Lints read only what the resolver built: the model rules of each scope (with the statement
each came from) and the final ``RuleSet`` of each policy. A rule that failed to resolve is
simply absent, so a lint never sees half a rule. Rules read from a CMS ``table`` take part as
the *other* rule of a finding (an add-on written in the policy whose primary a PTP row forbids
with it is worth knowing), but a warning is only ever reported at a rule written in policy
text, the one thing an analyst can change (or, when the table is the extending policy's and
the other rule inherited, at its ``table`` statement). A finding between two rules is found in
every ``RuleSet`` holding both and reported once; when one rule's policy extends the other's,
in the extending policy's file (``_Index.extends``).

- W301 ``deleted_code_used``: a rule names a code that a ``deleted`` rule in scope deletes,
  and the rule would apply on or after the deletion. Named means written out, in the rule or
  a set it uses: a deleted code that only falls inside a range is not reported.
- W302 ``self_forbid``: ``when X forbid X``.
- W303 ``addon_primary_forbidden``: an add-on whose primary is forbidden with it (by a
  ``forbid``, or an ``exclusive`` listing both).
- W304 ``identical_rules``: two rules equal in all but id, source and message.
- W305 ``redundant_limit``: a limit, ``mue`` or ``exclusive`` that never denies a line a
  stricter one does not.
- W306 ``unused_sets``: a set that no rule uses.
- W307 ``disable_by_line``: ``disable`` of an unnamed rule, whose id (``KIND@LINE``) follows
  its line and so changes when the lines of its file move.
- W308, W309 ``exclusive_conflicts``: two ``exclusive`` rules that rank two codes both ways
  (billed together, neither line is paid); an ``exclusive`` of one code (it never fires).
- W310 ``late_effective``: the file's ``effective`` written after a rule (it dates the
  rules above it too).
- W311 ``disable_again``: ``disable`` of a rule already switched off, by an earlier line or
  by a policy this one extends.
- W312 ``indented_after_rule``: a rule indented under a named rule, which is not part of it.
- W313 ``placeholder_diagnosis``: a diagnosis ending in X, ICD-10-CM's placeholder, which no
  complete code ends in (``M54.5x`` for ``M54.5*``).
- W314 ``override_leaves_days``: a named rule that replaces an inherited one (which it does
  on every date) but is not in force on some days the inherited one was.
- W315 ``override_shares_no_code``: a named rule that replaces an inherited one with which
  it shares no code: a new rule given a name its parent uses, most likely.
- W316 ``blank_message``: a rule's message is empty or blank (its findings say nothing).
"""

from __future__ import annotations

from collections.abc import Callable

from ..resolve import Workspace
from .deleted import deleted_code_used
from .index import CURRENT, Index
from .inheritance import (
    disable_again,
    disable_by_line,
    override_leaves_days,
    override_shares_no_code,
)
from .layout import blank_message, indented_after_rule, late_effective
from .pairs import (
    addon_primary_forbidden,
    exclusive_conflicts,
    identical_rules,
    redundant_limit,
    self_forbid,
)
from .sets import placeholder_diagnosis, unused_sets

LINTS: list[tuple[str, Callable[[Workspace], None]]] = [
    ("deleted-code-used", deleted_code_used),
    ("self-forbid", self_forbid),
    ("addon-primary-forbidden", addon_primary_forbidden),
    ("identical-rules", identical_rules),
    ("redundant-limit", redundant_limit),
    ("unused-sets", unused_sets),
    ("disable-by-line", disable_by_line),
    ("exclusive-conflicts", exclusive_conflicts),
    ("late-effective", late_effective),
    ("disable-again", disable_again),
    ("indented-after-rule", indented_after_rule),
    ("placeholder-diagnosis", placeholder_diagnosis),
    ("override-leaves-days", override_leaves_days),
    ("override-shares-no-code", override_shares_no_code),
    ("blank-message", blank_message),
]


def lints(ws: Workspace) -> None:
    """Run every lint over the resolved workspace, appending warnings."""
    token = CURRENT.set(Index(ws))
    try:
        for _name, lint in LINTS:
            lint(ws)
    finally:
        CURRENT.reset(token)
