"""``policyc``: check, format, compile and run policies, and test them against their cases.

Exit codes (docs/cli.md): 0 success; 1 findings (diagnostics, rows in error, failed cases,
files to reformat); 2 usage errors, unusable policies or unreadable files.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
import sys
from pathlib import Path
from typing import IO, NoReturn, TypeGuard, TypeVar

import attrs
import click

from . import __version__
from .api import Policy, load
from .batch import Batch, OutputFile, adjudicate_files, default_jobs
from .claims_io import CSV_HEADER, csv_records, jsonl_records
from .claims_text import (
    FIELDS,
    STDIN,
    ClaimsFileError,
    ClaimsText,
    absent_columns,
    column_meant,
    read_text,
)
from .diagnostics import Diagnostic, PolicyError, as_json, as_sarif, error, render_text
from .parallel import WorkerError
from .replacing import replacing
from .scatter import OutputError
from .spans import NO_SPAN

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2
Record = TypeVar("Record", bytes, str)


def _fail(message: str) -> NoReturn:
    """Each line of ``message`` on standard error, then exit 2."""
    for line in message.split("\n"):
        click.echo(f"policyc: {line}", err=True)
    sys.exit(EXIT_UNUSABLE)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a program stopped by Ctrl-C


class _Policyc(click.Group):
    """The ``policyc`` group: what click would report as exit 1 gets its own code. Ctrl-C is
    ``policyc: interrupted`` and 130 (click's ``Aborted!`` and 1 reads as "findings"), and a
    reader of standard output that stops reading (``policyc check … | head``) is exit 2, as
    for ``run``: output was lost. Standard output is flushed before the command ends, so
    that a write that fails at exit is not lost with exit 0."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            try:
                return super().invoke(ctx)
            finally:
                if sys.stdout is not None:
                    sys.stdout.flush()
        except KeyboardInterrupt:
            click.echo("\npolicyc: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except OSError as exc:
            if not isinstance(exc, BrokenPipeError):
                raise
            _silence_stdout()
            _fail("cannot write standard output: its reader stopped reading (a broken pipe)")


@click.group(cls=_Policyc, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="policyc")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Check, format, compile, run and test payer policies written in policydsl."""
    # a closed standard output (``>&-``) is None to Python: every command but ``run --out``
    # prints there, and click would print nothing at all (``run`` checks its own ``--out``)
    if sys.stdout is None and ctx.invoked_subcommand != "run":
        _fail("cannot write standard output: it is closed")


def _silence_stdout() -> None:
    """Point standard output at /dev/null once its reader is gone: nothing more can reach
    it, and the flushes at exit must not fail again."""
    nowhere = os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, sys.stdout.fileno())
    os.close(nowhere)


def _printable(path: str) -> str:
    """A path as a message shows it: as it is, or with line breaks, escape characters and
    other unprintable ones escaped, as diagnostics show them."""
    return path if path.isprintable() else repr(path)[1:-1]


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True, help="How to print diagnostics.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def check(paths: tuple[str, ...], fmt: str, strict: bool) -> None:
    """Lint policies: report errors and warnings with their location.

    Exits 0 when clean (warnings alone do not fail unless --strict), 1 on findings, 2 when a
    path does not exist (reported as E002 too, in the chosen format)."""
    from .files import find_policy_files
    from .loader import load_paths

    for raw in paths:
        if os.path.isdir(raw) and find_policy_files(Path(raw)) == ([], []):
            click.echo(f"policyc: warning: no policy files (*.pol) in {raw}", err=True)
    loaded = load_paths(paths, lint=True)
    diagnostics: list[Diagnostic] = loaded.diagnostics
    if strict:
        diagnostics = [attrs.evolve(d, severity="error") for d in diagnostics]
    failing = [d for d in diagnostics if d.severity == "error"]
    if fmt == "json":
        sys.stdout.buffer.write(as_json(diagnostics))
    elif fmt == "sarif":
        sys.stdout.buffer.write(as_sarif(diagnostics, __version__))
    else:
        if diagnostics:
            click.echo(render_text(diagnostics, loaded.workspace.sources))
        warnings = len(diagnostics) - len(failing)
        files = len(loaded.workspace.sources)
        click.echo(f"{len(failing)} error(s), {warnings} warning(s) in {files} file(s)")
    missing = any(not raw or not os.path.exists(raw) for raw in paths)
    sys.exit(EXIT_UNUSABLE if missing else EXIT_FINDINGS if failing else EXIT_OK)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; exit 1 if any file is not formatted.")
def fmt(paths: tuple[str, ...], check_only: bool) -> None:
    """Rewrite policies in the canonical layout (comments kept)."""
    from .files import find_policy_files, read_policy_text
    from .formatter import format_file

    status = EXIT_OK
    for raw in paths:
        files, unlisted = find_policy_files(Path(raw))
        if unlisted:
            click.echo(render_text(unlisted, {}), err=True)
            status = EXIT_FINDINGS
        elif not files:  # as `check` says it
            click.echo(f"policyc: warning: no policy files (*.pol) in {raw}", err=True)
        for file in files:
            try:
                text = read_policy_text(file, str(file))
                formatted, moved = format_file(text, str(file))
            except OSError as exc:  # as `check` reports it
                click.echo(render_text(
                    [error("E002", f"cannot read {file}: {exc}", str(file), NO_SPAN)], {}),
                    err=True)
                status = EXIT_FINDINGS
                continue
            except PolicyError as exc:
                click.echo(render_text(exc.diagnostics, exc.sources), err=True)
                status = EXIT_FINDINGS
                continue
            if formatted == text:
                continue
            named = _printable(str(file))
            moves = ""
            if moved:
                shown = ", ".join(f"{old} {'would be' if check_only else 'is now'} {new}"
                                  for old, new in moved[:5])
                more = f" and {len(moved) - 5} more" if len(moved) > 5 else ""
                moves = (f"policyc: warning: {named}: formatting moves unnamed rules, whose ids "
                         f"follow their line: {shown}{more}; a `disable` or test case naming "
                         "them must follow (name a rule to keep its id)")
            if check_only:
                if moved:
                    click.echo(moves, err=True)
                click.echo(f"would reformat {named}")
                status = EXIT_FINDINGS
                continue
            try:
                with replacing(file, "wb", through_links=True) as out:
                    out.write(formatted.encode("utf-8"))
            except OSError as exc:
                click.echo(f"policyc: cannot write {named}: {exc.strerror or exc}", err=True)
                status = EXIT_FINDINGS
                continue
            if moved:  # said once the file holds them
                click.echo(moves, err=True)
            click.echo(f"reformatted {named}")
    sys.exit(status)


@main.command(name="compile")
@click.argument("policy", type=click.Path(exists=True))
@click.option("--emit", type=click.Choice(["python"]), default="python", show_default=True,
              help="What to print.")
def compile_(policy: str, emit: str) -> None:
    """Print the Python source the compiler generates for a policy."""
    try:
        compiled = load(policy)
    except PolicyError as exc:
        click.echo(render_text(exc.diagnostics, exc.sources), err=True)
        _fail(f"the policy {policy} cannot be used")
    click.echo(compiled.source, nl=False)


@main.command()
@click.option("--policy", "policy_path", required=True, type=click.Path(exists=True),
              help="A .pol file, or a folder of them.")
@click.option("--history", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="Lines already paid (same columns as the claims; '-': standard input).")
@click.argument("claims", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--format", "out_format", type=click.Choice(["jsonl", "csv"]), default=None,
              show_default="jsonl, or csv for an --out file named *.csv",
              help="Output format.")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write here instead of stdout ('-': stdout).")
@click.option("--engine", type=click.Choice(["compiled", "reference"]), default="compiled",
              show_default=True, help="The compiled engine, or the reference interpreter.")
@click.option("--jobs", type=click.IntRange(min=1), default=default_jobs,
              show_default="the CPUs this process may use",
              help="Worker processes (members are split between them); 1 for one process.")
@click.option("--cache-dir", type=click.Path(file_okay=False),
              help="Where compiled policies are kept  [default: $POLICYDSL_CACHE_DIR, else "
                   "$XDG_CACHE_HOME/policydsl, else ~/.cache/policydsl]")
@click.option("--no-cache", is_flag=True, help="Compile the policy; do not use the cache.")
def run(policy_path: str, history: str | None, claims: str, out_format: str | None,
        out: str | None, engine: str, jobs: int, cache_dir: str | None, no_cache: bool) -> None:
    """Adjudicate CLAIMS: one decision per input line, in input order.

    CLAIMS is a CSV or JSON Lines (*.jsonl) file, or '-' for standard input (JSON Lines when
    it starts with '{', else CSV).

    The compiled policy is kept in a cache and reused while its files are unchanged.
    Exits 0 when every line was adjudicated, 1 when some rows were malformed (they get
    decision "error"), 2 when the policy or a file cannot be used."""
    from .cache import default_cache_dir

    if out == "-":
        out = None
    if sys.stdout is None:  # closed (``>&-``): only an --out file can take the decisions
        if out in (None, "/dev/stdout"):
            _fail("cannot write standard output: it is closed")
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - nothing is
        # written there; the process ends with it
    if claims == history == STDIN:
        raise click.UsageError("the claims and the history cannot both be standard input ('-')")
    if out_format is None:  # as the input's format is chosen: by the file's name
        out_format = "csv" if out is not None and out.lower().endswith(".csv") else "jsonl"
    if out is not None:
        problem = _cannot_write(out, {"claims": claims, "history": history,
                                      "policy": policy_path})
        if problem:
            _fail(f"cannot write {out}: {problem}")
    cache = None if no_cache or engine == "reference" else Path(cache_dir or default_cache_dir())
    # A batch builds millions of small objects that all live to the end: the cyclic garbage
    # collector would scan them again and again and find nothing to free.
    collecting = gc.isenabled()
    gc.disable()
    keep: list[object] = []  # what the run leaves unfreed, for a process about to end
    try:
        status = _run(policy_path, history, claims, out_format, out, engine, jobs, cache,
                      keep)
    except BaseException:
        if collecting:
            gc.enable()
        raise
    if _is_the_program():
        # The output is written and closed. Freeing the batch's millions of objects one by
        # one (and a last collection over them) would keep the process for another second.
        _end_now(status)
    if collecting:
        gc.enable()
    sys.exit(status)


def _is_the_program() -> bool:
    """Whether this process is ``policyc`` itself (the console script, or ``python -m
    policydsl.cli``), and not a program that calls ``main``, such as a test's CliRunner: the
    ``__main__`` module of either holds this very ``main``."""
    return getattr(sys.modules.get("__main__"), "main", None) is main


def _end_now(status: int) -> None:
    """End the process with ``status`` once the standard streams are flushed, skipping the
    interpreter's teardown; if they cannot be flushed, return (to end the usual way)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(status)


def _run(policy_path: str, history: str | None, claims: str, out_format: str,
         out: str | None, engine: str, jobs: int, cache: Path | None, keep: list[object]
         ) -> int:
    try:
        policy = load(policy_path, cache_dir=cache)
    except PolicyError as exc:
        click.echo(render_text(exc.diagnostics, exc.sources), err=True)
        click.echo(f"policyc: the policy {policy_path} cannot be used", err=True)
        return EXIT_UNUSABLE
    keep.append(policy)
    reference = engine == "reference"
    try:
        claims_text = read_text(claims, stdin=claims == STDIN)
        history_text = read_text(history, stdin=history == STDIN) if history else None
        keep += (claims_text, history_text)
        _warn_of_columns_meant(claims_text, history_text)
        if out_format == "csv":
            return _judge_and_write(
                Batch(policy, claims_text, history_text, csv_records, claims_text.name,
                      reference, keep),
                jobs, history_text, out, CSV_HEADER, keep)
        return _judge_and_write(
            Batch(policy, claims_text, history_text, jsonl_records, claims_text.name,
                  reference, keep),
            jobs, history_text, out, b"", keep)
    except ClaimsFileError as exc:
        click.echo(f"policyc: {exc}", err=True)
        return EXIT_UNUSABLE


def _warn_of_columns_meant(*texts: ClaimsText | None) -> None:
    """A warning on standard error for each unknown column of a CSV header that seems to mean
    a column of ours the header lacks (``diagnosis`` for ``dx``): it is ignored, so its
    values would not be judged, with no other sign."""
    for text in filter(None, texts):
        absent = absent_columns(text.columns)
        for column in text.columns:
            meant = column_meant(column, absent) if column not in FIELDS else None
            if meant is not None:
                click.echo(f"policyc: {text.name}: warning: column '{column}' is not a claims "
                           f"column and is ignored; did you mean '{meant}'?", err=True)


def _judge_and_write(batch: Batch[Record], jobs: int, history: ClaimsText | None,
                     out: str | None, header: Record, keep: list[object]) -> int:
    encoded = header.encode("utf-8") if isinstance(header, str) else header
    try:
        outcome = adjudicate_files(
            batch, jobs, OutputFile(out, encoded, ending=_is_the_program()) if _regular(out)
            else None)
        keep.append(outcome)
        if not outcome.written:
            _emit(outcome.records, out, header)
    except OutputError as exc:  # e.g. the disk is full, or the file was removed meanwhile
        removed = out is not None and _remove_partial(out)
        click.echo(f"policyc: {exc}" + (" (the partial file is removed)" if removed else ""),
                   err=True)
        return EXIT_UNUSABLE
    except (OSError, WorkerError) as exc:  # the system refused a process or a pipe, say
        click.echo(f"policyc: the run failed: {exc}", err=True)
        return EXIT_UNUSABLE
    for row in outcome.history_errors:
        assert history is not None  # there are history errors
        click.echo(f"{history.name}:{row.row}: history row skipped: {row.why}", err=True)
    return EXIT_FINDINGS if outcome.malformed or outcome.history_errors else EXIT_OK


def _remove_partial(out: str) -> bool:
    """Remove the output file a failed write left (cut short, or holding the zeros of the
    space set aside for it): a reader must not take it for decisions. Whether it was."""
    try:
        if not stat.S_ISREG(os.lstat(out).st_mode):
            return False
        os.unlink(out)
    except OSError:
        return False
    return True


def _cannot_write(out: str, inputs: dict[str, str | None]) -> str | None:
    """Why ``out`` cannot be written, found before the run: it is empty or one of the
    ``inputs`` (which the run would overwrite before reading), its folder is missing, or it or
    its folder is not writable; None when it looks writable."""
    if not out:
        return "the path is empty (use '-' for standard output)"
    folder = os.path.dirname(out) or "."
    if not os.path.isdir(folder):
        return f"not a folder: {folder}" if os.path.exists(folder) else \
            f"no such folder: {folder}"
    if os.path.exists(out):
        for kind, path in inputs.items():
            if path not in (None, STDIN) and os.path.exists(path) and os.path.samefile(
                    out, path):
                return f"it is the {kind} file"
        if _is_policy_source(out):
            return "it is a policy file or a policy's cases, which it would overwrite"
        return None if os.access(out, os.W_OK) else "permission denied"
    return None if os.access(folder, os.W_OK) else f"permission denied in {folder}"


def _is_policy_source(path: str) -> bool:
    """Whether ``path`` names what an analyst writes: a ``.pol`` file or a ``.cases.csv``
    file, which no output may overwrite (a slip of the command line would lose it); by its
    own name or, for a symbolic link, by the name of the file it leads to."""
    names = {os.path.basename(path).lower(), os.path.basename(os.path.realpath(path)).lower()}
    return any(name.endswith((".pol", ".cases.csv")) for name in names)


def _regular(out: str | None) -> TypeGuard[str]:
    """Whether ``out`` names a regular file, or nothing yet (then one is made): a file the
    workers can write together, where a pipe or a device is not."""
    if out is None:
        return False
    try:
        return stat.S_ISREG(os.stat(out).st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


@main.command(name="test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--coverage", "show_coverage", is_flag=True,
              help="List every rule with the cases that made it fire.")
@click.option("--threshold", type=click.FloatRange(0, 100), default=None,
              help="Fail when fewer than this percent of rules fired (implies --coverage).")
@click.option("--junit", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
def test_(paths: tuple[str, ...], show_coverage: bool, threshold: float | None,
          junit: str | None) -> None:
    """Run the analysts' cases (*.cases.csv beside each policy) and report failures.

    Exits 0 when every case passes (and coverage meets --threshold), 1 otherwise, 2 when a
    policy or cases file cannot be used."""
    if threshold is not None and threshold != threshold:  # NaN: no coverage is below it
        raise click.BadParameter("is not a number", param_hint="'--threshold'")
    if junit and os.path.exists(junit) and (
            _is_policy_source(junit)
            or any(os.path.exists(p) and os.path.samefile(junit, p) for p in paths)):
        _fail(f"cannot write {junit}: it is a policy file or a policy's cases, which it would "
              "overwrite")
    from .api import load_uncached
    from .testing import (
        CasesFileError,
        Outcome,
        coverage,
        defined_rules,
        discover,
        judge,
        junit_xml,
        orphan_cases,
        policy_for,
        read_cases,
    )

    show_coverage = show_coverage or threshold is not None  # a threshold needs the figure
    try:
        cases_files, policy_files = discover(Path(p) for p in paths)
    except PolicyError as exc:  # a folder that cannot be listed
        click.echo(render_text(exc.diagnostics, exc.sources), err=True)
        sys.exit(EXIT_UNUSABLE)
    outcomes: list[Outcome] = []
    # each policy is loaded once, whether its cases or the coverage report asks for it
    loaded: dict[Path, Policy] = {}

    def load_once(path: Path) -> Policy:
        key = path.resolve()
        if key not in loaded:
            # what it extends is looked for among the other policies named too, after its
            # own folder and those beside it (a draft outside policies/ can extend them)
            loaded[key] = load_uncached(path, given=policy_files)
        return loaded[key]

    try:
        orphans = [why for why in map(orphan_cases, cases_files) if why is not None]
        if orphans:
            _fail("\n".join(orphans))
        for cases_file in cases_files:
            policy = load_once(policy_for(cases_file))
            cases = read_cases(cases_file)
            if not cases:
                click.echo(f"policyc: warning: {cases_file} holds no cases", err=True)
            outcomes.extend(judge(policy, case) for case in cases)
        # every policy found is loaded, cases or not: one that cannot be used fails the run
        rules = defined_rules(policy_files, load_once)
    except PolicyError as exc:
        click.echo(render_text(exc.diagnostics, exc.sources), err=True)
        sys.exit(EXIT_UNUSABLE)
    except CasesFileError as exc:
        _fail(str(exc))
    for outcome in outcomes:
        if outcome.failures:
            click.echo(f"FAIL {outcome.case.file}:{outcome.case.row}: {outcome.case.name}")
            for failure in outcome.failures:
                click.echo(f"    {failure}")
    status = EXIT_OK if all(o.passed for o in outcomes) else EXIT_FINDINGS
    if show_coverage:
        report = coverage(rules, outcomes)
        width = max([len(r.rule) for r in report] + [4])
        click.echo(f"\n{'rule':<{width}}  fired  quiet  source")
        for item in report:
            click.echo(f"{item.rule:<{width}}  {item.fired:>5}  {item.quiet:>5}  {item.source}")
        covered = sum(1 for r in report if r.fired)
        percent = 100.0 * covered / len(report) if report else 100.0
        click.echo(f"coverage: {covered}/{len(report)} rules fired ({percent:.1f}%)")
        if threshold is not None and percent < threshold:
            # to two places: 66.67% is under 66.7%, which one place would print as 66.7%
            click.echo(f"coverage {percent:.2f}% is under the threshold {threshold:g}%")
            status = EXIT_FINDINGS
    if junit:
        try:
            Path(junit).write_bytes(junit_xml(outcomes))
        except OSError as exc:
            _fail(f"cannot write {junit}: {exc.strerror or exc}")
    failed = sum(1 for o in outcomes if not o.passed)
    click.echo(f"{len(outcomes) - failed} passed, {failed} failed")
    sys.exit(status)


def _emit(records: list[Record], out: str | None, header: Record) -> None:
    """Write the records to ``out``, or standard output; an ``OutputError`` if that fails (a
    full disk; a reader of standard output that stopped reading, such as ``| head``)."""
    try:
        _write_records(records, out, header)
    except OSError as exc:
        if out is None:
            _silence_stdout()
        raise OutputError.of(out or "standard output", exc) from exc


def _write_records(records: list[Record], out: str | None, header: Record) -> None:
    data = header + header[:0].join(records)
    encoded: bytes = data.encode("utf-8") if isinstance(data, str) else data
    with contextlib.ExitStack() as stack:
        handle: IO[bytes] = stack.enter_context(open(out, "wb")) if out else sys.stdout.buffer
        sys.stdout.flush()  # anything printed before goes first
        _write_all(handle, encoded)
        handle.flush()


def _write_all(handle: IO[bytes], data: bytes) -> None:
    """All of ``data``, or the ``OSError`` that stopped it: a buffered write that the system
    cuts short (a pipe whose reader left) returns what it wrote, and the error would be lost."""
    view = memoryview(data)
    while view:
        view = view[handle.write(view):]


if __name__ == "__main__":  # pragma: no cover
    main()
