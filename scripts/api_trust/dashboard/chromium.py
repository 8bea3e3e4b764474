"""Headless Chromium over the DevTools protocol on a pipe: PNG export and the browser tests.

Debian's chromium is driven through `--remote-debugging-pipe` (two file
descriptors, NUL-separated JSON), so no websocket package and no second browser
download are needed. The PNG export opens the page itself and asks plotly for
each chart's image, so a PNG is the page's own chart, never a second drawing.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_HINT = "install Debian's chromium (`apt-get install chromium`, or `make setup` as root)"


def chromium_path() -> Path | None:
    """$API_TRUST_CHROMIUM, else chromium (or chromium-browser) on PATH; None when absent."""
    wanted = os.environ.get("API_TRUST_CHROMIUM")
    if wanted:
        return Path(wanted) if Path(wanted).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


class ChromiumMissing(RuntimeError):
    """No Chromium on this machine: the message says how to install it."""


class HeadlessChromium:
    """Chromium with the DevTools protocol on a pipe: fd 3 reads commands, fd 4 writes replies."""

    def __init__(self, width: int = 1366, height: int = 768) -> None:
        binary = chromium_path()
        if binary is None:
            raise ChromiumMissing(f"no Chromium found: {CHROMIUM_HINT}")
        self.profile = tempfile.mkdtemp(prefix="api-trust-chromium-")
        to_read, self._to_write = os.pipe()
        self._from_read, from_write = os.pipe()

        def wire_fds() -> None:  # in the child: put the pipe ends on 3 and 4 (inheritable)
            a = fcntl.fcntl(to_read, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_write, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run", f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
            "--remote-debugging-pipe", "about:blank",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            [str(binary), *flags], preexec_fn=wire_fds, close_fds=False, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_read)
        os.close(from_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session = ""
        self.width, self.height = width, height

    # -- protocol
    def _post(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_write, json.dumps(message).encode() + b"\0")
        return self._next_id

    def send(
        self, method: str, params: dict | None = None, *, page: bool = True, timeout: float = 30
    ) -> dict:
        wanted = self._post(method, params, self.session if page else None)
        deadline = time.monotonic() + timeout
        while True:
            for message in self._pump(deadline):
                if message.get("id") == wanted:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message.get("result", {})

    def _pump(self, deadline: float) -> list[dict]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_read], [], [], left)
            if ready:
                chunk = os.read(self._from_read, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        messages = []
        while b"\0" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\0", 1)
            message = json.loads(raw)
            if "method" in message:
                self.events.append(message)
                if message["method"] == "Page.javascriptDialogOpening":  # never block on alert()
                    self._post(
                        "Page.handleJavaScriptDialog", {"accept": True}, message.get("sessionId")
                    )
            messages.append(message)
        return messages

    # -- page helpers
    def open(
        self,
        url: str,
        ready: str = "window.__dashboard && window.__dashboard.ready",
        offline: bool = True,
        timeout: float = 60,
    ) -> None:
        """Attach to the first tab (once), then load `url` and wait until `ready` is true."""
        if not self.session:
            targets = self.send("Target.getTargets", page=False)["targetInfos"]
            target = next(t for t in targets if t["type"] == "page")
            self.session = self.send(
                "Target.attachToTarget",
                {"targetId": target["targetId"], "flatten": True},
                page=False,
            )["sessionId"]
            for domain in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
                self.send(domain)
            if offline:
                self.send("Network.emulateNetworkConditions",
                          {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip
            self.resize(self.width, self.height)
        self.send("Page.navigate", {"url": url})
        self.wait_for(ready, timeout=timeout)

    def resize(self, width: int, height: int, mobile: bool = False) -> None:
        """The viewport a page lays out in (mobile: a phone's, with its touch-size text)."""
        self.width, self.height = width, height
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})  # fmt: skip

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error in {expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(f"Boolean({expression})"):
                return
            thrown = self.exceptions()
            if thrown:  # a page whose script failed will never get there: say why now
                raise RuntimeError(f"the page threw before {expression!r}: {thrown[0]}")
            time.sleep(0.1)
        raise TimeoutError(f"page never satisfied {expression!r}")

    def exceptions(self) -> list[str]:
        """Uncaught errors of the page (a script that does not parse, a throw outside a handler)."""
        return [
            str(
                e["params"]
                .get("exceptionDetails", {})
                .get("exception", {})
                .get("description", e["params"])
            )
            for e in self.events
            if e["method"] == "Runtime.exceptionThrown"
        ]

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = self.send("Page.getLayoutMetrics")["cssContentSize"]["height"]
            params.update(
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1},
            )
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path

    # -- what happened
    def console_errors(self) -> list[str]:
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(
                    " ".join(
                        str(a.get("value", a.get("description", ""))) for a in p.get("args", [])
                    )
                )
            elif e["method"] == "Runtime.exceptionThrown":
                out.append(
                    str(p.get("exceptionDetails", {}).get("exception", {}).get("description", p))
                )
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", ""))
        return out

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent"
        ]

    def dialogs(self) -> list[str]:
        return [
            e["params"].get("message", "")
            for e in self.events
            if e["method"] == "Page.javascriptDialogOpening"
        ]

    def close(self) -> None:
        try:
            self._post("Browser.close")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        finally:
            os.close(self._to_write)
            os.close(self._from_read)
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
