"""index.html in a real browser: headless Chromium renders it without errors, the key
sections are in the DOM, nothing hostile became markup, and a screenshot is taken.

Chromium is Debian's `chromium` package; the fixture installs it with apt-get when it
is missing and the tests run as root, and skips with the reason otherwise. Set
TFREPRO_SCREENSHOT_DIR to keep the screenshot (it is written to pytest's tmp_path
otherwise)."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
from lxml import html as lxml_html
from PIL import Image

from harness.report import write
from tests.test_report import HOSTILE_CASE, hostile_evaluation

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NAMES = ("chromium", "chromium-browser")


def _find() -> str | None:
    return next((path for path in map(shutil.which, NAMES) if path), None)


def _apt_install() -> str:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                    ["apt-get", "update"],
                    ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=900)
        if command[1] == "install" and done.returncode == 0:
            return ""
    return (done.stderr or done.stdout)[-300:]


@pytest.fixture(scope="session")
def chromium() -> str:
    found = _find()
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed and cannot be installed here (needs root and apt-get): "
                    "run `apt-get install -y chromium`")
    problem = _apt_install()
    found = _find()
    if not found:
        pytest.skip(f"`apt-get install -y chromium` did not give a chromium binary: {problem}")
    return found


def _run(chromium: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    if profile.exists():
        shutil.rmtree(profile)
    profile.mkdir()
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                           *args], check=False, capture_output=True, text=True, timeout=120)


def _page_errors(stderr: str) -> list[str]:
    """Console messages of the page. It has no script, so any message is a problem: a load
    the Content-Security-Policy blocked (a script, an image from the network), a failed
    request or a parse error."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture
def index(tmp_path) -> str:
    data = tmp_path / "data"
    data.mkdir()
    return write.write_report(hostile_evaluation(data), str(tmp_path / "report"))


def test_index_renders_with_its_sections_and_no_markup_from_strings(chromium, index, tmp_path):
    done = _run(chromium, tmp_path, "--dump-dom", f"file://{index}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _page_errors(done.stderr) == []
    dom = lxml_html.fromstring(done.stdout)
    assert [s.get("id") for s in dom.xpath("//section")] == ["causes", "grid", "flagged", "drift", "cases", "claims",
                                                             "environments"]
    assert dom.xpath("//script") == [] and dom.xpath("//b[not(parent::figcaption)]") == []
    assert dom.xpath("//i[not(@class)]") == []
    assert dom.xpath("//table[@class='grid']/thead//th")[1].text_content() == HOSTILE_CASE
    assert len(dom.xpath("//section[@id='cases']//img")) == 4
    assert dom.xpath("string(//title)").startswith("tfrepro report: FAIL: regression")


def test_screenshot_shows_the_page(chromium, index, tmp_path):
    keep = os.environ.get("TFREPRO_SCREENSHOT_DIR")
    shot = os.path.join(keep, "report-screenshot.png") if keep else str(tmp_path / "screenshot.png")
    done = _run(chromium, tmp_path, "--hide-scrollbars", "--window-size=1366,900", f"--screenshot={shot}",
                f"file://{index}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _page_errors(done.stderr) == []
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64)
    assert image.shape == (900, 1366, 3)
    # Not a blank page: the red verdict banner and dark text are there.
    assert image.std() > 20
    red = (image[..., 0] > 200) & (image[..., 1] < 230) & (image[..., 2] < 230)
    assert red.sum() > 1000, "the FAIL banner is visible at the top"
