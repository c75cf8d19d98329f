"""The web UI's executions pages in a real headless Chromium against the session stack: an
execution followed live to SUCCESS (log lines while it runs, one Gantt bar per task run,
topology states, outputs with a file preview, log filters), kill then replay, resume (with
an onResume input) then restart, all from the page, the list updating without a reload with
its filters and bulk kill, the UI's follow stream, and a ForEach over 2,000 values rendered
virtualised."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from ostinato.execution.states import StateType
from ostinato.services.api.kestra_json import LEVELS
from tests.ui.conftest import browser_errors, screenshot, wait_for

STATIC = Path(__file__).resolve().parents[2] / "services" / "api" / "ui" / "static"
YAML = {"Content-Type": "application/x-yaml"}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def deploy(base: str, source: str) -> None:
    answer = httpx.post(f"{base}/api/v1/main/flows", content=source, headers=YAML, timeout=30)
    assert answer.status_code == 200, answer.text


def start(base: str, namespace: str, flow_id: str) -> str:
    answer = httpx.post(f"{base}/api/v1/main/executions/{namespace}/{flow_id}", timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def execution(base: str, execution_id: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{base}/api/v1/main/executions/{execution_id}", timeout=30).json()
    return body


def by_testid(driver: Any, name: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]')


def data_of(driver: Any, name: str, attribute: str) -> str:
    """The `data-ATTRIBUTE` of the element with data-testid NAME."""
    return str(by_testid(driver, name).get_attribute(f"data-{attribute}"))


def count(driver: Any, selector: str) -> int:
    return int(driver.execute_script(f"return document.querySelectorAll('{selector}').length"))


def badge(driver: Any) -> str:
    return str(driver.execute_script(
        "const b = document.querySelector('[data-testid=execution-state]'); return b ? b.dataset.state : ''"))


def wait_badge(driver: Any, state: str, timeout: float = 30.0) -> None:
    try:
        wait_for(lambda: badge(driver) == state, timeout, what=f"the state badge to say {state}")
    except AssertionError as error:  # say what the API says too: the page or the stack?
        execution_id = driver.current_url.split("#/executions/")[-1].split("?")[0]
        answer = httpx.get(driver.current_url.split("/ui/")[0] + f"/api/v1/main/executions/{execution_id}")
        raise AssertionError(f"{error}; the badge says {badge(driver)}, the API "
                             f"{answer.json()['state'] if answer.status_code == 200 else answer.text}") from None


def test_the_ui_knows_every_state_and_log_level() -> None:
    """states.js and logs.js name exactly the server's states and levels."""
    states = (STATIC / "components" / "states.js").read_text()
    colours = states[states.index("STATE_COLOURS"):states.index("});")]
    assert re.findall(r"^\s+([A-Z]+):", colours, re.M) == [s.value for s in StateType]
    logs = (STATIC / "components" / "logs.js").read_text()
    levels = re.search(r"LEVELS = Object.freeze\(\[([^\]]*)\]", logs)
    assert levels is not None
    assert re.findall(r"'([A-Z]+)'", levels.group(1)) == list(LEVELS)


