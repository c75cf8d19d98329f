"""Every flow of Kestra's own test corpus parses without error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostinato.flow.model import Flow
from ostinato.flow.parser import parse_flow_file

CORPUS = Path("/work/shared/conformance/kestra")


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        p for p in CORPUS.iterdir()
        if p.suffix in (".yaml", ".yml") and p.name != "EXPECTED.yaml"
    )


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"Kestra conformance corpus not found at {CORPUS}")
def test_corpus_is_not_empty() -> None:
    assert len(corpus_files()) >= 80


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"Kestra conformance corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_flow_parses(path: Path) -> None:
    flow = parse_flow_file(path)
    assert isinstance(flow, Flow)
    assert flow.id and flow.namespace
    assert flow.tasks


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"Kestra conformance corpus not found at {CORPUS}")
def test_corpus_triggers_are_typed() -> None:
    from ostinato.flow.triggers import FlowTrigger, Schedule, Webhook

    listen = parse_flow_file(CORPUS / "flow-trigger-preconditions-flow-listen.yaml")
    trigger = listen.triggers[0]
    assert isinstance(trigger, FlowTrigger)
    assert trigger.preconditions is not None
    assert [f.flow_id for f in trigger.preconditions.flows] == [
        "flow-trigger-preconditions-flow-a", "flow-trigger-preconditions-flow-b",
    ]
    assert trigger.preconditions.where[0].filters[2].type == "IS_TRUE"
    assert isinstance(parse_flow_file(CORPUS / "webhook.yaml").triggers[0], Webhook)
    schedule = parse_flow_file(CORPUS / "switch.yaml").triggers[0]
    assert isinstance(schedule, Schedule) and schedule.cron == "0 * * * *"
