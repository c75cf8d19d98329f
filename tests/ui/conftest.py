"""The web UI driven in a real headless Chromium (Debian's chromium and chromium-driver,
through Selenium) against the session stack's API and services (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ostinato.cli.stack import LocalStack
from tests.api.conftest import wait_until_serving

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: flags for a closed network: no background connections, no sandbox (tests run as root)
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--window-size=1400,900")
#: where `screenshot()` saves pages when OSTINATO_UI_SCREENSHOTS=1 (the README shows them):
#: `OSTINATO_UI_SCREENSHOTS=1 ./dev test tests/ui` refreshes them
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

T = TypeVar("T")


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
    return None


@pytest.fixture(scope="session")
def ui_base(stack: LocalStack) -> str:
    """The API's base URL (`http://127.0.0.1:PORT`), once every service is up."""
    base = f"http://127.0.0.1:{stack.api_port}"
    wait_until_serving(base)
    return base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        pytest.fail(missing)  # a missing browser is a broken setup, not a skipped test
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ostinato-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(condition: Callable[[], T | None], timeout: float = 20.0,
             what: str = "the condition") -> T:
    """Polls `condition` until it returns something truthy, or fails naming `what`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - an element not there yet
            last_error = error
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                         + (f" (last error: {last_error!r})" if last_error else ""))


def browser_errors(driver: Any) -> list[str]:
    """The page's console errors (SEVERE) since the last call."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry.get("level") == "SEVERE"]


def screenshot(driver: Any, name: str) -> None:
    """Saves the page as docs/screenshots/NAME.png when OSTINATO_UI_SCREENSHOTS=1."""
    if os.environ.get("OSTINATO_UI_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
