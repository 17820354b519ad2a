"""The compiled-policy cache: a fresh entry is restored, a stale one is compiled again, and
either way every decision is the same."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner
from conftest import line

import policydsl
from policydsl import cache, image
from policydsl.cli import main

REPO = Path(__file__).resolve().parent.parent
LIMIT = """policy t.cached
limit 97810 per day <= {n} units
"""
TWO_UNITS = [line("C1", 1, "M1", "2024-03-01", "97810", units=2)]


def restored(policy: policydsl.Policy) -> bool:
    """Was this policy restored from an image (not compiled in this process)?"""
    return policy.program.tables is None


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A policy folder of our own, so the tests can edit it."""
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "t.pol").write_text(LIMIT.format(n=2), encoding="utf-8")
    return tmp_path


def test_second_load_is_restored_and_judges_the_same(folder: Path) -> None:
    where = folder / "cache"
    first = policydsl.load(folder / "plan" / "t.pol", cache_dir=where)
    second = policydsl.load(folder / "plan" / "t.pol", cache_dir=where)
    assert not restored(first) and restored(second)
    assert second.adjudicate(TWO_UNITS) == first.adjudicate(TWO_UNITS)
    assert second.adjudicate(TWO_UNITS)[0].decision == "allow"


def test_an_image_holds_a_value_plans_share_once(tmp_path: Path) -> None:
    # every code of a limit over a range shares the codes the limit looks back at, and every
    # code of an exclusive its list: each pickled into every plan, the image of N such codes
    # grew as N times N (a limit over 00000..99999 ran out of memory writing it)
    def image_size(count: int) -> int:
        text = (f"policy t.big\nset A = 10000..{10000 + count - 1}\n"
                "limit A per 90d <= 3\nexclusive 20553, 20552, 10000..10039\n")
        return len(image.dumps(image.image_of(policydsl.compile_text(text).program)))
    assert image_size(4000) < 2.5 * image_size(2000)

    def exclusive_size(count: int, across: str) -> int:
        text = f"policy t.big\nset A = 10000..{10000 + count - 1}\nexclusive A{across}\n"
        return len(image.dumps(image.image_of(policydsl.compile_text(text).program)))
    for across in ("", " across providers"):  # plan field 3, and 14
        assert exclusive_size(4000, across) < 2.5 * exclusive_size(2000, across)
    text = ("policy t.big\nset A = 10000..10999\nlimit A per 90d <= 3\n"
            "exclusive 10039, 10000..10038\n")
    (tmp_path / "big.pol").write_text(text, encoding="utf-8")
    lines = [line("C1", 1, "M1", "2024-03-01", "10000"), line("C1", 2, "M1", "2024-03-01", "10039"),
             line("C2", 1, "M1", "2024-03-02", "10500"), line("C3", 1, "M1", "2024-03-03", "10999"),
             line("C4", 1, "M1", "2024-03-04", "10001")]
    first = policydsl.load(tmp_path / "big.pol", cache_dir=tmp_path / "cache")
    second = policydsl.load(tmp_path / "big.pol", cache_dir=tmp_path / "cache")
    assert restored(second)
    decisions = second.adjudicate(lines)
    assert decisions == first.adjudicate(lines)
    assert [d.decision for d in decisions] == ["deny", "allow", "allow", "allow", "deny"]


