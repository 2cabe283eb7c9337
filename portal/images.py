"""Uploaded images: validation on upload and responsive renditions made with Pillow.

Every image is checked for type, size and dimensions before it is stored: a decompression bomb, a
file that is not an image, or one whose content does not match its extension is refused with a
message the editor can act on, never a 500. Renditions are JPEG files at the widths in
``settings.IMAGE_RENDITION_WIDTHS`` (no wider than the original), written next to it.
"""

import io
import warnings
from pathlib import PurePosixPath

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": {".jpg", ".jpeg"}, "PNG": {".png"}, "WEBP": {".webp"}, "GIF": {".gif"}}


def validate_image(file) -> None:
    """Refuse anything but a real JPEG/PNG/WebP/GIF image of sane size and dimensions."""
    size = getattr(file, "size", None)
    if size is not None and size > settings.IMAGE_MAX_BYTES:
        raise ValidationError(
            _("画像のファイルサイズが大きすぎます(%(size)s MB)。%(max)s MB 以下にしてください。"),
            code="image_too_large",
            params={"size": f"{size / 1024 / 1024:.1f}", "max": settings.IMAGE_MAX_BYTES // 1024 // 1024},
        )
    name = getattr(file, "name", "") or ""
    suffix = PurePosixPath(name).suffix.lower()
    try:
        file.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as img:
                fmt = img.format
                width, height = img.size
                if width * height > settings.IMAGE_MAX_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                img.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            _("画像の画素数が多すぎるため受け付けられません(上限 %(max)s 万画素)。"),
            code="image_bomb",
            params={"max": settings.IMAGE_MAX_PIXELS // 10_000, "max_mp": settings.IMAGE_MAX_PIXELS // 1_000_000},
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            _("画像として読み込めないファイルです。JPEG、PNG、WebP、GIF のいずれかを選んでください。"),
            code="not_an_image",
        ) from None
    finally:
        file.seek(0)
    if fmt not in ACCEPTED_FORMATS:
        raise ValidationError(
            _("この形式の画像は受け付けていません。JPEG、PNG、WebP、GIF のいずれかを選んでください。"),
            code="image_format",
        )
    if suffix and suffix not in ACCEPTED_FORMATS[fmt]:
        raise ValidationError(
            _("ファイルの拡張子(%(suffix)s)と中身の形式(%(format)s)が一致しません。"),
            code="image_extension_mismatch",
            params={"suffix": suffix, "format": fmt},
        )
    if width < settings.IMAGE_MIN_WIDTH:
        raise ValidationError(
            _("画像の幅が小さすぎます(%(width)s px)。幅 %(min)s px 以上の画像を選んでください。"),
            code="image_too_small",
            params={"width": width, "min": settings.IMAGE_MIN_WIDTH},
        )


def rendition_name(name: str, width: int) -> str:
    path = PurePosixPath(name)
    return str(path.parent / "renditions" / f"{path.stem}-{width}w.jpg")


def rendition_widths(original_width: int) -> list[int]:
    widths = [w for w in settings.IMAGE_RENDITION_WIDTHS if w < original_width]
    return widths


def make_renditions(fieldfile) -> list[str]:
    """Write the JPEG renditions of an uploaded image; returns their storage names."""
    if not fieldfile:
        return []
    storage = fieldfile.storage
    written = []
    with fieldfile.open("rb") as fh, Image.open(fh) as img:
        img.load()
        base = img.convert("RGBA") if img.mode in ("P", "LA", "RGBA") else img.convert("RGB")
        if base.mode == "RGBA":
            flat = Image.new("RGB", base.size, "white")
            flat.paste(base, mask=base.split()[3])
            base = flat
        for width in rendition_widths(base.width):
            height = round(base.height * width / base.width)
            out = io.BytesIO()
            base.resize((width, height), Image.Resampling.LANCZOS).save(out, "JPEG", quality=82, optimize=True)
            name = rendition_name(fieldfile.name, width)
            if storage.exists(name):
                storage.delete(name)
            written.append(storage.save(name, ContentFile(out.getvalue())))
    return written


class SafeImageFormField(forms.ImageField):
    """An image form field that runs ``validate_image`` before Django's own checks, so that a
    decompression bomb is named as such instead of as a broken file."""

    def to_python(self, data):
        if data is not None and hasattr(data, "read"):
            validate_image(data)
        return super().to_python(data)


class SafeImageField(models.ImageField):
    """An ImageField validated by ``validate_image`` in forms and in model validation."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [validate_image])
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SafeImageFormField, **kwargs})
