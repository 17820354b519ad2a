"""``collector_paused``: the cyclic garbage collector is off inside the block, as it was after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from policydsl import loader
from policydsl.collector import collector_paused


@pytest.fixture
def collecting() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:  # pragma: no cover - pytest runs with the collector on
        gc.disable()


def test_paused_inside_and_resumed_after(collecting: None) -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resumed_after_an_error(collecting: None) -> None:
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("judging failed")
    assert gc.isenabled()


def test_left_off_when_it_was_off(collecting: None) -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
    gc.enable()


def test_a_policy_is_parsed_and_resolved_with_the_collector_paused(
        collecting: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, bool] = {}
    parse, resolve = loader.parse, loader.resolve

    def watched_parse(*args: object) -> object:
        seen["parse"] = gc.isenabled()
        return parse(*args)  # type: ignore[arg-type]

    def watched_resolve(*args: object, **kwargs: object) -> object:
        seen["resolve"] = gc.isenabled()
        return resolve(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "parse", watched_parse)
    monkeypatch.setattr(loader, "resolve", watched_resolve)
    policy = tmp_path / "p.pol"
    policy.write_text("policy p\nlimit 97810 per 90d <= 12\n")
    loaded = loader.load_paths([policy])
    assert not loaded.errors
    assert seen == {"parse": False, "resolve": False}
    assert gc.isenabled()
