"""Synthetic benchmark data: pain-management claims and payer policies of any size.

Writes, deterministically for a given ``--seed``:

- ``claims.csv``: claim lines in the ``policyc run`` format (``claim_id, line, member_id,
  provider_id, date, code, modifiers, units, dx, pos, auth``) with a pain-management mix:
  members with 1-500 lines (most small, a few large), claims of 1-6 lines on one date,
  1-3 providers per member, dates over 2023-2024, E/M visits, acupuncture, epidural steroid
  injections with fluoroscopy, facet injections, radiofrequency ablation, trigger points,
  spinal cord stimulators, Botox with J0585, and other CPT/HCPCS codes.
- ``policy.pol``: a policy of ``--rules`` rules of every kind (NCCI-like forbid pairs, MUEs,
  add-ons, limits, diagnosis and authorization requirements, global periods, mutually
  exclusive codes, prerequisites, deleted codes, forbidden modifiers) over the codes the
  claims use and a space of other plausible codes. ``policyc check`` reports no error and no
  warning on it.
- ``policy_unused.pol`` (with ``--unused-rules N``): the same rules plus N rules whose codes the
  claims never carry: Category III codes ``0100T-0999T`` and HCPCS Level II codes of letters
  the claims never use (A, B, C, E, K, L, Q, S, V).

The code space (which codes exist, which are add-ons, which are deleted) is fixed and does not
depend on the seed, so claims and policies of different seeds still speak of the same codes.

Examples::

    python benchmarks/generate.py --out benchmarks/out/data --lines 1000000 --rules 10000 \\
        --unused-rules 100000 --seed 1
    python benchmarks/generate.py --out /tmp/tiny --lines 2000 --rules 200 --unused-rules 1000

The module is also imported by ``benchmarks/run.py`` (``member_claim`` builds the history and
claim of the latency scenario).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Columns of a ``policyc run`` claims file, in the order written.
HEADER = "claim_id,line,member_id,provider_id,date,code,modifiers,units,dx,pos,auth"
#: First and last date of service of generated claims.
FIRST_DAY = dt.date(2023, 1, 1)
LAST_DAY = dt.date(2024, 12, 31)
#: The most lines one member can have.
MAX_MEMBER_LINES = 500
#: Bumped whenever the output for a given seed and size changes (cached data is then rebuilt).
VERSION = 1

# --- the code space -----------------------------------------------------------------------

EM = tuple(f"992{n:02d}" for n in (2, 3, 4, 5, 11, 12, 13, 14, 15))
EM_WEIGHTS = (2, 6, 8, 3, 2, 6, 14, 12, 3)
ACUPUNCTURE = ("97810", "97811", "97813", "97814")
ESI = ("62320", "62321", "62322", "62323", "64479", "64480", "64483", "64484")
FLUORO = ("77002", "77003")
FACET = ("64490", "64491", "64492", "64493", "64494", "64495")
RFA = ("64633", "64634", "64635", "64636")
TPI = ("20552", "20553")
SCS = ("63650", "63655", "63685")
BOTOX = ("64612", "64615", "64616", "64617", "64642", "64643", "64644", "64645", "64646",
         "64647")
BOTOX_DRUG = "J0585"
#: Add-on code -> its primaries (CMS add-on edits, type 1, for the pain family).
PAIN_ADDONS: dict[str, tuple[str, ...]] = {
    "97811": ("97810",), "97814": ("97813",), "64480": ("64479",), "64484": ("64483",),
    "64491": ("64490",), "64492": ("64490",), "64494": ("64493",), "64495": ("64493",),
    "64634": ("64633",), "64636": ("64635",), "64643": ("64642", "64644"),
    "64645": ("64644",),
}
#: Deleted codes with their replacements (seed 001); the claims bill them now and then.
PAIN_DELETED = ("62311", "22520", "22521", "22522", "22523", "22524", "99144")
PAIN_CODES: tuple[str, ...] = tuple(sorted(set(
    EM + ACUPUNCTURE + ESI + FLUORO + FACET + RFA + TPI + SCS + BOTOX + (BOTOX_DRUG,))))
#: Codes billed beside pain procedures that NCCI pairs with them (anaesthesia, imaging,
#: injections, nerve blocks, therapy, sedation, drugs).
KNOWN_OTHER = (
    "01991", "01992", "20550", "20551", "20600", "20604", "20605", "20606", "20610", "20611",
    "27096", "36000", "36140", "36410", "62280", "62281", "62282", "62284", "62290", "62291",
    "64400", "64405", "64408", "64415", "64417", "64418", "64420", "64421", "64425", "64430",
    "64435", "64445", "64446", "64447", "64448", "64449", "64450", "64451", "64454", "64455",
    "64461", "64462", "64463", "64486", "64487", "64488", "64489", "64505", "64510", "64517",
    "64520", "64530", "69990", "72020", "72040", "72050", "72070", "72072", "72080", "72100",
    "72110", "72131", "72141", "72148", "72158", "72240", "72265", "72275", "76000", "76380",
    "76942", "76998", "77012", "77021", "95860", "95870", "95873", "95874", "96360", "96365",
    "96372", "96374", "96375", "96376", "97110", "97112", "97140", "97161", "97162", "97163",
    "97530", "97535", "98940", "98941", "99151", "99152", "99153", "99155", "99156", "99157",
    "99406", "99446", "G0260", "G0283", "J0702", "J1030", "J1040", "J1100", "J1885", "J2001",
    "J2250", "J3301",
)
#: Pain diagnoses (ICD-10-CM) and a few unrelated ones, as billed (with the dot).
CLBP = ("M54.50", "M54.51", "M54.59")
PAIN_DX = (
    "M54.16", "M54.17", "M54.12", "M54.2", "M47.816", "M47.817", "M47.812", "M51.16",
    "M51.36", "M48.061", "M48.062", "M79.18", "M79.7", "G89.29", "G89.4", "M25.511",
    "M25.561", "M62.830", "M53.3",
)
BOTOX_DX = ("G43.709", "G43.719", "G24.3", "G35", "I69.351", "G80.0", "G81.10")
OTHER_DX = ("I10", "E11.9", "E78.5", "Z00.00", "J06.9", "F41.1", "K21.9", "N39.0", "R51.9",
            "F32.A", "E66.9", "Z79.891")
ALL_DX = CLBP + PAIN_DX + BOTOX_DX + OTHER_DX
#: Modifiers that bypass a PTP edit of modifier indicator 1 (a subset of NCCI's).
PTP_BYPASS = "59, XE, XS, XP, XU"
#: HCPCS letters and Category III codes the claims never bill (the unused-rules space).
UNUSED_LETTERS = "ABCEKLQSV"


@dataclass(frozen=True)
class CodeSpace:
    """The codes rules and claims are drawn from: fixed, whatever the seed."""

    other: tuple[str, ...]  # plausible CPT/HCPCS codes beside the pain families
    surgery: tuple[str, ...]  # the ``other`` codes that can have a global period
    addons: dict[str, tuple[str, ...]]  # add-on code -> primaries (pain and other)
    deleted: tuple[str, ...]  # codes only ``deleted`` rules name


def _sample_range(rnd: random.Random, low: int, high: int, count: int, fmt: str,
                  taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        code = fmt.format(rnd.randint(low, high))
        if code not in taken:
            taken.add(code)
            out.append(code)
    return out


def code_space() -> CodeSpace:
    """The fixed code space: about 1,500 plausible codes besides the pain families."""
    rnd = random.Random(20240101)
    taken = set(PAIN_CODES) | set(PAIN_DELETED) | set(KNOWN_OTHER)
    taken |= {f"{n}" for n in range(22510, 22516)} | {"99145", "99148", "99149", "99150"}
    drawn = (
        _sample_range(rnd, 10021, 69990, 480, "{:05d}", taken)
        + _sample_range(rnd, 70010, 79999, 230, "{:05d}", taken)
        + _sample_range(rnd, 80047, 89398, 300, "{:05d}", taken)
        + _sample_range(rnd, 90281, 99199, 260, "{:05d}", taken)
        + _sample_range(rnd, 0, 9999, 60, "G{:04d}", taken)
        + _sample_range(rnd, 0, 9999, 80, "J{:04d}", taken)
    )
    deleted = tuple(sorted(drawn[i] for i in range(7, len(drawn), 71)))  # 20 codes
    other = tuple(sorted((set(drawn) | set(KNOWN_OTHER)) - set(deleted)))
    surgery = tuple(c for c in other
                    if c[0].isdigit() and "10000" <= c < "70000" and c not in KNOWN_OTHER)
    rest = [c for c in other if c not in KNOWN_OTHER]
    addons: dict[str, tuple[str, ...]] = dict(PAIN_ADDONS)
    for code in rest[3::40]:  # ~30 add-ons among the other codes
        primaries = tuple(sorted(rnd.sample([c for c in other if c != code], rnd.randint(1, 4))))
        addons[code] = primaries
    return CodeSpace(other, surgery, addons, deleted)


# --- weighted choice ----------------------------------------------------------------------


class Pick:
    """A weighted choice among ``items``: ``pick(rnd)``, one ``random()`` call."""

    def __init__(self, items: Sequence[str], weights: Sequence[float] | None = None):
        self.items = tuple(items)
        weights = weights or [1.0] * len(self.items)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rnd: random.Random) -> str:
        return self.items[bisect.bisect(self.cum, rnd.random() * self.total)]


# --- claims -------------------------------------------------------------------------------

#: (lines, members) buckets of member size: most members are small, a few very large.
MEMBER_SIZES = ((1, 6, 55.0), (7, 30, 25.0), (31, 120, 15.0), (121, MAX_MEMBER_LINES, 5.0))
#: Lines of a claim: visits with a procedure run longer than office visits.
CLAIM_SIZE = Pick("123456", (30, 25, 18, 12, 9, 6))
VISIT_SIZE = Pick("1234", (75, 18, 5, 2))
CATEGORIES = Pick(
    ("em", "acu", "esi", "facet", "rfa", "tpi", "scs", "botox", "other"),
    (22, 12, 11, 8, 4, 6, 1.2, 4, 3),
)
PROCEDURES = Pick(CATEGORIES.items[1:-1], (11, 10, 7, 3.5, 6, 1.2, 3.5))
PLACE = Pick(("11", "22", "24"), (70, 15, 15))
PROVIDERS_PER_MEMBER = Pick("123", (60, 30, 10))

Line = tuple[str, str, int, str]  # code, modifiers, units, auth


@dataclass
class ClaimsMaker:
    """Builds members' claims; one instance per generated file (or history)."""

    rnd: random.Random
    space: CodeSpace
    providers: int = 5000
    claim_seq: int = 0
    em: Pick = field(init=False)
    other: Pick = field(init=False)
    days: list[str] = field(init=False)
    deleted: tuple[str, ...] = field(init=False)
    surgery: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.em = Pick(EM, EM_WEIGHTS)
        # pain-adjacent codes (imaging, injections, drugs, therapy) are billed most, then
        # labs, radiology and medicine, and surgery least
        known = set(KNOWN_OTHER)
        self.other = Pick(self.space.other, [
            60.0 if c in known else 3.0 if c in self.space.surgery else 10.0
            for c in self.space.other])
        span = (LAST_DAY - FIRST_DAY).days + 1
        self.days = [(FIRST_DAY + dt.timedelta(days=i)).isoformat() for i in range(span)]
        self.deleted = PAIN_DELETED + self.space.deleted
        self.surgery = frozenset(self.space.surgery)

    def member_size(self) -> int:
        r = self.rnd.random() * 100.0
        for low, high, share in MEMBER_SIZES:
            if r < share:
                return self.rnd.randint(low, high)
            r -= share
        return self.rnd.randint(1, 6)

    def auth(self) -> str:
        return f"PA{self.rnd.randrange(10**8):08d}"

    def side(self, bilateral: float = 0.0) -> str:
        r = self.rnd.random()
        if r < bilateral:
            return "50"
        if r < bilateral + 0.2:
            return "LT" if r < bilateral + 0.1 else "RT"
        return ""

    def fluoro(self, out: list[Line], chance: float) -> None:
        r = self.rnd.random()
        if r < chance:
            mods = self.rnd.choice(("59", "XU", "XS")) if self.rnd.random() < 0.3 else ""
            out.append(("77003" if r < chance * 0.7 else "77002", mods, 1, ""))

    def procedure_lines(self, category: str) -> list[Line]:
        """The natural lines of one visit of ``category`` (padded or cut by the caller)."""
        rnd = self.rnd
        out: list[Line] = []
        if category == "em":
            out.append((self.em(rnd), "", 1, ""))
        elif category == "acu":
            primary, addon = ("97810", "97811") if rnd.random() < 0.55 else ("97813", "97814")
            out.append((primary, "KX" if rnd.random() < 0.12 else "", 1, ""))
            if rnd.random() < 0.6:
                out.append((addon, "", rnd.choice((1, 1, 2, 3)), ""))
        elif category == "esi":
            code = rnd.choice(("62321", "62323", "62323", "64479", "64483", "64483", "62320",
                               "62322"))
            out.append((code, self.side(0.1) if code[:2] == "64" else "", 1, ""))
            if code == "64479" and rnd.random() < 0.4:
                out.append(("64480", "", 1, ""))
            elif code == "64483" and rnd.random() < 0.5:
                out.append(("64484", "", rnd.choice((1, 1, 2)), ""))
            self.fluoro(out, 0.5)
        elif category == "facet":
            primary = "64490" if rnd.random() < 0.5 else "64493"
            out.append((primary, self.side(0.25), 1, ""))
            if rnd.random() < 0.5:
                out.append((str(int(primary) + 1), "", 1, ""))
                if rnd.random() < 0.3:
                    out.append((str(int(primary) + 2), "", 1, ""))
            self.fluoro(out, 0.2)
        elif category == "rfa":
            primary = "64633" if rnd.random() < 0.5 else "64635"
            out.append((primary, self.side(0.2), 1, self.auth() if rnd.random() < 0.5 else ""))
            if rnd.random() < 0.5:
                out.append((str(int(primary) + 1), "", 1, ""))
            self.fluoro(out, 0.2)
        elif category == "tpi":
            r = rnd.random()
            if r < 0.1:
                out += [("20553", "", 1, ""), ("20552", "", 1, "")]
            else:
                out.append(("20552" if r < 0.55 else "20553", "", 1, ""))
            if rnd.random() < 0.05:
                out.append(("77002", "", 1, ""))
        elif category == "scs":
            code = rnd.choice(("63650", "63650", "63655", "63685", "63685"))
            out.append((code, "", 1, self.auth() if rnd.random() < 0.85 else ""))
        elif category == "botox":
            code = rnd.choice(("64612", "64615", "64615", "64616", "64617", "64642", "64644",
                               "64646"))
            out.append((code, self.side(0.05), 1, ""))
            if code == "64642" and rnd.random() < 0.4:
                out.append(("64643", "", 1, ""))
            elif code == "64644" and rnd.random() < 0.4:
                out.append(("64645", "", 1, ""))
            if rnd.random() < 0.9:
                out.append((BOTOX_DRUG, "", rnd.randint(50, 200), ""))
        else:
            if rnd.random() < 0.01:
                out.append((rnd.choice(self.deleted), "", 1, ""))
            else:
                out.append(self.other_line())
        return out

    def other_line(self) -> Line:
        rnd = self.rnd
        code = self.other(rnd)
        units = 1 if rnd.random() < 0.95 else rnd.randint(2, 4)
        mods = rnd.choice(("59", "XU", "25", "LT", "RT")) if rnd.random() < 0.05 else ""
        auth = self.auth() if code in self.surgery and rnd.random() < 0.6 else ""
        return (code, mods, units, auth)

    def claim(self, size: int, category: str, path: Sequence[str]) -> list[Line]:
        """``size`` lines of one visit: the category's own lines, then an E/M, other codes
        or a second procedure of the member's treatment ``path``."""
        rnd = self.rnd
        lines = self.procedure_lines(category)
        procedure = category not in ("em", "other")
        while len(lines) < size:
            r = rnd.random()
            has_em = any(code in EM for code, *_ in lines)
            if r < 0.6 and not has_em:
                lines.append((self.em(rnd), "", 1, ""))
            elif not procedure or r < (0.25 if has_em else 0.7):
                lines.append(self.other_line())
            elif len(path) > 1:  # a second procedure the same day
                lines += self.procedure_lines(rnd.choice([c for c in path if c != category]))
            else:
                lines.append(self.other_line())
        lines = lines[:size]
        if procedure:  # the E/M of a procedure day mostly carries 25
            lines = [(code, "25", units, auth)
                     if code in EM and not mods and rnd.random() < 0.85
                     else (code, mods, units, auth) for code, mods, units, auth in lines]
        return lines

    def diagnoses(self, lines: Sequence[Line], base: list[str], clbp: bool) -> str:
        """The claim's diagnoses: the member's, and what its procedures call for (mostly)."""
        rnd = self.rnd
        dx = list(base)
        codes = {code for code, *_ in lines}
        if not clbp and not codes.isdisjoint(ACUPUNCTURE) and rnd.random() < 0.92:
            dx.insert(0, rnd.choice(CLBP))
        if not codes.isdisjoint(BOTOX) and rnd.random() < 0.95:
            dx.insert(0, rnd.choice(BOTOX_DX))
        return " ".join(dx[:4])

    def member(self, member_id: str, size: int, days: Sequence[str] | None = None
               ) -> list[tuple[int, str]]:
        """A member's rows, as ``(day index, CSV row)``, claims in date order.

        A member follows a treatment path of one or two procedure families (RFA comes with
        facet blocks); past 40 lines, most further visits are E/M and other services, so a
        large member is a frequent visitor rather than a frequent injection patient.
        """
        rnd = self.rnd
        days = self.days if days is None else days
        providers = [f"{1000000000 + rnd.randrange(self.providers) * 7919:010d}"
                     for _ in range(int(PROVIDERS_PER_MEMBER(rnd)))]
        path = sorted({PROCEDURES(rnd) for _ in range(rnd.randint(1, 2))})
        if "rfa" in path and "facet" not in path:
            path.append("facet")
        clbp = rnd.random() < 0.5
        base_dx = rnd.sample(PAIN_DX, rnd.randint(0 if clbp else 1, 2))
        if clbp:
            base_dx.insert(0, rnd.choice(CLBP))
        if rnd.random() < 0.4:
            base_dx.append(rnd.choice(OTHER_DX))
        if rnd.random() < 0.03:  # a member whose claims carry no pain diagnosis at all
            base_dx = [rnd.choice(OTHER_DX)]
        routine = max(0.6, 40.0 / size) if size > 40 else 1.0
        visits: list[tuple[str, int]] = []  # (category, lines) of each claim
        left = size
        while left > 0:
            category = CATEGORIES(rnd)
            if category not in ("em", "other"):
                if rnd.random() > routine:
                    category = "em" if rnd.random() < 0.6 else "other"
                elif category not in path:
                    category = rnd.choice(path)
            sizes = VISIT_SIZE if category in ("em", "other") else CLAIM_SIZE
            visits.append((category, min(left, int(sizes(rnd)))))
            left -= visits[-1][1]
        visit_days = sorted(rnd.randrange(len(days)) for _ in visits)
        rows: list[tuple[int, str]] = []
        for (category, claim_size), day in zip(visits, visit_days, strict=True):
            self.claim_seq += 1
            lines = self.claim(claim_size, category, path)
            dx_text = self.diagnoses(lines, base_dx, clbp)
            provider = providers[0] if rnd.random() < 0.7 else rnd.choice(providers)
            pos = PLACE(rnd)
            claim_id = f"C{self.claim_seq:010d}"
            date = days[day]
            for number, (code, mods, units, auth) in enumerate(lines, 1):
                rows.append((day, f"{claim_id},{number},{member_id},{provider},{date},{code},"
                                  f"{mods},{units},{dx_text},{pos},{auth}"))
        return rows


