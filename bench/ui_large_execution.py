"""The web UI on a large execution: a ForEach over N values (2,000 by default), each child
logging a line, opened in a headless Chromium (Debian's chromium and chromium-driver).

Prints:
- open while running: from the hash change to the Gantt chart showing the execution's runs,
  the page being opened `--after` seconds after the execution was created;
- lag at the end: from the execution's endDate (the executor's clock, same machine) to the
  page's state badge saying SUCCESS (what the stack's view adds is included: compare with
  `view lag`, when the API's own GET first said SUCCESS);
- open when finished: from the hash change to the Gantt chart showing all N+1 runs, and
  the log list all N lines (median of `--repeat`).

Starts a stack of its own (as the tests do), or uses `--server http://host:port`.

    .venv/bin/python bench/ui_large_execution.py [--values 2000] [--after 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack

SERVICES = ("executor", "worker", "scheduler", "api")
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-dev-shm-usage",
                  "--window-size=1400,900")
FLOW = """id: many
namespace: {namespace}
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ range(1, {values}) }}}}"
    concurrencyLimit: 0
    tasks:
      - id: item
        type: io.kestra.plugin.core.log.Log
        message: "item {{{{ taskrun.value }}}}"
"""


def browser(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def page_value(driver: Any, testid: str, attribute: str) -> str:
    return str(driver.execute_script(
        f"const e = document.querySelector('[data-testid={testid}]');"
        f"return e ? e.dataset.{attribute} : ''"))


def until(condition: Any, timeout: float = 300.0) -> float:
    """Polls `condition` every 5 ms; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.005)
    raise TimeoutError("the page did not get there")


def wait_until_serving(base: str, timeout: float = 90.0) -> None:
    """Until /health says every service is up and the API's view has caught up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{base}/health", timeout=2)
            if answer.status_code == 200 and answer.json().get("viewReady"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the stack at {base} was not up within {timeout} s")


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def watch_view(api: str, execution_id: str, seen: list[float]) -> None:
    """When the API's own view first says the execution ended (light: the search summary)."""
    while True:
        found = httpx.get(f"{api}/executions/search", params={"q": execution_id, "size": 1,
                                                              "state": "SUCCESS"}, timeout=60).json()
        if found["total"]:
            seen.append(time.time())
            return
        time.sleep(0.05)


def first_event(api: str, execution_id: str, seen: list[float]) -> None:
    """When the UI's follow route sends its first event (what the API alone takes)."""
    with httpx.stream("GET", f"{api}/ui/executions/{execution_id}/follow", timeout=120) as answer:
        for line in answer.iter_lines():
            if line.startswith("data:"):
                seen.append(time.monotonic())
                return


def run(base: str, values: int, after: float, repeat: int) -> None:
    api = f"{base}/api/v1/main"
    namespace = f"bench.ui{uuid.uuid4().hex[:6]}"
    answer = httpx.post(f"{api}/flows", content=FLOW.format(namespace=namespace, values=values),
                        headers={"Content-Type": "application/x-yaml"}, timeout=30)
    answer.raise_for_status()
    with tempfile.TemporaryDirectory() as profile:
        driver = browser(profile)
        try:
            driver.get(f"{base}/ui/#/executions")
            until(lambda: page_value(driver, "executions-total", "total") != "")
            execution_id = httpx.post(f"{api}/executions/{namespace}/many", timeout=30).json()["id"]
            time.sleep(after)
            view_end: list[float] = []
            threading.Thread(target=watch_view, args=(api, execution_id, view_end), daemon=True).start()
            api_first: list[float] = []
            started = time.monotonic()
            threading.Thread(target=first_event, args=(api, execution_id, api_first), daemon=True).start()
            driver.execute_script(f"location.hash = '#/executions/{execution_id}?tab=logs'")
            shown = until(lambda: page_value(driver, "gantt-count", "count") not in ("", "0"))
            until(lambda: bool(api_first), timeout=60)
            print(f"open while running:  {shown - started:.2f} s "
                  f"({page_value(driver, 'gantt-count', 'count')} runs shown; the API's first "
                  f"event alone: {api_first[0] - started:.2f} s)")
            until(lambda: page_value(driver, "execution-state", "state") == "SUCCESS")
            badge_at = time.time()
            ended = httpx.get(f"{api}/executions/{execution_id}", timeout=60).json()["state"]
            until(lambda: bool(view_end), timeout=60)
            print(f"lag at the end:      {badge_at - epoch(ended['endDate']):.2f} s after endDate "
                  f"(view lag {view_end[0] - epoch(ended['endDate']):.2f} s; the run took "
                  f"{epoch(ended['endDate']) - epoch(ended['startDate']):.1f} s)")
            opens = []
            for _ in range(repeat):
                driver.execute_script("location.hash = '#/executions'")
                until(lambda: page_value(driver, "executions-total", "total") != "")
                started = time.monotonic()
                driver.execute_script(f"location.hash = '#/executions/{execution_id}?tab=logs'")
                done = until(lambda: page_value(driver, "gantt-count", "count") == str(values + 1)
                             and page_value(driver, "log-count", "count") == str(values))
                opens.append(done - started)
            print(f"open when finished:  {statistics.median(opens):.2f} s median of "
                  f"{', '.join(f'{o:.2f}' for o in opens)} ({values + 1} runs, {values} log lines)")
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=2000)
    parser.add_argument("--after", type=float, default=1.0,
                        help="seconds between creating the execution and opening its page")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--server", help="an API already running (default: a stack of its own)")
    args = parser.parse_args()
    with ExitStack() as stack:
        base = args.server
        if base is None:
            port = free_port()
            data_dir = stack.enter_context(tempfile.TemporaryDirectory())
            stack.enter_context(LocalStack(data_dir=Path(data_dir), services=SERVICES, api_port=port))
            wait_until_serving(f"http://127.0.0.1:{port}")
            base = f"http://127.0.0.1:{port}"
        run(base.rstrip("/"), args.values, args.after, args.repeat)


if __name__ == "__main__":
    main()
