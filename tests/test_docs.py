"""The examples of docs/: every policy the documentation shows (a ```pol block) is valid.

Each block is written as a policy file in a folder beside the shipped policies (so that
``extends medicare.pain`` finds them, as it would for an analyst's ``policies/<payer>/``) and
loaded; a block that shows only statements gets a ``policy`` line first. The block must load
without an error: warnings are allowed, as some blocks show what a lint reports.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policydsl import load
from policydsl.diagnostics import PolicyError

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SHIPPED = REPO / "policies"
_BLOCK = re.compile(r"^```pol\n(.*?)^```", re.MULTILINE | re.DOTALL)
_POLICY = re.compile(r"^policy\s", re.MULTILINE)


def policy_blocks() -> list[tuple[str, str]]:
    """Every ```pol block of docs/, as (``file:line`` of its first line, its text)."""
    found = []
    for doc in sorted(DOCS.rglob("*.md")):
        text = doc.read_text(encoding="utf-8")
        for block in _BLOCK.finditer(text):
            line = text.count("\n", 0, block.start(1)) + 1
            found.append((f"{doc.relative_to(DOCS)}:{line}", block.group(1)))
    return found


BLOCKS = policy_blocks()


def test_the_docs_show_policies() -> None:
    # the reference shows every statement with an example: far more than a handful
    assert len(BLOCKS) >= 25


@pytest.mark.parametrize(("where", "text"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_every_policy_in_the_docs_loads(tmp_path: Path, where: str, text: str) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    for payer in ("medicare", "commercial"):
        (policies / payer).symlink_to(SHIPPED / payer, target_is_directory=True)
    folder = policies / "docs"
    folder.mkdir()
    for tables in ("ncci", "pfs"):  # a table statement names its file beside the policy
        (folder / tables).symlink_to(SHIPPED / "medicare" / tables, target_is_directory=True)
    if not _POLICY.search(text):
        text = "policy docs.example\n" + text
    example = folder / "example.pol"
    example.write_text(text, encoding="utf-8")
    try:
        load(example)
    except PolicyError as exc:
        pytest.fail(f"docs/{where}: the example does not load:\n{exc}")