class _PolicyPath(os.PathLike[str]):
    """A path type of a caller's own: ``load`` takes any ``os.PathLike``, as api.md says."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)


def test_load_takes_any_path_like(folder: Path) -> None:
    policy = folder / "plan" / "t.pol"
    plain = policydsl.load(_PolicyPath(policy))
    cached = policydsl.load(_PolicyPath(policy), cache_dir=_PolicyPath(folder / "cache"))
    assert plain.adjudicate(TWO_UNITS) == cached.adjudicate(TWO_UNITS)
    assert restored(policydsl.load(policy, cache_dir=folder / "cache"))
    # and says so to a type checker (the package ships py.typed)
    hints = typing.get_type_hints(policydsl.load)
    assert hints["path"] == str | os.PathLike[str]
    assert hints["cache_dir"] == str | os.PathLike[str] | None


def test_an_edited_policy_is_compiled_again(folder: Path) -> None:
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    policy_file.write_text(LIMIT.format(n=1), encoding="utf-8")  # same size, new content
    os.utime(policy_file, ns=(1, 1))
    edited = policydsl.load(policy_file, cache_dir=where)
    assert not restored(edited)
    assert edited.adjudicate(TWO_UNITS)[0].decision == "deny"
    assert policydsl.load(policy_file, cache_dir=where).adjudicate(TWO_UNITS)[0].decision \
        == "deny"


def test_an_edit_that_keeps_size_and_modification_time_is_compiled_again(
        folder: Path) -> None:
    # edited to the same size and given back its old modification time, as `cp -p`, `rsync -t`
    # or unpacking an archive can: the change time (set by the system) still tells
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    before = policy_file.stat()
    policy_file.write_text(LIMIT.format(n=1), encoding="utf-8")
    os.utime(policy_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (policy_file.stat().st_size, policy_file.stat().st_mtime_ns) == (
        before.st_size, before.st_mtime_ns)
    edited = policydsl.load(policy_file, cache_dir=where)
    assert not restored(edited)
    assert edited.adjudicate(TWO_UNITS)[0].decision == "deny"


def test_touching_a_file_without_changing_it_keeps_the_entry(folder: Path) -> None:
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    os.utime(policy_file, ns=(1, 1))
    assert restored(policydsl.load(policy_file, cache_dir=where))


def test_an_edited_table_is_compiled_again(tmp_path: Path) -> None:
    shutil.copytree(REPO / "policies" / "medicare", tmp_path / "medicare")
    pfs = tmp_path / "medicare" / "pfs.pol"
    where = tmp_path / "cache"
    policydsl.load(pfs, cache_dir=where)
    assert restored(policydsl.load(pfs, cache_dir=where))
    table = next((tmp_path / "medicare" / "pfs").glob("*.csv"))
    table.write_text(table.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert not restored(policydsl.load(pfs, cache_dir=where))


def test_a_new_policy_where_extends_looks_makes_the_entry_stale(folder: Path) -> None:
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    (folder / "other").mkdir()
    (folder / "other" / "u.pol").write_text("policy t.other\n", encoding="utf-8")
    assert not restored(policydsl.load(policy_file, cache_dir=where))
    assert restored(policydsl.load(policy_file, cache_dir=where))


def test_a_damaged_entry_is_compiled_again(folder: Path) -> None:
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    (entry,) = where.iterdir()
    entry.write_bytes(entry.read_bytes()[:100])
    again = policydsl.load(policy_file, cache_dir=where)
    assert not restored(again)
    assert again.adjudicate(TWO_UNITS)[0].decision == "allow"


@pytest.mark.parametrize("where_in_image", [0.1, 0.5, 0.9, 1.0])
def test_a_damaged_byte_anywhere_in_the_image_is_compiled_again(
        folder: Path, where_in_image: float) -> None:
    # the image's plans are read on demand, while judging: a damaged byte there was a
    # traceback on every run, or (in a message) was printed; the entry's CRC-32 finds it first
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    (entry,) = where.iterdir()
    data = bytearray(entry.read_bytes())
    at = min(len(data) - 1, int(len(data) * where_in_image))
    data[at] ^= 0x20
    entry.write_bytes(bytes(data))
    again = policydsl.load(policy_file, cache_dir=where)
    assert not restored(again)
    assert again.adjudicate(TWO_UNITS)[0].decision == "allow"
    assert entry.read_bytes() != bytes(data)  # replaced
    assert restored(policydsl.load(policy_file, cache_dir=where))


def test_a_policy_edited_while_it_compiles_is_not_saved(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the entry would hold the program of the old text under the state of the new file, and
    # every later run would restore the stale program
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    compile_ruleset = cache.compile_ruleset

    def compile_during_an_edit(ruleset: typing.Any) -> typing.Any:
        program = compile_ruleset(ruleset)
        policy_file.write_text(LIMIT.format(n=1), encoding="utf-8")  # 1 unit a day now
        return program

    monkeypatch.setattr(cache, "compile_ruleset", compile_during_an_edit)
    raced = policydsl.load(policy_file, cache_dir=where)
    assert raced.adjudicate(TWO_UNITS)[0].decision == "allow"  # what it compiled
    monkeypatch.setattr(cache, "compile_ruleset", compile_ruleset)
    after = policydsl.load(policy_file, cache_dir=where)
    assert not restored(after)
    assert after.adjudicate(TWO_UNITS)[0].decision == "deny"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_where_an_entry_goes_is_replaced_not_read(folder: Path) -> None:
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    (entry,) = where.iterdir()
    entry.unlink()
    os.mkfifo(entry)  # opening it to read would wait for a writer for ever
    again = policydsl.load(policy_file, cache_dir=where)
    assert not restored(again)
    assert entry.is_file()
    assert restored(policydsl.load(policy_file, cache_dir=where))


def test_a_policy_given_as_a_named_pipe_is_compiled_not_cached(tmp_path: Path) -> None:
    # the cache read the pipe to note its state, and loading then waited for ever for a
    # second writer; a pipe's text can be read once only, so it is compiled each time
    pipe = tmp_path / "pipe" / "t.pol"  # not where another test's extends looks
    pipe.parent.mkdir()
    os.mkfifo(pipe)
    script = textwrap.dedent(f"""
        import threading, policydsl
        def write():
            with open({str(pipe)!r}, "w") as end:
                end.write("policy t.pipe\\nlimit 97810 per day <= 1\\n")
        threading.Thread(target=write).start()
        print(policydsl.load({str(pipe)!r}, cache_dir={str(tmp_path / "cache")!r}))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    pipe.unlink()
    assert (done.returncode, done.stdout) == (0, "<Policy t.pipe: 1 rules>\n"), done.stderr
    assert not (tmp_path / "cache").exists()