@dataclass
class ClaimsStats:
    """What a generated claims file holds."""

    lines: int = 0
    members: int = 0
    claims: int = 0
    largest_member: int = 0
    families: dict[str, int] = field(default_factory=dict)


def family(code: str) -> str:
    """The code family a line is counted in (for the mix printed by ``--stats``)."""
    for name, codes in (("E/M", EM), ("acupuncture", ACUPUNCTURE), ("ESI", ESI),
                        ("fluoroscopy", FLUORO), ("facet", FACET), ("RFA", RFA),
                        ("TPI", TPI), ("SCS", SCS), ("botox", (*BOTOX, BOTOX_DRUG))):
        if code in codes:
            return name
    return "other"


def generate_claims(path: Path, lines: int, seed: int, order: str = "date",
                    stats: bool = False) -> ClaimsStats:
    """Write ``lines`` claim lines to ``path``; ``order`` is ``date`` (the file is sorted by
    date of service, members interleaved, as a batch extract would be) or ``member``."""
    maker = ClaimsMaker(random.Random(seed), code_space())
    result = ClaimsStats()
    by_day: list[list[str]] = [[] for _ in maker.days]
    member_rows: list[str] = []
    left = lines
    while left > 0:
        size = min(left, maker.member_size())
        left -= size
        result.members += 1
        result.largest_member = max(result.largest_member, size)
        rows = maker.member(f"M{result.members:09d}", size)
        if order == "date":
            for day, row in rows:
                by_day[day].append(row)
        else:
            member_rows.extend(row for _, row in rows)
    result.lines = lines
    result.claims = maker.claim_seq
    ordered: Iterable[str] = (itertools.chain.from_iterable(by_day) if order == "date"
                              else member_rows)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        chunk: list[str] = []
        for row in ordered:
            chunk.append(row)
            if len(chunk) >= 8192:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            out.write("\n".join(chunk) + "\n")
    if stats:
        counts: dict[str, int] = {}
        for row in ordered if order == "member" else itertools.chain.from_iterable(by_day):
            name = family(row.split(",", 6)[5])
            counts[name] = counts.get(name, 0) + 1
        result.families = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    return result


