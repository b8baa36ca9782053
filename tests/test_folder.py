"""The folder source: class subfolders, every image mode to RGB, unreadable images handled."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bloomtune.data.sources.folder import DownloadError, download_folder
from bloomtune.data.standardise import BadImageError, standardise
from bloomtune.errors import DataError
from bloomtune.settings import StandardiseSettings

SETTINGS = StandardiseSettings(image_size=12, split="blog", interpolation="area")


def _image(path, mode: str, colour) -> None:
    Image.new(mode, (30, 20), colour).save(path)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "mine"
    for name, colour in (("daisy", (250, 250, 250)), ("rose", (200, 10, 10))):
        (root / name).mkdir(parents=True)
        for i in range(4):
            _image(root / name / f"{i}.jpg", "RGB", colour)
    _image(root / "daisy" / "grey.png", "L", 200)
    _image(root / "rose" / "alpha.png", "RGBA", (200, 10, 10, 128))
    Image.new("RGB", (30, 20), (200, 10, 10)).convert("CMYK").save(root / "rose" / "cmyk.jpg")
    Image.new("RGB", (30, 20), (200, 10, 10)).convert("P").save(root / "rose" / "palette.png")
    (root / "rose" / "corrupt.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    (root / "rose" / "notes.txt").write_text("not an image, not listed")
    return root


def _download(folder, tmp_path, fraction=0.25):
    raw = tmp_path / "data" / "raw"
    download_folder({"path": str(folder), "test_fraction": fraction}, seed=3, raw=raw)
    return raw


def test_skip_names_the_corrupt_image_and_keeps_the_rest(folder, tmp_path):
    raw = _download(folder, tmp_path)
    manifest = standardise(
        replace(SETTINGS, on_bad_image="skip"), raw, tmp_path / "std", threads=2
    )
    assert manifest["class_names"] == ["daisy", "rose"]
    assert manifest["skipped"] == ["rose/corrupt.jpg"]
    total = sum(s["count"] for s in manifest["splits"].values())
    assert total == 12  # 5 daisy + 7 readable rose images
    for split in manifest["splits"].values():
        images = np.load(tmp_path / "std" / split["images"])
        labels = np.load(tmp_path / "std" / split["labels"])
        assert images.shape == (split["count"], 12, 12, 3) and len(labels) == split["count"]
    on_disk = json.loads((tmp_path / "std" / "manifest.json").read_text())
    assert on_disk["skipped"] == manifest["skipped"]


def test_every_mode_becomes_rgb(folder, tmp_path):
    raw = _download(folder, tmp_path, fraction=0.5)
    standardise(replace(SETTINGS, on_bad_image="skip"), raw, tmp_path / "std", threads=1)
    images = np.concatenate([np.load(p) for p in sorted((tmp_path / "std").glob("*_images.npy"))])
    labels = np.concatenate([np.load(p) for p in sorted((tmp_path / "std").glob("*_labels.npy"))])
    roses = images[labels == 1].reshape(-1, 3).mean(0)
    assert roses[0] > 150 and roses[1] < 60  # red stays red through CMYK, palette and alpha
    assert np.all(images[labels == 0] > 150)  # white and grey daisies


def test_fail_checks_every_split_and_names_every_bad_image_leaving_nothing(folder, tmp_path):
    (folder / "daisy" / "broken.png").write_bytes(b"\x89PNG not really")
    raw = _download(folder, tmp_path, fraction=0.5)
    index = json.loads((raw / "index.json").read_text())
    where = {Path(p).name: split for split, items in index["splits"].items() for p, _ in items}
    assert where["corrupt.jpg"] != where["broken.png"]  # one in each split
    with pytest.raises(DataError) as caught:
        standardise(replace(SETTINGS, on_bad_image="fail"), raw, tmp_path / "std", threads=2)
    message = str(caught.value)
    assert message.startswith("2 unusable image(s): daisy/broken.png (cannot read image header")
    assert "rose/corrupt.jpg (cannot" in message and "\n" not in message
    assert not (tmp_path / "std").exists()


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(folder, tmp_path):
    Image.new("RGB", (60, 20), (200, 10, 10)).save(folder / "rose" / "wide.png")  # 1,200 px
    raw = _download(folder, tmp_path)
    settings = replace(SETTINGS, on_bad_image="skip", max_pixels=1000)
    manifest = standardise(settings, raw, tmp_path / "std", threads=2)
    assert sorted(manifest["skipped"]) == ["rose/corrupt.jpg", "rose/wide.png"]
    # The others are 30 x 20 = 600 pixels, under the limit: kept.
    assert sum(s["count"] for s in manifest["splits"].values()) == 12


def test_a_decompression_bomb_is_refused_before_decoding(folder, tmp_path):
    from bloomtune.data.standardise import check_pixels

    bomb = folder / "rose" / "bomb.png"
    bomb.write_bytes(png_bomb(12_000, 8_000))  # 96 M pixels in about 100 KB
    assert bomb.stat().st_size < 200_000
    with pytest.raises(BadImageError, match=r"12000x8000 = 96,000,000 pixels, over standardise"):
        check_pixels(bomb, 89_478_485)
    raw = _download(folder, tmp_path)
    manifest = standardise(replace(SETTINGS, on_bad_image="skip"), raw, tmp_path / "std", 2)
    assert "rose/bomb.png" in manifest["skipped"]


def png_bomb(width: int, height: int) -> bytes:
    """A valid grayscale PNG of zeros: tiny on disk, width x height bytes once decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    packer, row = zlib.compressobj(9), b"\x00" * (width + 1)  # filter byte + pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_split_is_stratified_and_seeded(folder, tmp_path):
    raw = _download(folder, tmp_path / "a")
    again = _download(folder, tmp_path / "b")
    index = json.loads((raw / "index.json").read_text())
    assert index == json.loads((again / "index.json").read_text())
    test_labels = [label for _, label in index["splits"]["test"]]
    assert sorted(set(test_labels)) == [0, 1]


