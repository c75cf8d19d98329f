"""parse_flow: YAML with lines, plugin defaults, error rendering, aliases, limits."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ostinato.flow.parser import (
    MAX_FLOW_BYTES,
    FlowError,
    FlowValidationError,
    load_yaml_with_lines,
    parse_flow,
    parse_flow_file,
    render_path,
    validate_flow,
)
from ostinato.flow.tasks import Dag, EachSequential, If, Log, Parallel, Return, Switch


def flow(text: str) -> str:
    return textwrap.dedent(text).lstrip()


# ----------------------------------------------------------------- FlowError


def test_flow_error_str() -> None:
    assert str(FlowError("tasks[2].then[0].format", 14, "bad")) == (
        "tasks[2].then[0].format, line 14: bad"
    )
    assert str(FlowError("tasks[0]", None, "bad")) == "tasks[0]: bad"
    assert str(FlowError("", 3, "bad")) == "line 3: bad"
    assert str(FlowError("", None, "bad")) == "bad"


def test_validation_error_lists_every_error() -> None:
    exc = FlowValidationError([FlowError("a", 1, "x"), FlowError("b", 2, "y")])
    assert str(exc) == "a, line 1: x\nb, line 2: y"
    assert isinstance(exc, ValueError)


def test_render_path() -> None:
    assert render_path(("tasks", 2, "then", 0, "format")) == "tasks[2].then[0].format"
    assert render_path(("tasks", 0, "cases", "A", 1)) == "tasks[0].cases.A[1]"
    assert render_path(("labels", "a b")) == 'labels["a b"]'


# ----------------------------------------------------------------- YAML loading


def test_line_map() -> None:
    data, lines = load_yaml_with_lines("a: 1\nb:\n  - x: 2\n    y: 3\n  - 4\n")
    assert data == {"a": 1, "b": [{"x": 2, "y": 3}, 4]}
    assert lines[("a",)] == 1
    assert lines[("b", 0)] == 3
    assert lines[("b", 0, "y")] == 4
    assert lines[("b", 1)] == 5


def test_safe_loading_refuses_python_tags() -> None:
    errors = validate_flow("id: x\nnamespace: y\ntasks: !!python/object/apply:os.system ['ls']\n")
    assert len(errors) == 1
    assert errors[0].line == 3
    assert "invalid YAML" in errors[0].message


def test_yaml_syntax_error_has_its_line() -> None:
    source = flow("""
        id: broken
        namespace: io.kestra.tests
        tasks:
          - id: a
           type: io.kestra.plugin.core.debug.Return
        """)
    errors = validate_flow(source)
    assert len(errors) == 1
    assert errors[0].path == ""
    assert errors[0].line == 5
    assert errors[0].message.startswith("invalid YAML")
    assert str(errors[0]).startswith("line 5: invalid YAML")


def test_unclosed_flow_sequence() -> None:
    errors = validate_flow("id: a\nnamespace: b\ntasks: [\n")
    assert [(e.path, e.line) for e in errors] == [("", 4)]


@pytest.mark.parametrize("source, got", [("- a\n- b\n", "a list"), ("", "nothing"), ("42", "an integer")])
def test_top_level_must_be_a_mapping(source: str, got: str) -> None:
    errors = validate_flow(source)
    assert [e.message for e in errors] == [f"a flow must be a YAML mapping, got {got}"]


def test_size_cap() -> None:
    source = "id: a\nnamespace: b\n" + "# padding\n" * 200
    errors = validate_flow("x" * (MAX_FLOW_BYTES + 1))
    assert len(errors) == 1
    assert str(MAX_FLOW_BYTES + 1) in errors[0].message
    assert str(MAX_FLOW_BYTES) in errors[0].message
    with pytest.raises(FlowValidationError) as info:
        parse_flow(source, max_bytes=100)
    assert f"{len(source.encode())} bytes" in str(info.value)
    assert "limit of 100 bytes" in str(info.value)


def test_size_cap_counts_bytes_not_characters() -> None:
    source = "id: a\nnamespace: b\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n  format: " + "é" * 40 + "\n"
    assert len(source) < 150 < len(source.encode())
    with pytest.raises(FlowValidationError):
        parse_flow(source, max_bytes=150)


def test_parse_flow_file(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("id: f\nnamespace: a.b\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n")
    assert parse_flow_file(path).id == "f"
    assert parse_flow_file(str(path)).namespace == "a.b"


# ----------------------------------------------------------------- models


def test_alias_type_names() -> None:
    parsed = parse_flow(flow("""
        id: old-names
        namespace: io.kestra.tests
        tasks:
          - id: parallel
            type: io.kestra.core.tasks.flows.Parallel
            tasks:
              - id: ret
                type: io.kestra.core.tasks.debugs.Return
                format: "{{ task.id }}"
              - id: log
                type: io.kestra.core.tasks.log.Log
                message: hi
          - id: each
            type: io.kestra.core.tasks.flows.EachSequential
            value: '["a", "b"]'
            tasks:
              - id: inner
                type: io.kestra.plugin.core.debug.Return
                format: x
        """))
    parallel = parsed.tasks[0]
    assert isinstance(parallel, Parallel)
    assert isinstance(parallel.tasks[0], Return)
    assert isinstance(parallel.tasks[1], Log)
    assert isinstance(parsed.tasks[1], EachSequential)
    assert parsed.task("inner").type == "io.kestra.plugin.core.debug.Return"


def test_labels_as_list_or_map() -> None:
    base = "id: l\nnamespace: a\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n"
    as_list = parse_flow(base + "labels:\n  - key: team\n    value: data\n  - key: env\n    value: prod\n")
    as_map = parse_flow(base + "labels:\n  team: data\n  env: prod\n")
    assert as_list.labels == as_map.labels == {"team": "data", "env": "prod"}
    errors = validate_flow(base + "labels:\n  - name: team\n")
    assert [(e.path, e.line) for e in errors] == [("labels", 6)]
    assert "`key` and `value`" in errors[0].message


def test_templates_are_never_rendered_or_type_checked() -> None:
    parsed = parse_flow(flow("""
        id: t
        namespace: a
        inputs:
          - id: day
            type: DATE
            defaults: "{{ now() | date('yyyy-MM-dd') }}"
        tasks:
          - id: sleep
            type: io.kestra.plugin.core.flow.Sleep
            duration: "{{ inputs.duration }}"
            timeout: "{{ 'PT' ~ 5 ~ 'S' }}"
        triggers:
          - id: s
            type: io.kestra.plugin.core.trigger.Schedule
            cron: "{{ vars.cron }}"
        """))
    assert parsed.inputs[0].defaults == "{{ now() | date('yyyy-MM-dd') }}"


def test_union_errors_give_one_message() -> None:
    errors = validate_flow(flow("""
        id: u
        namespace: a
        tasks:
          - id: each
            type: io.kestra.plugin.core.flow.ForEach
            values: 12
            tasks:
              - id: r
                type: io.kestra.plugin.core.debug.Return
        """))
    assert [(e.path, e.line, e.message) for e in errors] == [
        ("tasks[0].values", 6, "expected a string or a list, got `12`"),
    ]


def test_python_field_names_come_back_as_yaml_names() -> None:
    errors = validate_flow(flow("""
        id: n
        namespace: a
        tasks:
          - id: if
            type: io.kestra.plugin.core.flow.If
            condition: true
            then:
              - id: r
                type: io.kestra.plugin.core.debug.Return
            else:
              - id: e
                type: io.kestra.plugin.core.log.Log
                message: hi
                allowFailure: nope
        finally:
          - id: f
            type: io.kestra.plugin.core.log.Log
        afterExecution:
          - id: g
            type: io.kestra.plugin.core.flow.Sleep
            duration: PT1S
            allowFailure: nope
        """))
    assert [(e.path, e.line) for e in errors] == [
        ("tasks[0].else[0].allowFailure", 14),
        ("finally[0].message", 16),
        ("afterExecution[0].allowFailure", 22),
    ]


def test_switch_with_integer_case_keys() -> None:
    errors = validate_flow(flow("""
        id: s
        namespace: a
        tasks:
          - id: sw
            type: io.kestra.plugin.core.flow.Switch
            value: 1
            cases:
              1:
                - id: r
                  type: io.kestra.plugin.core.debug.Return
                  bad: x
        """))
    assert [(e.path, e.line, e.message) for e in errors] == [
        ("tasks[0].cases.1[0].bad", 11, "unknown property `bad` for type `io.kestra.plugin.core.debug.Return`"),
    ]


def test_bad_retry_is_reported_readably() -> None:
    errors = validate_flow(flow("""
        id: r
        namespace: a
        tasks:
          - id: r
            type: io.kestra.plugin.core.debug.Return
            retry:
              type: constant
              maxAttempt: 3
        """))
    assert [(e.path, e.line, e.message) for e in errors] == [
        ("tasks[0].retry", 6, "a constant retry needs `interval`"),
    ]


def test_many_bad_tasks_all_reported() -> None:
    tasks = "".join(
        f"  - id: t{i}\n    type: io.kestra.plugin.core.log.Log\n    nope{i}: 1\n" for i in range(30)
    )
    errors = validate_flow("id: m\nnamespace: a\ntasks:\n" + tasks)
    unknown = [e for e in errors if "unknown property" in e.message]
    missing = [e for e in errors if "missing required" in e.message]
    assert len(unknown) == 30 and len(missing) == 30
    assert unknown[29].path == "tasks[29].nope29" and unknown[29].line == 3 + 29 * 3 + 3


# ----------------------------------------------------------------- plugin defaults


DEFAULTS_FLOW = """
id: defaults
namespace: io.kestra.tests
{key}:
  - type: io.kestra.plugin.core.log.Log
    values:
      message: from default
      level: WARN
  - type: io.kestra.plugin.core.log.Log
    forced: true
    values:
      level: ERROR
  - type: io.kestra.plugin.core.debug
    values:
      format: prefixed
  - type: io.kestra.plugin.core.flow.Sleep
    values:
      id: never
      duration: PT1S
