"""Where something is written in a policy file: ``Span``, a node's or a diagnostic's place.

Apart from the AST (``nodes``) so that what only needs places (diagnostics, a policy restored
from the cache) does not load every node class.
"""

from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class Span:
    """Where a node is: 1-based line and column of its first character, and of the character
    just after its last (``end_column`` is exclusive, as in Lark)."""

    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(0, 0, 0, 0)
