"""Render a page in headless Chromium (Debian's chromium package) and read what it drew."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Flags for a closed network and root (the machine's notes): no sandbox, no background traffic.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: Run after the page loaded: how many images decoded, and the page's section ids.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const drawn = images.filter((i) => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
  document.body.dataset.images = drawn.length + "/" + images.length;
  document.body.dataset.sections = [...document.querySelectorAll("section[id]")]
    .map((s) => s.id).join(",");
});
</script>"""


@dataclass(frozen=True)
class RenderedPage:
    """What Chromium drew: images decoded of all images, section ids, the DOM and a picture."""

    images_drawn: int
    images: int
    sections: list[str]
    dom: str
    screenshot: Path


def chromium() -> str:
    """Chromium's path; skips the test without it (fails where CI requires it)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "headless Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("AHP_REQUIRE_CHROMIUM"):
            pytest.fail(reason + "; AHP_REQUIRE_CHROMIUM is set")
        pytest.skip(reason)
    return path


def render(page: Path, work: Path) -> RenderedPage:
    """Open a copy of ``page`` with the probe script in Chromium; dump its DOM, screenshot it."""
    browser = chromium()
    work.mkdir(parents=True, exist_ok=True)
    probed = work / "probed.html"
    probed.write_text(page.read_text("utf-8").replace("</body>", PROBE + "</body>"), "utf-8")
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'profile'}"]
    dom = subprocess.run(
        [*common, "--virtual-time-budget=20000", "--dump-dom", probed.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    screenshot = work / "page.png"
    subprocess.run(
        [*common, "--window-size=1200,2400", f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    images = re.search(r'data-images="(\d+)/(\d+)"', dom)
    sections = re.search(r'data-sections="([^"]*)"', dom)
    if images is None or sections is None:
        raise AssertionError(f"the probe did not run in Chromium; DOM starts {dom[:300]!r}")
    return RenderedPage(
        images_drawn=int(images.group(1)),
        images=int(images.group(2)),
        sections=sections.group(1).split(","),
        dom=dom,
        screenshot=screenshot,
    )