def member_claim(seed: int, history_lines: int = 500, claim_lines: int = 6
                 ) -> tuple[list[list[str]], list[list[str]]]:
    """One member's paid history and a new claim, as rows of CSV fields (``HEADER`` order).

    The history spreads over 2023-2024 like a heavy member of the generated claims; the claim
    is a realistic 6-line pain visit (an E/M with 25, a transforaminal epidural with its
    add-on and fluoroscopy, facet injections), dated 2025-01-06, by the member's main provider.
    """
    maker = ClaimsMaker(random.Random(seed), code_space())
    rows = [row.split(",") for _, row in maker.member("M000000001", history_lines)]
    provider = max({r[3] for r in rows}, key=[r[3] for r in rows].count)
    dx = "M54.16 M47.816 M54.50"
    visit = [("99214", "25", 1), ("64483", "RT", 1), ("64484", "", 2), ("77003", "59", 1),
             ("64493", "50", 1), ("64494", "", 1), ("20553", "", 1), ("97810", "", 1)]
    claim = [["C9999999999", str(n), "M000000001", provider, "2025-01-06", code, mods,
              str(units), dx, "11", ""]
             for n, (code, mods, units) in enumerate(visit[:claim_lines], 1)]
    return rows, claim


# --- policies -----------------------------------------------------------------------------

