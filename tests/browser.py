"""Headless Chromium for the tests: screenshots and layout measurements of published pages.

``chromium`` (Debian's package; ``.ci/run`` installs it) runs headless and is driven over the
DevTools protocol (``websockets``, pinned in requirements.lock): :class:`Browser` opens a
page via ``file://`` in a viewport of any width (a phone's 375 px included), measures its
layout with a script evaluated in the page (the published file is never changed) and takes
full-page screenshots.

Without chromium the tests skip, except in CI (``CI`` set) or with ``ROI_REQUIRE_BROWSER=1``,
where a missing browser is a failure: the check must not pass by not running.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

#: Phone and desktop widths of the screenshots (CSS px).
PHONE = 375
DESKTOP = 1280
#: Where the screenshots are written for a person to look at (CI keeps the folder).
ARTEFACTS = Path(os.environ.get("ROI_TEST_ARTEFACTS") or Path(__file__).resolve().parents[1] / "test-artefacts")

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]

#: What the layout checks need, evaluated in the open page.
MEASURE = """
(function () {
  var vw = document.documentElement.clientWidth;
  function box(el) { var r = el.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; }
  var tables = Array.prototype.map.call(document.querySelectorAll('table'), function (t) {
    var b = box(t), style = getComputedStyle(t);
    return {left: b.left, right: b.right, scrollWidth: t.scrollWidth, clientWidth: t.clientWidth,
            overflowX: style.overflowX, hidden: b.width === 0};
  });
  return {viewport: vw, scrollWidth: document.documentElement.scrollWidth,
          tiles: Array.prototype.map.call(document.querySelectorAll('.tile'), box),
          figures: Array.prototype.map.call(document.querySelectorAll('figure svg'), box),
          tables: tables};
})()
"""


def chromium() -> str:
    """The browser's path; skips the test when it is missing, unless a browser is required."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") or os.environ.get("ROI_REQUIRE_BROWSER"):
        pytest.fail("chromium is not installed: the browser checks are required here (CI / ROI_REQUIRE_BROWSER)")
    pytest.skip("chromium is not installed (apt-get install chromium); CI requires it")


class Browser:
    """One headless chromium, driven over the DevTools protocol (one page, one viewport at a time).

    The viewport is set with ``Emulation.setDeviceMetricsOverride`` (``mobile`` below 600 px,
    so the page's ``<meta name="viewport">`` applies as on a phone): a headless window cannot
    be narrower than 500 px, a phone is.
    """

    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="roi-chromium-")
        scratch = Path(self._profile.name) / "tmp"  # chromium's own temporary files go with the profile
        scratch.mkdir()
        self._proc = subprocess.Popen(
            [chromium(), *_FLAGS, f"--user-data-dir={self._profile.name}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TMPDIR": str(scratch)},
            start_new_session=True,  # its helper processes share the group: close() ends them all
        )
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.close()
                raise AssertionError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        from websockets.sync.client import connect

        self._stack = contextlib.ExitStack()
        self._ws = self._stack.enter_context(connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30))
        self._id = 0
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self._call("Page.enable", session=True)

    def _call(self, method: str, session: bool = False, timeout: float = 60, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def open(self, page: Path | str, *, width: int, height: int = 900, settle: float = 0.5) -> None:
        """Load ``page`` (a path: opened via file://) in a ``width`` x ``height`` viewport."""
        url = page if isinstance(page, str) else Path(page).resolve().as_uri()
        self._call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        self._call("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + 60
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not finish loading")
            time.sleep(0.1)
        time.sleep(settle)

    def evaluate(self, expression: str):
        result = self._call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, png: Path, *, full_page: bool = True) -> Path:
        """A PNG of what is open (the whole page's height when ``full_page``)."""
        import base64

        png.parent.mkdir(parents=True, exist_ok=True)
        data = self._call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=full_page)
        png.write_bytes(base64.b64decode(data["data"]))
        return png

    def measure(self) -> dict:
        """Layout figures of what is open (see :data:`MEASURE`)."""
        return self.evaluate(MEASURE)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)  # renderers still writing into the profile
        for attempt in range(50):  # a helper may still be flushing its last file as it exits
            try:
                self._profile.cleanup()
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def overflow_problems(m: dict) -> list[str]:
    """What sticks out of a ``width``-px screen in a :func:`measure` result (empty: none)."""
    vw, problems = m["viewport"], []
    if m["scrollWidth"] > vw:
        problems.append(f"the page is {m['scrollWidth']} px wide on a {vw} px screen (horizontal scrolling)")
    for i, tile in enumerate(m["tiles"]):
        if tile["left"] < 0 or tile["right"] > vw + 0.5:
            problems.append(f"KPI card {i} spans {tile['left']:.0f}-{tile['right']:.0f} px, outside 0-{vw}")
    for i, fig in enumerate(m["figures"]):
        if fig["right"] > vw + 0.5:
            problems.append(f"chart {i} ends at {fig['right']:.0f} px, beyond {vw}")
    for i, table in enumerate(m["tables"]):
        if table["hidden"]:
            continue  # inside a closed <details>
        if table["right"] > vw + 0.5:
            problems.append(f"table {i}'s box ends at {table['right']:.0f} px, beyond {vw}")
        if table["scrollWidth"] > table["clientWidth"] + 1 and table["overflowX"] not in ("auto", "scroll"):
            problems.append(f"table {i} is wider than its box and does not scroll inside it")
    return problems
