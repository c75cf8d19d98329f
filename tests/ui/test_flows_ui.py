"""The web UI's flow pages in a real headless Chromium against the session stack: the shell
and /api/docs without network, deploying and editing a flow in the editor (revisions and
their diff), validation as you type, the run form with the server's 422 next to the field,
the topology, the triggers with a backfill, and the UI behind basic authentication."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack
from tests.api.conftest import wait_until_serving
from tests.ui.conftest import browser_errors, screenshot, wait_for

YAML = {"Content-Type": "application/x-yaml"}


def by_testid(driver: Any, name: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]')


def all_by_testid(driver: Any, name: str) -> list[Any]:
    return list(driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{name}"]'))


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def deploy(base: str, source: str) -> dict[str, Any]:
    answer = httpx.post(f"{base}/api/v1/main/flows", content=source, headers=YAML, timeout=30)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def open_page(driver: Any, url: str, ready: str) -> None:
    """Loads `url` and waits for the element `ready` (a data-testid) to show."""
    driver.get(url)
    wait_for(lambda: by_testid(driver, ready).is_displayed(), what=f"{ready} on {url}")


def replace_text(driver: Any, element: Any, text: str) -> None:
    """Types `text` over the element's content, as a user would (select all, then type)."""
    element.click()
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    element.send_keys(text)


def test_root_redirects_to_the_ui_and_api_docs_need_no_network(ui_base: str, browser: Any) -> None:
    root = httpx.get(f"{ui_base}/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/ui/"
    docs = httpx.get(f"{ui_base}/api/docs").text
    assert "https://" not in docs and "http://" not in docs, "the docs page names no other host"
    browser.get(f"{ui_base}/api/docs")
    operations = wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".opblock")) > 20 and
                          browser.find_elements(By.CSS_SELECTOR, ".opblock"), what="Swagger's operations")
    assert any("/flows/search" in op.text for op in operations)
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat([location.href]);")
    assert all(url.startswith(ui_base) for url in loaded), [u for u in loaded if not u.startswith(ui_base)]
    assert any(url.endswith("swagger-ui-bundle.js") for url in loaded)
    assert not browser_errors(browser)


def test_deploy_edit_and_diff_a_flow_in_the_editor(ui_base: str, browser: Any) -> None:
    namespace, flow_id = unique("ui.edit"), unique("typed")
    open_page(browser, f"{ui_base}/ui/#/flows/new", "yaml-editor")
    editor = by_testid(browser, "yaml-editor")
    replace_text(browser, editor, f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n"
                                  "  - id: hello\n    type: io.kestra.plugin.core.log.Log\n"
                                  "    message: first\n")
    wait_for(lambda: by_testid(browser, "validation-status").text == "Valid", what="a valid flow")
    screenshot(browser, "flow-editor")
    by_testid(browser, "save-flow").click()
    wait_for(lambda: f"#/flows/{namespace}/{flow_id}" in browser.current_url, what="the saved flow's page")
    wait_for(lambda: by_testid(browser, "flow-revision").text == "revision 1", what="revision 1")

    open_page(browser, f"{ui_base}/ui/#/flows?q={flow_id}", "flows-table")
    row = wait_for(lambda: all_by_testid(browser, "flow-row"), what="the flow in the list")
    assert len(row) == 1 and row[0].get_attribute("data-flow") == f"{namespace}.{flow_id}"
    assert by_testid(row[0], "flow-revision").text == "1"
    by_testid(row[0], "flow-link").click()

    editor = wait_for(lambda: by_testid(browser, "yaml-editor"), what="the editor")
    wait_for(lambda: "message: first" in editor.get_attribute("value"), what="the flow's source")
    browser.execute_script("arguments[0].setSelectionRange(arguments[0].value.length, "
                           "arguments[0].value.length)", editor)
    editor.send_keys("  - id: again\n    type: io.kestra.plugin.core.log.Log\n    message: second\n")
    by_testid(browser, "save-flow").click()
    wait_for(lambda: by_testid(browser, "flow-revision").text == "revision 2", what="revision 2")
    assert "revision 2" in by_testid(browser, "save-status").text

    by_testid(browser, "tab-link-revisions").click()
    added = wait_for(lambda: all_by_testid(browser, "diff-add"), what="the diff of revisions 1 and 2")
    assert [row.text.split(" ", 2)[-1] for row in added][-1].strip() == "message: second"
    assert len(added) == 3 and not all_by_testid(browser, "diff-del")
    assert not browser_errors(browser)