def test_an_execution_followed_live_to_success(ui_base: str, browser: Any) -> None:
    namespace = unique("ui.exec")
    deploy(ui_base, f"""id: steps
namespace: {namespace}
labels:
  team: ui
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: first line
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT3S
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: second line
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ taskrun.attemptsCount == 0 }}}}"
    retry:
      type: constant
      interval: PT0.2S
      maxAttempts: 2
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: '["a", "b", "c"]'
    tasks:
      - id: shout
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: hello from a file
    extension: .txt
""")
    browser.get(f"{ui_base}/ui/#/executions")  # loaded first: opening the execution is quick
    wait_for(lambda: by_testid(browser, "executions-total"), what="the list")
    execution_id = start(ui_base, namespace, "steps")
    browser.execute_script(f"location.hash = '#/executions/{execution_id}?tab=logs'")
    # the line and the badge read in one script: what the page showed at one moment
    seen = wait_for(lambda: browser.execute_script(
        "const line = document.querySelector('[data-testid=log-line]');"
        "const b = document.querySelector('[data-testid=execution-state]');"
        "return line && [line.textContent, b.dataset.state];"), what="the first log line")
    assert "first line" in seen[0] and seen[1] == "RUNNING", seen
    wait_badge(browser, "SUCCESS")
    wait_for(lambda: "second line" in by_testid(browser, "log-list").text, what="the second log line")
    screenshot(browser, "execution-logs")
    Select(by_testid(browser, "log-level")).select_by_value("ERROR")
    wait_for(lambda: data_of(browser, "log-count", "count") == "1", what="ERROR only")
    assert by_testid(browser, "log-line").get_attribute("data-task-id") == "flaky"
    assert "level=ERROR" in browser.current_url
    Select(by_testid(browser, "log-level")).select_by_value("TRACE")
    Select(by_testid(browser, "log-task")).select_by_value("first")
    wait_for(lambda: data_of(browser, "log-count", "count") == "1"
             and count(browser, "[data-testid=log-line]") == 1, what="the task filter")
    assert by_testid(browser, "log-line").get_attribute("data-task-id") == "first"

    runs = execution(ui_base, execution_id)["taskRunList"]
    by_task = {run["taskId"]: run for run in runs}
    by_testid(browser, "tab-gantt").click()
    assert wait_for(lambda: count(browser, "[data-testid=gantt-bar]") == len(runs) == 9, what="9 bars")
    assert data_of(browser, "gantt-count", "count") == "9"
    bars = browser.find_elements(By.CSS_SELECTOR, "[data-testid=gantt-bar]")
    assert {bar.get_attribute("data-state") for bar in bars} == {"SUCCESS"}
    flaky = f'[data-task-run-id="{by_task["flaky"]["id"]}"] [data-testid=gantt-attempt]'
    assert [a.get_attribute("data-state") for a in browser.find_elements(By.CSS_SELECTOR, flaky)] \
        == ["FAILED", "SUCCESS"], "each attempt is a segment of the bar"
    labels = browser.find_elements(By.CSS_SELECTOR, "[data-testid=gantt-row] .gantt-label")
    indents = {label.text: float(label.value_of_css_property("padding-left")[:-2]) for label in labels}
    assert indents["shout a"] > indents["each"], "the ForEach's children are nested under it"
    screenshot(browser, "execution-gantt")

    by_testid(browser, "tab-topology").click()
    nodes = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-testid=topology-node]"),
                     what="the topology")
    assert {node.get_attribute("data-state") for node in nodes} == {"SUCCESS"}
    assert "tab=topology" in browser.current_url
    screenshot(browser, "execution-topology")

    by_testid(browser, "tab-outputs").click()
    wait_for(lambda: by_testid(browser, "file-preview"), what="the written file").click()
    preview = wait_for(lambda: by_testid(browser, "file-preview-text"), what="the file's preview")
    assert preview.text == "hello from a file"
    link = by_testid(browser, "file-download").get_attribute("href")
    assert httpx.get(link, timeout=30).text == "hello from a file"
    assert not browser_errors(browser)


def test_kill_then_replay_a_running_execution_from_its_page(ui_base: str, browser: Any) -> None:
    namespace = unique("ui.kill")
    deploy(ui_base, f"""id: long
namespace: {namespace}
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
""")
    execution_id = start(ui_base, namespace, "long")
    browser.get(f"{ui_base}/ui/#/executions/{execution_id}")
    wait_badge(browser, "RUNNING")
    assert not by_testid(browser, "action-restart").is_displayed()
    assert not by_testid(browser, "action-replay").is_displayed()
    by_testid(browser, "action-kill").click()
    wait_badge(browser, "KILLED")
    assert execution(ui_base, execution_id)["state"]["current"] == "KILLED"
    assert not by_testid(browser, "action-kill").is_displayed()
    assert by_testid(browser, "action-restart").is_displayed()
    by_testid(browser, "action-replay").click()  # opens the new execution
    wait_for(lambda: execution_id not in browser.current_url and "#/executions/" in browser.current_url,
             what="the replay's page")
    replayed = browser.current_url.rsplit("/", 1)[1]
    wait_badge(browser, "RUNNING")
    assert execution(ui_base, replayed)["originalId"] == execution_id
    by_testid(browser, "action-kill").click()
    wait_badge(browser, "KILLED")
    assert not browser_errors(browser)


