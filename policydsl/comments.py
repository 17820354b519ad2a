"""Where ``#`` comments are in policy text: a ``#`` outside quoted text starts one, to the end of
its line. The parser keeps them on the module (the formatter puts them back); syntax errors skip
them to find where a statement ends."""

from __future__ import annotations

from . import nodes as n


def comments(text: str) -> tuple[n.Comment, ...]:
    """Every ``#`` comment outside a string, with its span."""
    found = []
    # Lark counts lines by "\n" only; so must we, or a form feed in a string would shift them.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        col = comment_column(line)
        if col is not None:
            comment = line[col:].rstrip()
            found.append(n.Comment(comment, span=n.Span(number, col + 1, number,
                                                        col + 1 + len(comment))))
    return tuple(found)


def comment_column(line: str) -> int | None:
    """Where the line's comment starts: its first '#' outside quoted text (where ``\\"`` is a
    quote inside the text); None when it has none."""
    quoted = escaped = False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return i
    return None