def test_a_validation_error_shows_with_its_line_while_typing(ui_base: str, browser: Any) -> None:
    open_page(browser, f"{ui_base}/ui/#/flows/new", "yaml-editor")
    editor = by_testid(browser, "yaml-editor")
    replace_text(browser, editor, "id: broken\nnamespace: ui.broken\ntasks:\n  - id: first\n"
                                  "    type: io.kestra.plugin.core.log.Log\n    message: ok\n"
                                  "  - id: second\n    type: io.kestra.plugin.core.log.Nope\n")
    error = wait_for(lambda: all_by_testid(browser, "validation-error"), what="a validation error")[0]
    assert error.get_attribute("data-line") == "8", error.text
    assert "line 8" in error.text and "tasks[1].type" in error.text and "unknown task type" in error.text
    assert "error" in by_testid(browser, "gutter-error-8").get_attribute("class")
    # fixing it clears the error ("Nope" and the final newline replaced)
    editor.send_keys(Keys.BACKSPACE * 5, "Log\n    message: fixed\n")
    wait_for(lambda: by_testid(browser, "validation-status").text == "Valid", what="the fixed flow")
    assert not all_by_testid(browser, "validation-error")


RUN_FLOW = """id: {id}
namespace: {namespace}
inputs:
  - id: count
    type: INT
  - id: greeting
    type: STRING
    defaults: hello
  - id: colour
    type: SELECT
    values: [red, green]
    defaults: green
  - id: upload
    type: FILE
    required: false
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ inputs.greeting }}}} {{{{ inputs.count }}}}"
"""


def test_the_run_form_shows_422_by_the_field_and_opens_the_execution(
        ui_base: str, browser: Any, tmp_path: Path) -> None:
    namespace, flow_id = unique("ui.run"), unique("form")
    deploy(ui_base, RUN_FLOW.format(id=flow_id, namespace=namespace))
    open_page(browser, f"{ui_base}/ui/#/flows/{namespace}/{flow_id}/run", "inputs-form")
    assert all_by_testid(browser, "required-count") and not all_by_testid(browser, "required-greeting")
    assert by_testid(browser, "field-greeting").get_attribute("value") == "hello"
    assert by_testid(browser, "field-colour").get_attribute("value") == "green"
    by_testid(browser, "field-count").send_keys("many")
    by_testid(browser, "add-label").click()
    by_testid(browser, "label-key").send_keys("team")
    by_testid(browser, "label-value").send_keys("ui")
    screenshot(browser, "run-form")
    by_testid(browser, "submit-inputs").click()
    error = wait_for(lambda: by_testid(browser, "input-error-count").is_displayed()
                     and by_testid(browser, "input-error-count"), what="the 422 next to `count`")
    assert "`count`" in error.text and "many" in error.text
    assert not by_testid(browser, "input-error-greeting").is_displayed()

    upload = tmp_path / "data.txt"
    upload.write_text("uploaded from the browser\n")
    count = by_testid(browser, "field-count")
    count.clear()
    count.send_keys("7")
    by_testid(browser, "field-upload").send_keys(str(upload))
    by_testid(browser, "submit-inputs").click()
    wait_for(lambda: "#/executions/" in browser.current_url, what="the execution's page")
    execution_id = browser.current_url.rsplit("/", 1)[-1]
    execution = httpx.get(f"{ui_base}/api/v1/main/executions/{execution_id}", timeout=30).json()
    assert execution["inputs"]["count"] == 7 and execution["inputs"]["greeting"] == "hello"
    assert execution["inputs"]["upload"].startswith("kestra://") and execution["inputs"]["upload"].endswith("data.txt")
    assert {"key": "team", "value": "ui"} in execution["labels"] or execution["labels"].get("team") == "ui"
    assert all("422" in error for error in browser_errors(browser)), "only the refused run logged an error"
    # the flow page's Executions tab lists it (the executions page, filtered on the flow)
    open_page(browser, f"{ui_base}/ui/#/flows/{namespace}/{flow_id}?tab=executions", "executions-total")
    wait_for(lambda: by_testid(browser, "executions-total").get_attribute("data-total") == "1",
             what="the flow's one execution in its Executions tab")


TOPOLOGY_FLOW = """id: {id}
namespace: {namespace}
tasks:
  - id: fan
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: left
        type: io.kestra.plugin.core.log.Log
        message: l
      - id: right
        type: io.kestra.plugin.core.log.Log
        message: r
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{{{ true }}}}"
    then:
      - id: agree
        type: io.kestra.plugin.core.log.Log
        message: y
    else:
      - id: refuse
        type: io.kestra.plugin.core.log.Log
        message: n
  - id: steps
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: first
          type: io.kestra.plugin.core.log.Log
          message: a
      - task:
          id: second
          type: io.kestra.plugin.core.log.Log
          message: b
        dependsOn: [first]
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: failed
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 3 * * *"
"""