def test_resume_a_paused_execution_with_an_input_then_restart_it(ui_base: str, browser: Any) -> None:
    namespace = unique("ui.resume")
    deploy(ui_base, f"""id: approval
namespace: {namespace}
tasks:
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: reason
        type: STRING
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ taskrun.attemptsCount == 0 }}}}"
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "approved: {{{{ outputs.approve.onResume.reason }}}}"
""")
    execution_id = start(ui_base, namespace, "approval")
    browser.get(f"{ui_base}/ui/#/executions/{execution_id}?tab=outputs")
    wait_badge(browser, "PAUSED")
    by_testid(browser, "action-resume").click()
    wait_for(lambda: by_testid(browser, "field-reason"), what="the onResume input").send_keys("looks good")
    by_testid(browser, "submit-inputs").click()
    wait_badge(browser, "FAILED")  # flaky fails its first run
    by_testid(browser, "action-restart").click()  # the page follows the restarted execution
    wait_badge(browser, "SUCCESS")
    echo = wait_for(lambda: browser.find_element(
        By.CSS_SELECTOR, '[data-testid=task-outputs][data-task-id=echo] [data-testid=value]'),
        what="the echo task's output")
    assert echo.text == "approved: looks good"
    assert not browser_errors(browser)


def test_the_list_updates_live_filters_and_bulk_kills(ui_base: str, browser: Any) -> None:
    namespace = unique("ui.list")
    deploy(ui_base, f"""id: long
namespace: {namespace}
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
""")
    browser.get(f"{ui_base}/ui/#/executions?namespace={namespace}")
    wait_for(lambda: data_of(browser, "executions-total", "total") == "0", what="an empty list")
    browser.execute_script("window.notReloaded = true")
    execution_id = start(ui_base, namespace, "long")
    row = f'[data-testid=execution-row][data-id="{execution_id}"]'
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, row).get_attribute("data-state") == "RUNNING",
             what="the new execution in the list")
    assert browser.execute_script("return window.notReloaded") is True

    browser.find_element(By.CSS_SELECTOR, f"{row} [data-testid=select-row]").click()
    by_testid(browser, "bulk-kill").click()
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, row).get_attribute("data-state") == "KILLED",
             what="the bulk kill")
    assert "Kill requested: 1 execution" in by_testid(browser, "bulk-result").text

    Select(by_testid(browser, "filter-state")).select_by_value("SUCCESS")
    by_testid(browser, "filter-apply").click()
    wait_for(lambda: "state=SUCCESS" in browser.current_url
             and data_of(browser, "executions-total", "total") == "0",
             what="no SUCCESS execution in the namespace")
    browser.get(f"{ui_base}/ui/#/executions?namespace={namespace}&state=KILLED")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, row), what="the KILLED execution")
    browser.get(f"{ui_base}/ui/#/executions")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, row), what="every execution")
    screenshot(browser, "executions")
    browser.get(f"{ui_base}/ui/#/executions?state=NOPE&labels=nocolon")
    error = wait_for(lambda: by_testid(browser, "filter-error"), what="the filter errors").text
    assert "`NOPE` is not one of" in error and "`nocolon` is not key:value" in error