CORE = """\
set EM = 99202..99205, 99211..99215
set FLUORO = 77002, 77003
set ESI = 62320..62323, 64479..64484
set FACET = 64490..64495
set FACET_MAIN = 64490, 64491, 64493, 64494
set RFA = 64633..64636
set TPI = 20552, 20553
set ACU = 97810..97814
set BOTOX = 64612, 64615..64617, 64642..64647
dx CLBP = M54.50, M54.51, M54.59
dx SPINE_PAIN = M54*, M47*, M51*, M48*, M53*, G89*, M79*, M25*, M62*
dx BOTOX_DX = G43.7*, G24*, G35, G80*, G81*, I69*

# NCCI-style bundling of imaging guidance (seed 002/003) and of the pain families
rule ptp-esi-fluoro carc 236: when ESI forbid FLUORO unless modifier 59, XU, XS
rule ptp-facet-fluoro carc 236: when FACET forbid 77003 unless modifier 59, XS
rule ptp-rfa-fluoro carc 236: when 64633, 64635 forbid FLUORO unless modifier 59
rule ptp-tpi carc 236: when 20553 forbid 20552
rule ptp-acu carc 236: when 97813 forbid 97810
when 97810, 97813 forbid EM unless modifier 25
exclusive 20553, 20552
# frequency (NCD 30.3.3, LCD L38803, L39240, MAC articles)
rule acu-90d carc 119 "More than 12 acupuncture sessions in 90 days without KX":
    limit 97810, 97813 per 90d <= 12 sessions unless modifier KX
rule acu-year carc 119 "More than 20 acupuncture sessions in a year":
    limit 97810, 97813 per year <= 20 sessions
rule facet-12mo: limit FACET_MAIN per 12mo <= 4 sessions
rule facet-appeal review: limit 64492, 64495 per 12mo <= 1 sessions
rule rfa-12mo: limit RFA per 12mo <= 2 sessions
rule esi-12mo: limit ESI per 12mo <= 4 sessions
rule esi-2025 effective 2025-01-01: limit ESI per 6mo <= 3 sessions
rule tpi-12mo: limit TPI per 12mo <= 3 sessions
rule tpi-90d review: limit TPI per 90d by provider <= 2 sessions
limit 64483 per day by provider <= 1 units
limit 63650 per lifetime <= 2 sessions
# add-ons (CMS add-on code edits, type 1)
addon 97811 requires 97810
addon 97814 requires 97813
addon 64480 requires 64479
addon 64484 requires 64483
addon 64491, 64492 requires 64490
addon 64494, 64495 requires 64493
addon 64634 requires 64633
addon 64636 requires 64635
addon 64643 requires 64642, 64644
addon 64645 requires 64644
# coverage
require dx CLBP for ACU
require dx SPINE_PAIN for ESI, FACET, RFA
require dx BOTOX_DX for BOTOX, J0585
require auth for 63650, 63685
rule rfa-auth review: require auth for 64633, 64635
require 2 of 64490..64495 within 12mo before 64633..64636
# global surgery (seed 001)
global 63650, 63685 10d
global 63655 90d
# MUE (NCCI 2024 Q2, practitioner)
mue 64483 <= 1
mue 64484 <= 4
mue 64479 <= 1
mue 62321, 62323 <= 1
mue 20552, 20553 <= 1
mue 77003 <= 1 per line
rule j0585-mue: mue J0585 <= 600
# deleted codes (seed 001)
deleted 62311 since 2017-01-01 use 62322
deleted 22520..22524 since 2015-01-01 use 22510..22515
deleted 99144 since 2017-01-01 use 99151..99153
forbid modifier 50 on TPI, ACU, FLUORO
"""
CORE_RULES = sum(1 for line in CORE.splitlines()
                 if line and not line.startswith(("set ", "dx ", "#", " ")))
