"""README's "What works" lists exactly the task types the registry supports."""

from __future__ import annotations

from pathlib import Path

from ostinato.flow.catalogue import BEGIN, END, markdown, supported_types

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_supported_task_type() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text, "README lacks the task type list markers"
    listed = text[text.index(BEGIN):text.index(END) + len(END)] + "\n"
    assert listed == markdown(), "README's task types differ: run python -m ostinato.flow.catalogue"


def test_catalogue_has_canonical_names_and_aliases_but_no_refused_type() -> None:
    types = supported_types()
    assert "io.kestra.core.tasks.flows.Flow" in types["io.kestra.plugin.core.flow.Subflow"]
    assert "io.kestra.plugin.core.flow.Template" not in types
    assert "io.kestra.plugin.scripts.shell.Commands" in types
    assert not any(name.startswith("com.example.") for name in types)  # plugins left out
