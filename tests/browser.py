"""Headless Chromium (Debian's package) driven over the DevTools protocol on a pipe: open a
page as a person would at a given width and say what it loaded and how it lays out.

The protocol runs over file descriptors 3 (commands in) and 4 (answers and events out) with
`--remote-debugging-pipe`, one JSON message per NUL byte, so no WebSocket library is needed.
Every read has a deadline: a browser that stops answering fails the test, never hangs it."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")

# Run in the page once it has loaded: what a reader would see.
LAYOUT = """(() => {
  const lines = el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size;
  };
  const width = window.innerWidth;
  return {
    width,
    page_width: document.documentElement.scrollWidth,
    images: Array.from(document.images).map(i => ({
      src: i.getAttribute('src').slice(0, 40), complete: i.complete, width: i.naturalWidth})),
    wide: Array.from(document.querySelectorAll('table, pre, figure, img'))
      .filter(el => el.getBoundingClientRect().right > width + 1)
      .map(el => el.tagName + ' ' + (el.textContent || el.getAttribute('alt') || '').slice(0, 60)),
    scrolled: Array.from(document.querySelectorAll('*'))
      .filter(el => el.scrollWidth > el.clientWidth + 1 &&
              ['auto', 'scroll'].includes(getComputedStyle(el).overflowX))
      .map(el => el.tagName + ' ' + el.textContent.slice(0, 60)),
    // An estimate with its interval: the number on one line, the interval on the next.
    wrapped: Array.from(document.querySelectorAll('td'))
      .filter(td => /\\[[^\\]]+, [^\\]]+\\]/.test(td.textContent) && lines(td) > 2)
      .map(td => td.textContent),
  };
})()"""


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class Browser:
    """One headless Chromium with a page of its own; `open` loads a file and returns what
    `LAYOUT` found there, with every URL the page requested."""

    def __init__(self, executable: str, width: int = 1300, height: int = 900,
                 timeout: float = 60.0):  # fmt: skip
        self.width, self.height, self.timeout = width, height, timeout
        self.profile = tempfile.mkdtemp(prefix="bloomtune-chromium-")
        commands_r, self._commands = os.pipe()
        self._answers, answers_w = os.pipe()

        def child_fds():  # the protocol's fixed descriptors: 3 = commands, 4 = answers
            high_r, high_w = os.dup(commands_r), os.dup(answers_w)  # neither clobbers the other
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [
                executable,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                f"--window-size={width},{height}",
                "about:blank",
            ],  # fmt: skip
            close_fds=False,  # Python's own descriptors do not survive exec (PEP 446); 3 and 4 do
            preexec_fn=child_fds,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("CHROMIUM_LOG", os.devnull), "w"),
        )
        os.close(commands_r)
        os.close(answers_w)
        self._buffer, self._next_id, self.events = b"", 0, []
        self.session = None

    def _send(self, method: str, params: dict | None = None, session: str | None = None):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._answers], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer within {self.timeout:.0f} s")
            chunk = os.read(self._answers, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe (it crashed?)")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None):
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str) -> dict:
        deadline = time.monotonic() + self.timeout
        for i, message in enumerate(self.events):
            if message.get("method") == event:
                return self.events.pop(i)
        while True:
            message = self._read(deadline)
            if message.get("method") == event:
                return message
            self.events.append(message)

    def open(self, path: Path, screenshot: Path | None = None) -> dict:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        s = session["sessionId"]
        self.call("Page.enable", session=s)
        self.call("Network.enable", session=s)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False}, session=s)  # fmt: skip
        self.events.clear()
        self.call("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=s)
        self.wait_for("Page.loadEventFired")
        found = self.call(
            "Runtime.evaluate", {"expression": LAYOUT, "returnByValue": True}, session=s
        )["result"]["value"]
        found["requests"] = [  # an inlined figure's data: URL cut to its first 80 characters
            _short(e["params"]["request"]["url"])
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        if screenshot is not None:
            import base64

            shot = self.call("Page.captureScreenshot", {"captureBeyondViewport": True,
                             "format": "png"}, session=s)  # fmt: skip
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        return found

    def close(self) -> None:
        try:
            self._send("Browser.close")
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait(timeout=10)
        finally:
            for fd in (self._commands, self._answers):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _short(url: str) -> str:
    return url[:80] if url.startswith("data:") else url
