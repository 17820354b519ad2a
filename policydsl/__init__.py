"""policydsl: payer payment policy as a language, a compiler and a claims engine.

Embedding::

    import policydsl
    policy = policydsl.load("policies/medicare")
    decisions = policy.adjudicate(lines, history=paid_lines)

``ClaimLine`` goes in, ``Decision`` (with its ``Finding``s) comes out; see docs/api.md.
"""

from .api import Policy, compile_text, load
from .claims import ClaimLine, Decision, Finding, LineRef
from .diagnostics import Diagnostic, PolicyError

__version__ = "0.1.0"

__all__ = [
    "ClaimLine",
    "Decision",
    "Diagnostic",
    "Finding",
    "LineRef",
    "Policy",
    "PolicyError",
    "__version__",
    "compile_text",
    "load",
]
