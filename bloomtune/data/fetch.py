"""Verified, resuming, atomic downloads: what every fetched file (the Oxford archive, pretrained
weights) goes through."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from bloomtune.errors import DownloadError

log = logging.getLogger(__name__)
CHUNK = 1 << 20


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class SlowTransfer(OSError):
    """The server sent less than the minimum rate over a whole window (curl's --speed-limit)."""


def describe(exc: BaseException) -> str:
    """What went wrong with a transfer, in a few words, for retry warnings and errors."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    reason = getattr(exc, "reason", exc) if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, SlowTransfer):
        return str(exc)
    if isinstance(reason, http.client.IncompleteRead | ConnectionResetError):
        return f"cut short ({reason.__class__.__name__})"
    return str(reason)


def fetch(
    url: str,
    dest: Path,
    md5: str | None,
    *,
    retries: int = 4,
    timeout: float = 30,
    min_rate: float = 1024,
    window: float = 60,
    md5_key: str = "the expected md5",
    hint=lambda url: f"cannot download {url}",
) -> None:
    """Download url to dest, resuming a partial dest.part with HTTP Range, retrying with backoff,
    and renaming into place only once the md5 matches. A verified dest is not fetched again.

    A transfer that receives less than `min_rate` bytes per second over a whole `window` of
    seconds is aborted (and retried), so a server that trickles bytes cannot hang the stage.
    `md5_key` names where the md5 comes from, `hint(url)` what to do when the url is out of
    reach."""
    if md5 is None:
        log.warning("%s: no md5 in params (%s), the file is not verified", dest.name, md5_key)
    if dest.exists() and (md5 is None or md5sum(dest) == md5):
        log.info("%s: already present%s", dest.name, "" if md5 is None else " and verified")
        return
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, timeout, min_rate, window)
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # the part is already complete
                break
            if exc.code < 500 or attempt == retries:
                part.unlink(missing_ok=True)
                raise DownloadError(f"{hint(url)} (HTTP {exc.code})") from None
            what = describe(exc)
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
            what = describe(exc)
            if attempt == retries:
                raise DownloadError(f"{hint(url)} ({what})") from None
        wait = min(2**attempt, 30) * 0.5
        log.warning("%s: %s, retrying in %.1f s (%d/%d)", url, what, wait, attempt + 1, retries)
        time.sleep(wait)
    if md5 is not None:
        actual = md5sum(part)
        if actual != md5:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{url}: md5 {actual} does not match {md5_key} {md5}; nothing was kept"
            )
    os.replace(part, dest)


def _fetch_once(url: str, part: Path, timeout: float, min_rate: float, window: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = response.status == 206
        total = response.headers.get("Content-Length")
        total = int(total) + (have if resumed else 0) if total else None
        mode = "ab" if resumed else "wb"
        done = have if resumed else 0
        last = window_start = time.monotonic()
        window_bytes = 0
        with open(part, mode) as fh:
            # read1: what has arrived (up to CHUNK), so a slow server is measured as it sends
            for block in iter(lambda: response.read1(CHUNK), b""):
                fh.write(block)
                done += len(block)
                window_bytes += len(block)
                now = time.monotonic()
                if now - window_start >= window:
                    if window_bytes < min_rate * window:
                        raise SlowTransfer(
                            f"too slow: {window_bytes} bytes in {now - window_start:.0f} s, "
                            f"under {min_rate:.0f} bytes/s"
                        )
                    window_start, window_bytes = now, 0
                if now - last > 2:
                    last = now
                    log.info("%s: %s", part.name[:-5], _progress(done, total))
        if total is not None and done < total:
            raise OSError(f"cut short after {done} of {total} bytes")
    log.info("%s: %s", part.name[:-5], _progress(done, total))


def _progress(done: int, total: int | None) -> str:
    if not total:
        return f"{done / 1e6:.1f} MB"
    width = 30
    filled = int(width * done / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done / 1e6:.1f}/{total / 1e6:.1f} MB"
