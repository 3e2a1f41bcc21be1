"""Headless Chromium (Debian's ``chromium`` package) for tests that look at pages as a person would.

    from tests.browser import screenshot, rendered_text

    png = screenshot("http://127.0.0.1:3000/asset-groups", tmp_path / "dagster.png")
    text = rendered_text("file:///.../validation_report.html")   # the DOM after scripts ran

The browser is installed by the test setup when it is missing (``apt-get install chromium``,
as root, the way CI runs); when it cannot be installed the test fails with the reason, it never
skips silently. Every start uses a fresh profile and the flags that keep Chromium off the
network (this machine has none but 127.0.0.1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed and could not be installed; the message says why."""


def chromium() -> str:
    """The path of Debian's Chromium, installing the package first if it is missing."""
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BrowserUnavailable("chromium is not installed and this user cannot apt-get install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = []
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        log.append(proc.stdout[-2000:] + proc.stderr[-2000:])
        if proc.returncode != 0:
            raise BrowserUnavailable(f"{' '.join(cmd)} failed:\n" + "\n".join(log))
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    raise BrowserUnavailable("apt-get installed chromium but no binary was found in " + ", ".join(CANDIDATES))


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def screenshot(url: str, path: Path, width: int = 1400, height: int = 1000, wait_ms: int = 5000,
               timeout: float = 120) -> Path:
    """A PNG of the page's first screen after ``wait_ms`` of virtual time (scripts, fetches) has passed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = _run([f"--window-size={width},{height}", f"--virtual-time-budget={wait_ms}",
                 f"--screenshot={path}", url], timeout)
    if not path.is_file() or path.stat().st_size == 0:
        raise AssertionError(f"chromium wrote no screenshot of {url}: {proc.stderr[-2000:]}")
    return path


def rendered_dom(url: str, wait_ms: int = 5000, timeout: float = 120) -> str:
    """The page's DOM as HTML after its scripts ran for ``wait_ms`` of virtual time."""
    proc = _run([f"--virtual-time-budget={wait_ms}", "--dump-dom", url], timeout)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError(f"chromium could not render {url}: {proc.stderr[-2000:]}")
    return proc.stdout


def rendered_text(url: str, wait_ms: int = 5000, timeout: float = 120) -> str:
    """The visible text of the rendered page (tags stripped, whitespace collapsed)."""
    import re
    from html import unescape

    dom = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", rendered_dom(url, wait_ms, timeout))
    return " ".join(unescape(re.sub(r"(?s)<[^>]+>", " ", dom)).split())