def test_topology_and_triggers_of_a_flow(ui_base: str, browser: Any) -> None:
    namespace, flow_id = unique("ui.topo"), unique("graph")
    deploy(ui_base, TOPOLOGY_FLOW.format(id=flow_id, namespace=namespace))
    open_page(browser, f"{ui_base}/ui/#/flows/{namespace}/{flow_id}?tab=topology", "topology")
    nodes = {n.get_attribute("data-task-id") for n in all_by_testid(browser, "topology-node")}
    assert nodes == {"fan", "left", "right", "check", "agree", "refuse", "steps", "first", "second",
                     "alert", "nightly"}
    assert all_by_testid(browser, "topology-lane-errors"), "the errors branch has its lane"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".topo-edge")) >= 3
    screenshot(browser, "flow-topology")

    by_testid(browser, "tab-link-triggers").click()
    row = wait_for(lambda: all_by_testid(browser, "trigger-row"), what="the trigger")[0]
    assert "0 3 * * *" in row.text
    listed = httpx.get(f"{ui_base}/api/v1/main/flows/{namespace}/{flow_id}/triggers").json()
    next_date = datetime.fromisoformat(listed[0]["nextDate"].replace("Z", "+00:00"))
    assert next_date > datetime.now(timezone.utc) and (next_date.hour, next_date.minute) == (3, 0)
    # shown in the browser's zone, which is this process's
    assert by_testid(row, "trigger-next").text == next_date.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    set_local = "arguments[0].value = arguments[1]"
    browser.execute_script(set_local, by_testid(browser, "backfill-start"), "2024-01-01T00:00:00")
    browser.execute_script(set_local, by_testid(browser, "backfill-end"), "2024-01-03T23:00:00")
    screenshot(browser, "triggers")
    by_testid(browser, "backfill-submit").click()
    result = wait_for(lambda: by_testid(browser, "backfill-result").text, what="the backfill's answer")
    assert result.startswith("3 executions requested"), result
    assert not browser_errors(browser)


def test_flows_list_filters_by_namespace_and_label(ui_base: str, browser: Any) -> None:
    namespace = unique("ui.list")
    for flow_id, team in (("alpha", "red"), ("beta", "blue")):
        deploy(ui_base, f"id: {flow_id}\nnamespace: {namespace}\nlabels:\n  team: {team}\n"
                        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")
    open_page(browser, f"{ui_base}/ui/#/flows?namespace={namespace}", "flows-table")
    def two_rows() -> list[Any] | None:
        rows = all_by_testid(browser, "flow-row")
        return rows if len(rows) == 2 else None

    rows = wait_for(two_rows, what="the namespace's two flows")
    assert [r.get_attribute("data-flow") for r in rows] == [f"{namespace}.alpha", f"{namespace}.beta"]
    screenshot(browser, "flows")
    by_testid(browser, "label-filter").send_keys("team:blue")
    wait_for(lambda: [r.get_attribute("data-flow") for r in all_by_testid(browser, "flow-row")]
             == [f"{namespace}.beta"], what="only the blue flow")
    assert "labels=team%3Ablue" in browser.current_url or "labels=team:blue" in browser.current_url


@pytest.fixture
def secured_api(stack: LocalStack) -> Iterator[str]:
    port = free_port()
    process = stack.spawn("api", instance=unique("ui-auth-"), extra=["--port", str(port)],
                          env={"OSTINATO_API_BASIC_AUTH": "ops:p4ss"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base)
        yield base
    finally:
        process.process.send_signal(signal.SIGTERM)
        process.process.wait(20)
        stack.processes.remove(process)


def test_the_ui_is_behind_basic_authentication(secured_api: str, browser: Any) -> None:
    for path in ("/ui/", "/ui/static/app.js", "/api/docs"):
        refused = httpx.get(f"{secured_api}{path}")
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic"), path
        assert httpx.get(f"{secured_api}{path}", auth=("ops", "p4ss")).status_code == 200, path
    # the browser answers the challenge once; the page's fetches then carry the credentials
    browser.get(secured_api.replace("http://", "http://ops:p4ss@") + "/ui/#/flows")
    wait_for(lambda: all_by_testid(browser, "flow-row") or all_by_testid(browser, "no-flows"),
             what="the flows list loaded through the API with the credentials")