#: Share of each generated rule kind (the rest of ``--rules`` after the core rules).
KINDS = (
    ("forbid", 58.0), ("mue", 16.0), ("limit", 7.0), ("dx", 5.0), ("addon", 3.0),
    ("global", 1.5), ("modifier", 3.0), ("auth", 1.0), ("exclusive", 2.5),
    ("prerequisite", 1.0), ("deleted", 2.0),
)
#: Diagnosis families (prefix patterns) coverage rules list.
DX_FAMILIES = ("M54*", "M47*", "M51*", "M48*", "M53*", "G89*", "M79*", "M25*", "M62*")
WINDOWS = Pick(("day", "claim", "30d", "90d", "6mo", "12mo", "year", "lifetime"),
               (10, 3, 10, 15, 10, 25, 20, 7))


class RuleMaker:
    """Generates rule statements over a code space; every statement it returns is unique and
    lint-clean (no deleted code reused, no self-forbid, no add-on forbidden with its primary,
    no identical rules, no redundant limits, no unused sets)."""

    def __init__(self, rnd: random.Random, codes: Sequence[str], surgery: Sequence[str],
                 addons: dict[str, tuple[str, ...]], deleted: Sequence[str],
                 trigger_codes: Sequence[str] = (), common: Sequence[str] = (),
                 tag: str = "g"):
        self.rnd = rnd
        self.codes = list(codes)
        self.surgery = list(surgery) or self.codes
        self.addons = addons
        self.addon_codes = set(addons)
        self.deleted = list(deleted)
        self.triggers = list(trigger_codes) or self.codes
        self.common = list(common) or self.codes
        self.tag = tag
        self.seen: set[tuple[object, ...]] = set()
        self.count = 0
        self.mue_codes = iter(rnd.sample(self.codes, len(self.codes)))
        self.deleted_codes = iter(self.deleted)
        self.addon_items = iter(sorted(addons.items()))

    def some(self, pool: Sequence[str], low: int, high: int) -> list[str]:
        return sorted(self.rnd.sample(pool, self.rnd.randint(low, high)))

    def named(self, body: str, options: str = "") -> str:
        self.count += 1
        return f"rule {self.tag}{self.count}{options}: {body}"

    def maybe_named(self, body: str, chance: float = 0.1) -> str:
        """Mostly unnamed; now and then a named rule with its own dates, action or CARC."""
        r = self.rnd.random()
        if r >= chance:
            return body
        r /= chance
        if r < 0.5:
            quarter = self.rnd.choice(("2023-04-01", "2023-10-01", "2024-04-01", "2024-07-01"))
            return self.named(body, f" effective {quarter}")
        if r < 0.7:
            return self.named(body, " effective 2020-01-01 until 2024-06-30")
        if r < 0.85:
            return self.named(body, " review")
        return self.named(body, ' carc 97 "Not separately payable"')

    def fresh(self, key: tuple[object, ...]) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def forbid(self) -> str | None:
        rnd = self.rnd
        trigger = rnd.choice(self.triggers)
        targets = self.some(self.codes, 1, 1 if rnd.random() < 0.7 else 6)
        if trigger in targets or not self.fresh(("forbid", trigger, tuple(targets))):
            return None
        touches_addon = trigger in self.addon_codes or not self.addon_codes.isdisjoint(targets)
        bypass = (f" unless modifier {PTP_BYPASS}"
                  if touches_addon or rnd.random() < 0.75 else "")
        return self.maybe_named(f"when {trigger} forbid {', '.join(targets)}{bypass}")

    def mue(self) -> str | None:
        code = next(self.mue_codes, None)
        if code is None:
            return None
        maximum = self.rnd.choice((1, 1, 1, 2, 2, 3, 4, 6, 10, 24, 100))
        per = " per line" if self.rnd.random() < 0.15 else ""
        return self.maybe_named(f"mue {code} <= {maximum}{per}", 0.03)

    def limit(self) -> str | None:
        rnd = self.rnd
        codes = self.some(self.codes, 1, 3)
        sessions = rnd.random() < 0.5
        by_provider = rnd.random() < 0.15
        kx = rnd.random() < 0.1
        if not self.fresh(("limit", tuple(codes), sessions, by_provider, kx)):
            return None
        window = WINDOWS(rnd)
        maximum = rnd.randint(1, 4) if window in ("day", "claim") else rnd.randint(2, 24)
        text = (f"limit {', '.join(codes)} per {window}{' by provider' if by_provider else ''}"
                f" <= {maximum}{' sessions' if sessions else ' units'}"
                f"{' unless modifier KX' if kx else ''}")
        return self.maybe_named(text)

    def dx(self) -> str | None:
        rnd = self.rnd
        codes = self.some(self.codes, 1, 3)
        if not self.fresh(("dx", tuple(codes))):
            return None
        families = rnd.sample(DX_FAMILIES, len(DX_FAMILIES) - rnd.randint(0, 2))
        patterns = sorted({*families, *rnd.sample(ALL_DX, rnd.randint(0, 2))})
        return self.maybe_named(f"require dx {', '.join(patterns)} for {', '.join(codes)}")

    def addon(self) -> str | None:
        item = next(self.addon_items, None)
        if item is None:
            return None
        code, primaries = item
        return self.maybe_named(f"addon {code} requires {', '.join(primaries)}", 0.02)

    def auth(self) -> str | None:
        codes = self.some(self.surgery, 1, 2)
        if not self.fresh(("auth", tuple(codes))):
            return None
        return self.maybe_named(f"require auth for {', '.join(codes)}")

    def global_(self) -> str | None:
        code = self.rnd.choice(self.surgery)
        if not self.fresh(("global", code)):
            return None
        days = "10d" if self.rnd.random() < 0.6 else "90d"
        if self.surgery is self.codes:  # a space with no E/M: name what the period covers
            covers = ", ".join(self.some(self.codes, 2, 5))
            return self.maybe_named(f"global {code} {days} covers {covers}")
        return self.maybe_named(f"global {code} {days}")

    def modifier(self) -> str | None:
        codes = self.some(self.codes, 1, 5)
        mods = self.rnd.choice(("50", "50", "LT, RT", "59", "KX", "25"))
        if not self.fresh(("modifier", mods, tuple(codes))):
            return None
        return self.maybe_named(f"forbid modifier {mods} on {', '.join(codes)}")

    def exclusive(self) -> str | None:
        codes = self.rnd.sample(self.codes, self.rnd.randint(2, 3))
        if not self.fresh(("exclusive", tuple(sorted(codes)))):
            return None
        return self.maybe_named(f"exclusive {', '.join(codes)}")

    def prerequisite(self) -> str | None:
        rnd = self.rnd
        required, targets = self.some(self.common, 1, 3), self.some(self.surgery, 1, 2)
        if set(required) & set(targets) or not self.fresh(("pre", tuple(targets))):
            return None
        window = rnd.choice(("6mo", "12mo", "12mo", "90d", "lifetime"))
        return self.maybe_named(f"require {rnd.randint(1, 2)} of {', '.join(required)} within "
                                f"{window} before {', '.join(targets)}")

    def deleted_rule(self) -> str | None:
        code = next(self.deleted_codes, None)
        if code is None:
            return None
        since = self.rnd.choice(("2019-01-01", "2022-01-01", "2024-01-01", "2024-07-01"))
        use = f" use {self.rnd.choice(self.codes)}" if self.rnd.random() < 0.6 else ""
        return f"deleted {code} since {since}{use}"

    def rules(self, count: int) -> list[str]:
        """``count`` statements, kinds in the ``KINDS`` mix (a kind that runs out of fresh
        rules gives way to forbid pairs, of which there are plenty)."""
        makers: dict[str, Callable[[], str | None]] = {
            "forbid": self.forbid, "mue": self.mue, "limit": self.limit, "dx": self.dx,
            "addon": self.addon, "global": self.global_, "modifier": self.modifier,
            "auth": self.auth, "exclusive": self.exclusive, "prerequisite": self.prerequisite,
            "deleted": self.deleted_rule,
        }
        kinds = Pick([k for k, _ in KINDS], [w for _, w in KINDS])
        out: list[str] = []
        misses = 0
        while len(out) < count:
            kind = kinds(self.rnd)
            made = makers[kind]()
            while made is None:  # that kind is used up or collided: a forbid pair instead
                misses += 1
                if misses > 50 * count + 1000:
                    raise RuntimeError("the code space is too small for this many rules")
                made = self.forbid()
            out.append(made)
        return out