tasks:
  - id: own
    type: io.kestra.plugin.core.log.Log
    message: mine
    level: DEBUG
  - id: filled
    type: io.kestra.plugin.core.log.Log
  - id: if
    type: io.kestra.plugin.core.flow.If
    condition: true
    then:
      - id: in-then
        type: io.kestra.plugin.core.log.Log
    else:
      - id: in-else
        type: io.kestra.plugin.core.debug.Return
  - id: switch
    type: io.kestra.plugin.core.flow.Switch
    value: A
    cases:
      A:
        - id: in-case
          type: io.kestra.plugin.core.log.Log
    defaults:
      - id: in-switch-defaults
        type: io.kestra.plugin.core.flow.Sleep
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: in-dag
          type: io.kestra.plugin.core.debug.Return
errors:
  - id: in-errors
    type: io.kestra.plugin.core.log.Log
finally:
  - id: in-finally
    type: io.kestra.plugin.core.flow.Sleep
afterExecution:
  - id: in-after
    type: io.kestra.plugin.core.debug.Return
    format: own format
"""


@pytest.mark.parametrize("key", ["pluginDefaults", "taskDefaults"])
def test_plugin_defaults_fill_and_force(key: str) -> None:
    parsed = parse_flow(DEFAULTS_FLOW.format(key=key))
    own = parsed.task("own")
    assert isinstance(own, Log)
    assert own.message == "mine"      # the task's value wins over a default...
    assert own.level == "ERROR"       # ...but not over a forced one
    filled = parsed.task("filled")
    assert isinstance(filled, Log) and filled.message == "from default" and filled.level == "ERROR"
    for task_id in ("in-then", "in-case", "in-errors"):
        task = parsed.task(task_id)
        assert isinstance(task, Log) and task.message == "from default", task_id
    for task_id in ("in-else", "in-dag"):
        task = parsed.task(task_id)
        assert isinstance(task, Return) and task.format == "prefixed", task_id
    after = parsed.task("in-after")
    assert isinstance(after, Return) and after.format == "own format"
    # `id` in a default's values is never applied
    assert parsed.task("in-finally").id == "in-finally"
    assert parsed.task("in-switch-defaults").id == "in-switch-defaults"
    assert isinstance(parsed.task("if"), If) and isinstance(parsed.task("switch"), Switch)
    assert isinstance(parsed.task("dag"), Dag)


def test_plugin_defaults_deep_merge_maps() -> None:
    parsed = parse_flow(flow("""
        id: deep
        namespace: a
        pluginDefaults:
          - type: io.kestra.plugin.core.http.Request
            values:
              headers: {X-Team: data, X-Env: dev}
              options: {connectTimeout: PT5S}
          - type: io.kestra.plugin.core.http.Request
            forced: true
            values:
              headers: {X-Env: prod}
        tasks:
          - id: req
            type: io.kestra.plugin.core.http.Request
            uri: https://example.com
            headers: {X-Own: yes, X-Env: test}
        """))
    task = parsed.task("req")
    assert task.headers == {"X-Team": "data", "X-Env": "prod", "X-Own": True}  # type: ignore[attr-defined]
    assert task.options == {"connectTimeout": "PT5S"}  # type: ignore[attr-defined]


def test_plugin_default_does_not_match_a_longer_type_name() -> None:
    errors = validate_flow(flow("""
        id: nomatch
        namespace: a
        pluginDefaults:
          - type: io.kestra.plugin.core.log.Lo
            values:
              message: x
        tasks:
          - id: log
            type: io.kestra.plugin.core.log.Log
        """))
    assert [e.message for e in errors] == ["missing required property `message`"]


def test_corpus_task_defaults_do_not_override() -> None:
    corpus = Path("/work/shared/conformance/kestra/logs.yaml")
    if not corpus.exists():
        pytest.skip(f"Kestra conformance corpus not found at {corpus.parent}")
    parsed = parse_flow_file(corpus)
    assert [t.message for t in parsed.tasks if isinstance(t, Log)][0] == "first {{task.id}}"


# ----------------------------------------------------------------- hostile or odd YAML


def test_alias_bomb_is_refused_quickly() -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        name, prev = chr(98 + i), chr(97 + i)
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    errors = validate_flow("\n".join(levels) + "\n")
    assert len(errors) == 1
    # refused while composing: the expanded-size limit (or the 50-aliases rule) names aliases
    assert "aliases" in errors[0].message


def test_recursive_alias_is_refused() -> None:
    errors = validate_flow(
        "id: a\nnamespace: b\ntasks: &t\n- id: r\n  type: io.kestra.plugin.core.flow.Sequential\n  tasks: *t\n"
    )
    assert [(e.line, e.message) for e in errors] == [
        (3, "invalid YAML: a YAML alias refers to a collection that contains it"),
    ]


def test_plain_aliases_and_merge_keys_work() -> None:
    parsed = parse_flow(flow("""
        id: a
        namespace: b
        variables:
          base: &base {type: io.kestra.plugin.core.debug.Return, format: shared}
        tasks:
          - <<: *base
            id: one
          - <<: *base
            id: two
        """))
    assert [t.id for t in parsed.tasks] == ["one", "two"]


def test_non_string_property_names() -> None:
    errors = validate_flow(
        "id: a\nnamespace: b\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n  2020-01-01: x\n"
    )
    assert [(e.path, e.message) for e in errors] == [
        ("tasks[0].2020-01-01", "a property name must be a string, got `2020-01-01`"),
    ]


def test_errors_caused_by_plugin_defaults_say_so() -> None:
    errors = validate_flow(flow("""
        id: a
        namespace: b
        pluginDefaults:
          - type: io.kestra.plugin.core.debug.Return
            values: {colour: red}
        tasks:
          - id: r
            type: io.kestra.plugin.core.debug.Return
        """))
    assert [(e.path, e.line, e.message) for e in errors] == [
        ("tasks[0].colour", 7,
         "unknown property `colour` for type `io.kestra.plugin.core.debug.Return` (set by pluginDefaults)"),
    ]


def test_deeply_nested_yaml_is_an_error_not_a_crash() -> None:
    errors = validate_flow("id: a\nnamespace: b\ntasks: " + "[" * 5000 + "]" * 5000 + "\n")
    assert len(errors) == 1
    assert "nested too deeply" in errors[0].message