def test_a_foreach_over_2000_values_is_virtualised(ui_base: str, browser: Any) -> None:
    namespace = unique("ui.big")
    deploy(ui_base, f"""id: many
namespace: {namespace}
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ range(1, 2000) }}}}"
    concurrencyLimit: 0
    tasks:
      - id: item
        type: io.kestra.plugin.core.log.Log
        message: "item {{{{ taskrun.value }}}}"
""")
    browser.get(f"{ui_base}/ui/#/executions")
    execution_id = start(ui_base, namespace, "many")
    browser.execute_script(f"location.hash = '#/executions/{execution_id}?tab=logs'")
    wait_for(lambda: int(data_of(browser, "gantt-count", "count")) > 0, what="the Gantt")
    wait_badge(browser, "SUCCESS", timeout=120)
    wait_for(lambda: data_of(browser, "gantt-count", "count") == "2001", what="2,001 runs")
    wait_for(lambda: data_of(browser, "log-count", "count") == "2000", what="2,000 lines")
    # opened again once finished: the whole execution and its logs at once
    browser.execute_script("location.hash = '#/executions'")
    wait_for(lambda: by_testid(browser, "executions-total"), what="the list")
    opened = time.monotonic()
    browser.execute_script(f"location.hash = '#/executions/{execution_id}?tab=logs'")
    wait_for(lambda: data_of(browser, "gantt-count", "count") == "2001"
             and data_of(browser, "log-count", "count") == "2000",
             what="the finished execution's runs and lines")
    print(f"\nForEach over 2,000 values: opened with its runs and lines in "
          f"{time.monotonic() - opened:.2f} s")
    assert 0 < count(browser, "[data-testid=log-line]") < 100, "only the lines in view are in the DOM"
    by_testid(browser, "tab-gantt").click()
    assert 0 < count(browser, "[data-testid=gantt-row]") < 100, "only the rows in view are in the DOM"
    browser.execute_script("const s = document.querySelector('[data-testid=gantt-scroll]');"
                           "s.scrollTop = s.scrollHeight;")
    last = wait_for(lambda: [row.text for row in browser.find_elements(
        By.CSS_SELECTOR, "[data-testid=gantt-row]") if "item 2000" in row.text], what="the last row")
    assert last
    assert not browser_errors(browser)


def read_follow(base: str, execution_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every event of the UI's follow until the server ends it, as (id, data)."""
    events: list[tuple[str, dict[str, Any]]] = []
    event_id = ""
    url = f"{base}/api/v1/main/ui/executions/{execution_id}/follow"
    with httpx.stream("GET", url, timeout=60) as answer:
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                events.append((event_id, json.loads(line[6:])))
    return events


def test_the_ui_follow_sends_the_execution_then_only_what_changed(ui_base: str) -> None:
    namespace = unique("ui.follow")
    deploy(ui_base, f"""id: waits
namespace: {namespace}
tasks:
  - id: before
    type: io.kestra.plugin.core.debug.Return
    format: before
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: '["a", "b", "c", "d"]'
    tasks:
      - id: shout
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
""")
    execution_id = start(ui_base, namespace, "waits")
    wait_for(lambda: execution(ui_base, execution_id)["state"]["current"] == "PAUSED", what="the pause")
    resumed = threading.Timer(0.5, lambda: httpx.post(
        f"{ui_base}/api/v1/main/executions/{execution_id}/resume", timeout=30))
    resumed.start()
    events = read_follow(ui_base, execution_id)
    resumed.join()
    ids = [event_id for event_id, _ in events]
    assert ids[0] == "full" and ids[-1] == "end" and set(ids[1:-1]) <= {"changes"}, ids
    runs = events[0][1]["taskRunList"]
    assert [run["state"]["current"] for run in runs] == ["SUCCESS", "PAUSED"]
    for _, change in events[1:]:  # folding the changes in gives the execution
        for index, run in change["taskRuns"]:
            assert index <= len(runs), "new runs come in index order"
            if index < len(runs):
                runs[index] = run
            else:
                runs.append(run)
        assert len(runs) == change["taskRunCount"]
    final = execution(ui_base, execution_id)
    assert events[-1][1]["state"] == final["state"] and runs == final["taskRunList"]
    sent_again = {run["taskId"] for _, change in events[1:] for _, run in change["taskRuns"]}
    assert "before" not in sent_again and "wait" in sent_again, "only the runs that changed"
    missing = httpx.get(f"{ui_base}/api/v1/main/ui/executions/nobody/follow", timeout=30)
    assert missing.status_code == 404 and "nobody" in missing.json()["message"]