def unused_space() -> tuple[list[str], dict[str, tuple[str, ...]], list[str]]:
    """Codes the claims never carry: 0100T-0999T and HCPCS of letters the claims do not use;
    some of them are add-ons, some deleted."""
    codes = [f"{n:04d}T" for n in range(100, 1000)]
    codes += [f"{letter}{n:04d}" for letter in UNUSED_LETTERS for n in range(10000)]
    rnd = random.Random(19970101)
    deleted = codes[5::997]
    usable = sorted(set(codes) - set(deleted))
    addons = {code: tuple(sorted(rnd.sample(usable, 2))) for code in usable[11::400]}
    addons = {a: tuple(p for p in ps if p != a) or (usable[0],) for a, ps in addons.items()}
    return usable, addons, deleted


def policy_text(name: str, rules: int, seed: int, unused_rules: int = 0) -> str:
    """The text of a generated policy: the core pain rules, generated rules up to ``rules``,
    then ``unused_rules`` rules over codes the claims never carry."""
    if rules < CORE_RULES:
        raise ValueError(f"--rules must be at least {CORE_RULES} (the core pain rules)")
    space = code_space()
    rnd = random.Random(seed * 7919 + 17)
    maker = RuleMaker(rnd, space.other, space.surgery,
                      {a: p for a, p in space.addons.items() if a not in PAIN_ADDONS},
                      space.deleted, trigger_codes=space.other + PAIN_CODES,
                      common=KNOWN_OTHER, tag="g")
    # forbids that touch the pain add-ons must know them (W303)
    maker.addon_codes |= set(PAIN_ADDONS)
    parts = [
        f"policy {name}",
        f"# Generated by benchmarks/generate.py --rules {rules} --seed {seed}"
        + (f" --unused-rules {unused_rules}" if unused_rules else "")
        + ": a synthetic pain-management policy for benchmarks. Do not edit.",
        "effective 2020-01-01",
        "",
        CORE,
        "# generated rules over the codes the claims carry",
        *maker.rules(rules - CORE_RULES),
    ]
    if unused_rules:
        codes, addons, deleted = unused_space()
        extra = RuleMaker(random.Random(seed * 104729 + 3), codes, (), addons, deleted,
                          tag="u")
        parts += [f"# {unused_rules} rules over codes the claims never carry",
                  *extra.rules(unused_rules)]
    return "\n".join(parts) + "\n"


