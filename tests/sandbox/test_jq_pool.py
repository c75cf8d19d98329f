"""The jq sandbox pool: reused children, replaced when they die, bounded in number."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from ostinato.sandbox import limits as limits_module
from ostinato.sandbox.jq_pool import JqError, JqPool
from ostinato.sandbox.jq_program import ForbiddenJq, check_program
from ostinato.sandbox.limits import BudgetExceeded


@pytest.fixture
def pool() -> Iterator[JqPool]:
    limits_module.configure(jq_timeout=0.5, jq_processes=2)
    own = JqPool()
    yield own
    own.shutdown()
    assert own.children() == []
    limits_module.reset()


def test_children_are_reused_and_an_idle_child_killed_from_outside_is_replaced(pool: JqPool) -> None:
    assert pool.run(".a", '{"a": 1}') == [1]
    [pid] = pool.children()
    assert pool.run(".[] | . * 2", "[1, 2]") == [2, 4]
    assert pool.children() == [pid]
    os.kill(pid, signal.SIGKILL)
    assert pool.run(".", "3") == [3]
    assert pool.children() != [pid] and len(pool.children()) == 1


def test_errors_keep_the_child_and_timeouts_replace_it(pool: JqPool) -> None:
    with pytest.raises(JqError):
        pool.run(".a.b", '{"a": 1}')
    [pid] = pool.children()
    with pytest.raises(BudgetExceeded, match="jq time limit of 0.5 s"):
        pool.run("until(false; .)", "{}")
    assert pid not in pool.children()


def test_concurrent_calls_share_at_most_the_configured_children(pool: JqPool) -> None:
    results: list[list[int]] = []

    def call(n: int) -> None:
        results.append(pool.run(f"[range({n})] | length", "null"))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(r[0] for r in results) == list(range(8))
    assert len(pool.children()) <= 2


@pytest.mark.parametrize("program", [
    'import "creds" as $d {search: "/etc"}; $d', 'include "x"; .', 'modulemeta',
    '"a" | "\\(input_filename)"', "$__loc__", "get_search_list",
])
def test_file_access_is_refused_naming_the_word(program: str) -> None:
    with pytest.raises(ForbiddenJq, match="reads the file system"):
        check_program(program)


@pytest.mark.parametrize("program", [
    ".import", "{import: 1}", '"import x" | length', ". # include this\n", "$ENV", ".include.a",
])
def test_the_same_words_elsewhere_are_fine(program: str) -> None:
    check_program(program)