def test_too_few_classes_or_an_empty_class_fail_clearly(tmp_path):
    root = tmp_path / "one"
    (root / "daisy").mkdir(parents=True)
    _image(root / "daisy" / "a.jpg", "RGB", (1, 2, 3))
    with pytest.raises(DownloadError, match="at least 2 class subfolders, found 1"):
        _download(root, tmp_path)
    (root / "empty").mkdir()
    with pytest.raises(DownloadError, match="'daisy' has 1 image"):
        _download(root, tmp_path)
    assert not (tmp_path / "data" / "raw").exists()


def test_a_class_left_without_an_image_to_train_or_test_on_is_refused(folder, tmp_path):
    # tulip: one good image and one empty file. Left out, the empty one leaves tulip one image,
    # which would train and leave no test image: refused, naming the class, nothing written.
    (folder / "tulip").mkdir()
    _image(folder / "tulip" / "good.jpg", "RGB", (200, 200, 10))
    (folder / "tulip" / "empty.jpg").write_bytes(b"")
    raw = _download(folder, tmp_path)
    with pytest.raises(DataError, match=r"without a usable image .*: tulip \(\d to train, \d to"):
        standardise(replace(SETTINGS, on_bad_image="skip"), raw, tmp_path / "std", threads=1)
    assert not (tmp_path / "std").exists()


def test_links_out_of_the_folder_are_skipped_and_named_and_nothing_outside_is_copied(
    folder, tmp_path, caplog
):
    outside = tmp_path / "elsewhere"
    (outside / "tulip").mkdir(parents=True)
    for i in range(3):
        _image(outside / "tulip" / f"{i}.jpg", "RGB", (10, 200, 10))
    secret = tmp_path / "secret.jpg"
    _image(secret, "RGB", (1, 2, 3))
    (folder / "tulip").symlink_to(outside / "tulip")  # a class folder elsewhere
    (folder / "rose" / "passwd.jpg").symlink_to(secret)  # a file elsewhere
    (folder / "rose" / "again.jpg").symlink_to(folder / "rose" / "0.jpg")  # inside: kept
    with caplog.at_level("WARNING", logger="bloomtune"):
        download_folder({"path": str(folder), "test_fraction": 0.25}, 1, tmp_path / "raw")
    index = json.loads((tmp_path / "raw" / "index.json").read_text())
    assert index["classes"] == ["daisy", "rose"]
    copied = {p.name for p in (tmp_path / "raw").rglob("*.jpg")}
    assert "passwd.jpg" not in copied and "again.jpg" in copied
    assert "2 link(s) out of" in caplog.text and "rose/passwd.jpg" in caplog.text
    assert "tulip" in caplog.text


def test_a_class_name_is_data_in_the_confusion_figure(tmp_path):
    from bloomtune.evaluation.confusion import confusion_matrix

    path = confusion_matrix(np.eye(2, dtype=int), ["tulip $\\oops$", "rose"], tmp_path / "c.png")
    assert path.stat().st_size > 0  # matplotlib's mathtext raised ValueError on "$\oops$"