def test_a_path_with_a_nul_is_a_policy_error_with_a_cache_too(tmp_path: Path) -> None:
    # looking whether the path was a named pipe raised the system's ValueError
    for cache_dir in (None, tmp_path / "cache"):
        with pytest.raises(policydsl.PolicyError):
            policydsl.load("a\0b.pol", cache_dir=cache_dir)


def test_a_cache_that_cannot_be_written_is_skipped(folder: Path) -> None:
    blocked = folder / "not-a-folder"
    blocked.write_text("", encoding="utf-8")
    policy = policydsl.load(folder / "plan" / "t.pol", cache_dir=blocked)
    assert policy.adjudicate(TWO_UNITS)[0].decision == "allow"


def test_the_working_directory_is_part_of_the_key(folder: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # findings name files relative to the working directory, so another one needs its entry
    policy_file = folder / "plan" / "t.pol"
    first = cache.entry_path(policy_file, folder / "cache")
    monkeypatch.chdir(folder / "plan")
    assert cache.entry_path(policy_file, folder / "cache") != first


def test_another_compiler_never_restores_an_entry(folder: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # an image holds generated code: after an upgrade (or an edit of policydsl) it must not run
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    monkeypatch.setattr(cache, "compiler_fingerprint", lambda: "another compiler")
    assert not restored(policydsl.load(policy_file, cache_dir=where))
    assert restored(policydsl.load(policy_file, cache_dir=where))


def test_a_restored_policy_reads_its_rules_on_demand(folder: Path) -> None:
    where = folder / "cache"
    compiled = policydsl.load(folder / "plan" / "t.pol", cache_dir=where)
    again = policydsl.load(folder / "plan" / "t.pol", cache_dir=where)
    assert again.ruleset == compiled.ruleset
    assert again.interpret(TWO_UNITS) == compiled.adjudicate(TWO_UNITS)


def test_a_restored_policy_whose_files_changed_refuses_to_read_its_rules(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # rules read from the edited file would disagree with the restored program
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    edited = policydsl.load(policy_file, cache_dir=where)
    moved = policydsl.load(policy_file, cache_dir=where)
    policy_file.write_text(LIMIT.format(n=1), encoding="utf-8")
    os.utime(policy_file, ns=(1, 1))
    with pytest.raises(policydsl.PolicyError, match="changed since the policy was restored"):
        edited.interpret(TWO_UNITS)
    assert edited.adjudicate(TWO_UNITS)[0].decision == "allow"  # the program it was
    policy_file.write_text(LIMIT.format(n=2), encoding="utf-8")
    monkeypatch.chdir(folder / "plan")
    with pytest.raises(policydsl.PolicyError, match="or the working folder changed"):
        moved.interpret(TWO_UNITS)


def test_a_restored_policy_pickles_even_after_its_files_changed(folder: Path) -> None:
    # a service restores its policy, a deploy touches the files, then it starts workers: the
    # policy it sends them is the program it judges with, not whatever the files now say
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    policy = policydsl.load(policy_file, cache_dir=where)
    assert restored(policy)
    policy_file.write_text(LIMIT.format(n=1), encoding="utf-8")
    copy = pickle.loads(pickle.dumps(policy))
    assert restored(copy)
    assert copy.adjudicate(TWO_UNITS) == policy.adjudicate(TWO_UNITS)
    assert copy.adjudicate(TWO_UNITS)[0].decision == "allow"  # the program it was
    with pytest.raises(policydsl.PolicyError, match="changed since the policy was restored"):
        copy.interpret(TWO_UNITS)  # its rules are read under the same condition as before


def test_a_restored_policy_pickles_with_the_rules_it_has_read(folder: Path) -> None:
    where = folder / "cache"
    policy_file = folder / "plan" / "t.pol"
    policydsl.load(policy_file, cache_dir=where)
    policy = policydsl.load(policy_file, cache_dir=where)
    rules = policy.rules  # read now, while the files are as they were
    policy_file.write_text(LIMIT.format(n=1), encoding="utf-8")
    copy = pickle.loads(pickle.dumps(policy))
    assert copy.rules == rules
    assert copy.interpret(TWO_UNITS) == policy.adjudicate(TWO_UNITS)


def test_an_image_of_a_restored_program_is_refused(folder: Path) -> None:
    where = folder / "cache"
    policydsl.load(folder / "plan" / "t.pol", cache_dir=where)
    again = policydsl.load(folder / "plan" / "t.pol", cache_dir=where)
    with pytest.raises(ValueError, match="restored"):
        image.image_of(again.program)


def test_an_image_of_another_format_or_python_is_not_used() -> None:
    made = image.image_of(policydsl.compile_text(LIMIT.format(n=1)).program)
    again = image.loads(image.dumps(made))
    assert again is not None and image.dumps(again) == image.dumps(made)
    assert image.loads(image.dumps(made)[:-1]) is None  # cut short
    assert image.loads(image.dumps(attrs.evolve(made, format=made.format + 1))) is None
    assert image.loads(image.dumps(attrs.evolve(made, python="2.7.18"))) is None
    assert image.loads(b"not a pickle") is None


def test_an_image_keeps_every_rules_texts_and_dates() -> None:
    text = textwrap.dedent("""\
        policy t
        effective 2024-01-01 until 2024-12-31
        rule a carc 119 review "Over \\"twelve\\"\\n\u00e9\u2028x": limit 97810 per 90d <= 12
        rule b effective 2025-02-01: require auth for 63650
        when 64483 forbid 77002
        """)
    program = policydsl.compile_text(text, name="t.pol").program
    made = image.loads(image.dumps(image.image_of(program)))
    assert made is not None
    restored = image._Texts(made.texts)
    assert [restored[number] for number in range(len(program.rules))] == [
        rule.info for rule in program.rules]
    assert program.rules[0].info.message == 'Over "twelve"\n\u00e9\u2028x'


def test_policyc_run_output_is_the_same_from_the_cache(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    runner = CliRunner()
    args = ["run", "--policy", "policies/medicare/pain.pol", "--history",
            "examples/history.csv", "examples/claims.csv", "--cache-dir", str(tmp_path)]
    cold = runner.invoke(main, args)
    warm = runner.invoke(main, args)
    uncached = runner.invoke(main, [*args[:-2], "--no-cache"])
    assert cold.exit_code == warm.exit_code == uncached.exit_code == 0, cold.output
    assert cold.stdout_bytes == warm.stdout_bytes == uncached.stdout_bytes
    assert len(list(tmp_path.iterdir())) == 1
    assert b'"decision":"deny"' in warm.stdout_bytes


def test_a_run_restored_from_the_cache_loads_neither_parser_nor_ast(folder: Path) -> None:
    """Start-up is on the critical path of every run: restoring a policy needs neither Lark
    nor the AST's classes (importing them took a tenth of a second)."""
    program = textwrap.dedent("""
        import sys
        from pathlib import Path
        import policydsl.cli
        from policydsl import load
        from policydsl.claims import ClaimLine
        import datetime as dt
        policy = load(sys.argv[1], cache_dir=Path(sys.argv[2]))
        line = ClaimLine("C1", 1, "M1", dt.date(2024, 3, 1), "97810", units=3)
        print(policy.adjudicate([line])[0].decision, policy.program.tables is None,
              sorted(m for m in ("lark", "policydsl.parser", "policydsl.nodes")
                     if m in sys.modules))
    """)
    command = [sys.executable, "-c", program, str(folder / "plan" / "t.pol"),
               str(folder / "cache")]
    cold = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    warm = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert cold.stdout.split()[:2] == ["deny", "False"]  # compiled: it parsed the policy
    assert warm.stdout.strip() == "deny True []"


def test_output_is_byte_identical_whatever_the_hash_seed(tmp_path: Path) -> None:
    """Sets and dicts of strings iterate in an order that ``PYTHONHASHSEED`` changes: no
    output may depend on it, whether the policy is compiled, or restored from a cache that a
    process of another seed wrote."""
    warned = tmp_path / "warned.pol"
    warned.write_text(textwrap.dedent("""\
        policy t.warned
        set UNUSED = 77002, 77003, 20552..20553
        dx ALSO = M54.5*, M54.4*, G89.29
        deleted 62311 since 2017-01-01 use 62322
        limit 62311, 62322, 97810, 97813 per 12mo <= 4 sessions
        limit 62311, 62322, 97810, 97813 per 90d <= 30 sessions
        when 20552 forbid 20552
        addon 64484 requires 64483, 64479
        when 64484 forbid 64483, 64479
        exclusive 20553, 20552, 20553
        limit 97810 per 90d <= 12
        rule acu: limit 97810 per 90d <= 12
        """))
    commands = [
        ["run", "--policy", "policies/commercial", "--history", "examples/history.csv",
         "examples/claims.csv", "--cache-dir", str(tmp_path / "cache")],
        ["run", "--policy", "policies/commercial", "--history", "examples/history.csv",
         "examples/claims.csv", "--no-cache", "--format", "csv"],
        ["compile", "--emit", "python", "policies/commercial/acme_health.pol"],
        ["check", "--format", "json", str(warned)],
    ]
    outputs: dict[int, list[bytes]] = {}
    for seed in (1, 2):
        env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(REPO)}
        outputs[seed] = []
        for command in commands:
            done = subprocess.run([sys.executable, "-m", "policydsl.cli", *command], cwd=REPO,
                                  env=env, capture_output=True, timeout=300, check=False)
            assert done.returncode in (0, 1), done.stderr.decode()
            assert done.stdout, command
            outputs[seed].append(done.stdout)
    assert outputs[1] == outputs[2]
