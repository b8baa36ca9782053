"""The oxford102 source against a loopback HTTP server serving the real layout; safe extraction."""

from __future__ import annotations

import hashlib
import http.server
import io
import logging
import tarfile
import threading
from pathlib import Path

import pytest

from bloomtune.data.sources import oxford102 as dl
from bloomtune.data.synthetic import write_synthetic


class Server:
    """Serves named files with Range support; can cut the first response to a file halfway."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.requests, self.cut_once = files, [], set()
        self.trickle, self.fail_with = set(), {}  # names sent a byte at a time; name -> status
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.removeprefix("/flowers/")
                outer.requests.append((name, self.headers.get("Range")))
                if name not in outer.files:
                    self.send_error(404)
                    return
                if name in outer.fail_with:
                    self.send_error(outer.fail_with.pop(name))
                    return
                data, start = outer.files[name], 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if name in outer.cut_once:
                    outer.cut_once.discard(name)
                    body = body[: len(body) // 2]  # then the connection closes
                if name in outer.trickle:  # headers, then a byte every 0.2 s
                    for byte in body[:50]:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        threading.Event().wait(0.2)  # not time.sleep: the tests stub it
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/flowers/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def oxford_files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("layout")
    write_synthetic(folder, n_classes=3, images_per_class=8, image_size=40, seed=0)
    images = {f"jpg/{p.name}": p.read_bytes() for p in sorted((folder / "jpg").glob("*.jpg"))}
    return {
        "102flowers.tgz": _tgz(images),
        "imagelabels.mat": (folder / "imagelabels.mat").read_bytes(),
        "setid.mat": (folder / "setid.mat").read_bytes(),
    }


@pytest.fixture
def server(oxford_files):
    running = Server(dict(oxford_files))
    yield running
    running.close()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(dl._fetch.time, "sleep", lambda seconds: None)


def _settings(url: str, files: dict[str, bytes]) -> dict:
    return {"base_url": url, "md5": {k: hashlib.md5(v).hexdigest() for k, v in files.items()}}


def test_fresh_download_then_nothing_is_fetched_again(server, oxford_files, tmp_path):
    raw = tmp_path / "data" / "raw"
    dl.download_oxford(_settings(server.url, oxford_files), raw)
    assert len(list((raw / "jpg").glob("image_*.jpg"))) == 24
    assert (raw / "setid.mat").read_bytes() == oxford_files["setid.mat"]
    assert len(server.requests) == 3
    dl.download_oxford(_settings(server.url, oxford_files), raw)
    assert len(server.requests) == 3  # verified files are not fetched again


def test_an_interrupted_file_resumes_with_range(server, oxford_files, tmp_path):
    server.cut_once.add("102flowers.tgz")
    raw = tmp_path / "data" / "raw"
    dl.download_oxford(_settings(server.url, oxford_files), raw)
    archive_requests = [r for r in server.requests if r[0] == "102flowers.tgz"]
    assert len(archive_requests) == 2 and archive_requests[1][1].startswith("bytes=")
    assert int(archive_requests[1][1].split("=")[1].rstrip("-")) > 0
    downloaded = (tmp_path / "data" / "downloads" / "102flowers.tgz").read_bytes()
    assert downloaded == oxford_files["102flowers.tgz"]


def test_md5_mismatch_keeps_nothing(server, oxford_files, tmp_path):
    settings = _settings(server.url, oxford_files)
    settings["md5"]["102flowers.tgz"] = "0" * 32
    raw = tmp_path / "data" / "raw"
    with pytest.raises(dl.DownloadError, match="md5 .* does not match data.oxford102.md5"):
        dl.download_oxford(settings, raw)
    assert not raw.exists()
    assert not list((tmp_path / "data" / "downloads").glob("102flowers.tgz*"))


def test_missing_file_and_refused_connection_say_what_to_do(server, oxford_files, tmp_path):
    raw = tmp_path / "data" / "raw"
    with pytest.raises(dl.DownloadError) as missing:
        dl.download_oxford(_settings(server.url + "nowhere/", oxford_files), raw)
    message = str(missing.value)
    assert "nowhere/102flowers.tgz" in message and "HTTP 404" in message
    assert "config/demo.yaml" in message and "data.oxford102.base_url" in message
    server.close()
    with pytest.raises(dl.DownloadError, match="cannot download http://127.0.0.1"):
        dl.download_oxford(_settings(server.url, oxford_files), raw)
    assert not raw.exists()


@pytest.mark.parametrize(
    "member",
    ["../escape.txt", "/tmp/bloomtune-absolute.txt", "link"],
    ids=["dot-dot", "absolute", "symlink"],
)
def test_unsafe_archives_are_refused(tmp_path, member):
    archive = tmp_path / "bad.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        ok = tarfile.TarInfo("jpg/image_00001.jpg")
        ok.size = 3
        tar.addfile(ok, io.BytesIO(b"abc"))
        info = tarfile.TarInfo(member)
        if member == "link":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    dest = tmp_path / "out" / "extracted"
    with pytest.raises(dl.DownloadError, match="refusing"):
        dl.safe_extract(archive, dest)
    assert not dest.exists()
    assert not (tmp_path / "out" / "escape.txt").exists()
    assert not Path("/tmp/bloomtune-absolute.txt").exists()


def test_a_trickling_server_is_aborted_with_a_one_line_error(
    server, oxford_files, tmp_path, caplog
):
    server.trickle.add("setid.mat")
    url = server.url + "setid.mat"
    with pytest.raises(dl.DownloadError) as slow:
        dl.fetch(url, tmp_path / "setid.mat", None, retries=1, timeout=5, min_rate=100, window=1)
    message = str(slow.value)
    assert url in message and "too slow" in message and "\n" not in message
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retried) == 1 and "too slow" in retried[0], retried


def test_retry_warnings_say_what_happened(server, oxford_files, tmp_path, caplog):
    server.fail_with["setid.mat"] = 500
    server.cut_once.add("imagelabels.mat")
    dl.fetch(server.url + "setid.mat", tmp_path / "setid.mat", None)
    dl.fetch(server.url + "imagelabels.mat", tmp_path / "imagelabels.mat", None)
    server.close()
    with pytest.raises(dl.DownloadError, match="connection refused"):
        dl.fetch(server.url + "setid.mat", tmp_path / "other.mat", None, retries=1)
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert "HTTP 500, retrying" in retried[0]
    assert "cut short after" in retried[1]
    assert "connection refused, retrying" in retried[2]
    assert not any("interrupted" in m for m in retried)


def test_a_present_file_without_md5_is_warned_about_not_called_verified(tmp_path, caplog):
    dest = tmp_path / "setid.mat"
    dest.write_bytes(b"anything")
    caplog.set_level(logging.INFO, logger="bloomtune")
    dl.fetch("http://127.0.0.1:9/never", dest, None)  # present: nothing is fetched
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("WARNING", "setid.mat: no md5 in params (data.oxford102.md5), the file is not "
            "verified") in said  # fmt: skip
    assert ("INFO", "setid.mat: already present") in said
    assert not any("verified" in m for level, m in said if level == "INFO")
