"""Debian's Chromium through Playwright, and the checks every page passes: axe-core, 360 px without sideways
scrolling, screenshots under tests/artifacts/, and the slow rural connection."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import ROOT, service_missing

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = ROOT / "tests" / "artifacts" / "web"
WIDTHS = (360, 1280)
# Chromium's network emulation, in bytes per second: 400 kbit/s down, 200 kbit/s up, 400 ms round trip.
SLOW = {"offline": False, "latency": 400, "downloadThroughput": 51200, "uploadThroughput": 25600}
PAGE_BUDGET_MS, PAGE_BUDGET_BYTES = 3000, 100 * 1024
SERIOUS = ("serious", "critical")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; a missing one fails under CI=true (make test installs it as root)."""
    if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
        service_missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of serious or critical impact on the page as it is now."""
    violations = Axe().run(page).response["violations"]
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in violations if v["impact"] in SERIOUS]


def check_page(page: Page, name: str) -> None:
    """axe-core finds nothing serious; at 360 px nothing scrolls sideways; screenshots at 360 and 1280 px."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("load")  # a page still arriving has no document to measure yet
    original = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        if width == 360:
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} scrolls sideways at 360 px by {overflow} px"
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    if original:
        page.set_viewport_size(original)
    violations = serious_violations(page)
    assert violations == [], (name, violations)


def is_image(url: str) -> bool:
    """A draft preview or a report chart: what the page budget leaves out."""
    return url.endswith("/konsep.png") or "/laporan/grafik/" in url


def slow_load(browser: Browser, url: str, storage_state: Any = None) -> tuple[float, int]:
    """(load time in ms, bytes transferred apart from images: draft previews and report charts) of url over the slow
    connection, cold."""
    context = browser.new_context(storage_state=storage_state)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", SLOW)
        sizes: dict[str, float] = {}
        urls: dict[str, str] = {}
        cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
        page.goto(url, wait_until="load")
        elapsed = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        page.wait_for_timeout(100)  # the last loadingFinished events arrive just after load
        counted = sum(size for request, size in sizes.items() if not is_image(urls.get(request, "")))
        return float(elapsed), int(counted)
    finally:
        context.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
