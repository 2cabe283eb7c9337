"""Uploaded images: validation messages instead of 500s, and responsive renditions."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from portal.images import validate_image


def image_bytes(size=(800, 600), fmt="PNG", color="#0017c1"):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


def upload(name, data):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def codes(exc):
    return [e.code for e in exc.value.error_list]


def test_a_real_image_passes():
    validate_image(upload("map.png", image_bytes()))
    validate_image(upload("photo.jpg", image_bytes(fmt="JPEG")))


def test_a_non_image_is_refused():
    with pytest.raises(ValidationError) as exc:
        validate_image(upload("report.png", b"%PDF-1.7 not an image"))
    assert codes(exc) == ["not_an_image"]


def test_a_decompression_bomb_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    with pytest.raises(ValidationError) as exc:
        validate_image(upload("bomb.png", image_bytes(size=(2000, 2000))))
    assert codes(exc) == ["image_bomb"]


def test_a_real_pillow_bomb_is_refused():
    # 20000 x 20000 pixels in a few KB: Pillow's own limit fires while opening.
    data = image_bytes(size=(20000, 20000), fmt="PNG", color="white")
    assert len(data) < 2_000_000
    with pytest.raises(ValidationError) as exc:
        validate_image(upload("bomb.png", data))
    assert codes(exc) == ["image_bomb"]


def test_extension_must_match_content():
    with pytest.raises(ValidationError) as exc:
        validate_image(upload("photo.png", image_bytes(fmt="JPEG")))
    assert codes(exc) == ["image_extension_mismatch"]


def test_svg_is_refused():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(ValidationError) as exc:
        validate_image(upload("logo.svg", svg))
    assert codes(exc) == ["not_an_image"]


def test_too_small_and_too_large_are_refused(settings):
    with pytest.raises(ValidationError) as exc:
        validate_image(upload("tiny.png", image_bytes(size=(100, 80))))
    assert codes(exc) == ["image_too_small"]
    settings.IMAGE_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as exc:
        validate_image(upload("big.png", image_bytes()))
    assert codes(exc) == ["image_too_large"]