def generate_policy(path: Path, rules: int, seed: int, unused_rules: int = 0) -> None:
    """Write a generated policy (see ``policy_text``) to ``path``."""
    name = "bench.unused" if unused_rules else "bench.synthetic"
    path.write_text(policy_text(name, rules, seed, unused_rules), encoding="utf-8")


# --- command line -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the files asked for; print what was written (JSON with ``--json``)."""
    parser = argparse.ArgumentParser(
        description="Generate synthetic claims and policies for the policydsl benchmarks.")
    parser.add_argument("--out", type=Path, required=True, help="Folder to write into.")
    parser.add_argument("--lines", type=int, default=1_000_000,
                        help="Claim lines to write to claims.csv (0: none). Default 1,000,000.")
    parser.add_argument("--rules", type=int, default=10_000,
                        help=f"Rules of policy.pol (0: no policy; else at least {CORE_RULES}). "
                             "Default 10,000.")
    parser.add_argument("--unused-rules", type=int, default=0,
                        help="Also write policy_unused.pol: policy.pol's rules plus this many "
                             "rules whose codes never appear in the claims.")
    parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
    parser.add_argument("--order", choices=("date", "member"), default="date",
                        help="Row order of claims.csv: by date of service, members "
                             "interleaved (default), or member by member.")
    parser.add_argument("--stats", action="store_true",
                        help="Also count lines by code family (slower).")
    parser.add_argument("--json", action="store_true", help="Print a JSON summary.")
    args = parser.parse_args(argv)
    if args.lines < 0 or args.unused_rules < 0 or (0 < args.rules < CORE_RULES):
        parser.error(f"sizes must be >= 0, and --rules 0 or at least {CORE_RULES}")
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, object] = {"seed": args.seed, "version": VERSION}
    if args.lines:
        start = time.perf_counter()
        stats = generate_claims(args.out / "claims.csv", args.lines, args.seed, args.order,
                                args.stats)
        summary["claims"] = {
            "path": str(args.out / "claims.csv"), "lines": stats.lines,
            "members": stats.members, "claims": stats.claims,
            "largest_member": stats.largest_member, "seconds": time.perf_counter() - start,
            **({"families": stats.families} if args.stats else {}),
        }
    if args.rules:
        start = time.perf_counter()
        generate_policy(args.out / "policy.pol", args.rules, args.seed)
        summary["policy"] = {"path": str(args.out / "policy.pol"), "rules": args.rules,
                             "seconds": time.perf_counter() - start}
        if args.unused_rules:
            start = time.perf_counter()
            generate_policy(args.out / "policy_unused.pol", args.rules, args.seed,
                            args.unused_rules)
            summary["policy_unused"] = {
                "path": str(args.out / "policy_unused.pol"),
                "rules": args.rules + args.unused_rules,
                "seconds": time.perf_counter() - start,
            }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
