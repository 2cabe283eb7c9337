"""Uploaded images: validation on upload, metadata removed, and responsive renditions made with Pillow.

Every image is checked before it is stored (docs/operations.md, "Uploaded files"), and one that
fails is refused with a message the editor can act on, never a 500:

- at most ``settings.IMAGE_MAX_BYTES`` on disk;
- JPEG, PNG, WebP or GIF only (Pillow opens nothing else here; SVG, which can carry script, is
  refused like any file that is not one of these, and named in the message);
- at most ``settings.IMAGE_MAX_PIXELS`` pixels, read from the header before anything is decoded:
  Pillow's own limit (``Image.MAX_IMAGE_PIXELS``, set from the same setting) turns a decompression
  bomb into DecompressionBombWarning (over the limit) or DecompressionBombError (over twice
  the limit), and both become the same message;
- the whole first frame decodes (a truncated or damaged file is refused now, not when the
  renditions are made after it was stored);
- the extension is the one of the format inside (a PNG named .jpg is refused, with both named);
- at least ``settings.IMAGE_MIN_WIDTH`` pixels wide.

The original is served as the widest source of the ``srcset``, so what it carries besides the
picture is removed before it is stored (``without_metadata``): EXIF (GPS position, camera, date),
XMP, IPTC, comments, text chunks, JFIF and EXIF thumbnails and whatever follows the image's end.
This is done on the file's own structure, so the pixels are not re-encoded; only a photo that the
camera stored rotated (EXIF orientation) is re-encoded upright (JPEG quality 95), since without
its EXIF it would otherwise show on its side. Colour profiles (ICC) are kept.

Renditions are JPEG files at the widths in ``settings.IMAGE_RENDITION_WIDTHS`` (no wider than the
original), written next to it.
"""

import io
import struct
import warnings
from pathlib import PurePosixPath

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from portal.documents import check_upload_complete, size_label, sniff, unchecked_upload

ACCEPTED_FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",), "WEBP": (".webp",), "GIF": (".gif",)}
FORMATS = tuple(ACCEPTED_FORMATS)  # the only Pillow plugins that ever parse an upload
# What Pillow's decoders raise on a file they cannot read.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error)

# Pillow's own decompression-bomb limit: a warning above it, an error above twice it. Renditions
# and every other Image.open in the portal are bound by it too.
Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS

# Set on an upload once validate_image has passed it (and without_metadata cleaned it), so that the
# model's validator does not decode the same image a second time.
CHECKED = "_portal_image_checked"


def validate_image(file) -> None:
    """Refuse anything but a real JPEG/PNG/WebP/GIF image of sane size and dimensions."""
    upload = unchecked_upload(file)
    if upload is None or getattr(upload, CHECKED, False):
        return
    check_upload_complete(upload)
    size = getattr(file, "size", None)
    if size is not None and size > settings.IMAGE_MAX_BYTES:
        raise ValidationError(
            _("画像のファイルが大きすぎます(%(size)s、上限 %(max)s)。縮小するか圧縮して、%(max)s 以下にしてください。"),
            code="image_too_large",
            params={"size": size_label(size), "max": size_label(settings.IMAGE_MAX_BYTES)},
        )
    name = getattr(file, "name", "") or ""
    suffix = PurePosixPath(name).suffix.lower()
    try:
        fmt, (width, _height) = _decode(file)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bomb() from None
    except DECODE_ERRORS as exc:
        file.seek(0)
        actual = sniff(file.read(2048))
        file.seek(0)
        raise not_an_image(actual, unidentified=isinstance(exc, UnidentifiedImageError)) from None
    if suffix not in ACCEPTED_FORMATS[fmt]:
        raise ValidationError(
            _(
                "ファイルの拡張子(%(suffix)s)と中身の形式(%(format)s)が一致しません。"
                "拡張子を %(expected)s にしてから選んでください。"
            ),
            code="image_extension_mismatch",
            params={"suffix": suffix or "-", "format": fmt, "expected": ACCEPTED_FORMATS[fmt][0]},
        )
    if width < settings.IMAGE_MIN_WIDTH:
        raise ValidationError(
            _("画像の幅が小さすぎます(%(width)s px)。幅 %(min)s px 以上の画像を選んでください。"),
            code="image_too_small",
            params={"width": width, "min": settings.IMAGE_MIN_WIDTH},
        )


def _decode(file) -> tuple[str, tuple[int, int]]:
    """The format and size of the image in ``file``, after checking its header against the pixel
    limits and decoding its first frame. Raises Pillow's errors, DecompressionBombWarning included."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            file.seek(0)
            with Image.open(file, formats=FORMATS) as img:
                fmt, size = img.format, img.size
                if size[0] * size[1] > settings.IMAGE_MAX_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                img.verify()
            file.seek(0)
            with Image.open(file, formats=FORMATS) as img:
                img.load()
    finally:
        file.seek(0)
    return fmt, size


def bomb() -> ValidationError:
    return ValidationError(
        _("画像の画素数が多すぎるため受け付けられません(上限 %(max)s 万画素)。"),
        code="image_bomb",
        params={"max": settings.IMAGE_MAX_PIXELS // 10_000, "max_mp": settings.IMAGE_MAX_PIXELS // 1_000_000},
    )


def not_an_image(actual: str | None, unidentified: bool) -> ValidationError:
    if actual == "SVG":
        return ValidationError(
            _("SVG 画像は受け付けていません(スクリプトを含められるため)。PNG か JPEG に書き出してから選んでください。"),
            code="not_an_image",
        )
    if actual and unidentified:
        return ValidationError(
            _(
                "画像として読み込めないファイルです(中身は %(actual)s です)。"
                "JPEG、PNG、WebP、GIF のいずれかを選んでください。"
            ),
            code="not_an_image",
            params={"actual": actual},
        )
    return ValidationError(
        _("画像として読み込めないか、壊れているファイルです。JPEG、PNG、WebP、GIF のいずれかを選んでください。"),
        code="not_an_image",
    )


# Metadata ---------------------------------------------------------------------------------------


def without_metadata(data: bytes) -> bytes:
    """The image in ``data`` (already validated) without its metadata; raises ValueError when it
    cannot be cleaned."""
    with Image.open(io.BytesIO(data), formats=FORMATS) as img:
        fmt = img.format
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation not in (0, 1) and fmt != "GIF" and not getattr(img, "is_animated", False):
            cleaned = _upright(img)
            size = None
        else:
            cleaned = STRIPPERS[fmt](data)
            size = img.size
    _check_clean(cleaned, fmt, size)
    return cleaned


def _upright(img) -> bytes:
    """A photo stored rotated, turned upright and re-encoded without metadata."""
    upright = ImageOps.exif_transpose(img)
    options = {"icc_profile": img.info.get("icc_profile")} if img.info.get("icc_profile") else {}
    if img.format == "JPEG":
        options.update(quality=95, optimize=True)
    elif img.format == "WEBP":
        options.update(quality=95)
    out = io.BytesIO()
    upright.save(out, img.format, **options)
    return out.getvalue()


def _check_clean(data: bytes, fmt: str, size: tuple[int, int] | None) -> None:
    with Image.open(io.BytesIO(data), formats=FORMATS) as img:
        if img.format != fmt or (size is not None and img.size != size):
            raise ValueError("the cleaned image differs")
        if img.getexif() or any(k in img.info for k in ("exif", "xmp", "XML:com.adobe.xmp", "comment")):
            raise ValueError("metadata left")
        img.load()


def _strip_jpeg(data: bytes) -> bytes:
    """SOI, the tables and frames, the scans, EOI: APP1 (EXIF, XMP), APP13 (IPTC), COM and the
    other APPn segments are dropped, except JFIF without a thumbnail, ICC profiles and Adobe's
    colour transform; nothing after EOI is kept."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    out = bytearray(b"\xff\xd8")
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            raise ValueError("marker expected")
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            break
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += bytes((0xFF, marker))
            continue
        length = int.from_bytes(data[i : i + 2], "big")
        segment = data[i : i + length]
        if length < 2 or len(segment) != length:
            raise ValueError("truncated segment")
        i += length
        if _keep_jpeg_segment(marker, segment[2:]):
            out += bytes((0xFF, marker)) + segment
        if marker == 0xDA:  # SOS: entropy-coded data up to the next marker that is not RSTn
            j = i
            while True:
                j = data.find(b"\xff", j)
                if j < 0 or j + 1 >= n:
                    raise ValueError("no end of image")
                following = data[j + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    j += 2
                elif following == 0xFF:
                    j += 1
                else:
                    break
            out += data[i:j]
            i = j
    raise ValueError("no end of image")


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == 0xE0:
        return payload.startswith(b"JFIF\x00") and len(payload) == 14  # JFIF without a thumbnail
    if marker == 0xE2:
        return payload.startswith(b"ICC_PROFILE\x00")
    if marker == 0xEE:
        return payload.startswith(b"Adobe")
    return not (0xE0 <= marker <= 0xEF or marker == 0xFE)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The chunks that draw the picture (animation and colour included); text, eXIf, tIME and any
# other chunk are dropped.
PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"cHRM",
    b"gAMA",
    b"iCCP",
    b"sBIT",
    b"sRGB",
    b"cICP",
    b"mDCV",
    b"cLLI",
    b"pHYs",
    b"bKGD",
    b"hIST",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


def _strip_png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    out = bytearray(PNG_SIGNATURE)
    i = len(PNG_SIGNATURE)
    while i + 12 <= len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        chunk = data[i : i + 12 + length]
        if len(chunk) != 12 + length:
            raise ValueError("truncated chunk")
        if kind in PNG_KEEP:
            out += chunk
        i += 12 + length
        if kind == b"IEND":
            return bytes(out)
    raise ValueError("no IEND")


WEBP_KEEP = {b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}


def _strip_webp(data: bytes) -> bytes:
    """The RIFF chunks of the picture; EXIF and XMP dropped and their flags cleared in VP8X."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    end = min(8 + int.from_bytes(data[4:8], "little"), len(data))
    body = bytearray(b"WEBP")
    i = 12
    while i + 8 <= end:
        kind = data[i : i + 4]
        length = int.from_bytes(data[i + 4 : i + 8], "little")
        payload = data[i + 8 : i + 8 + length]
        if len(payload) != length:
            raise ValueError("truncated chunk")
        if kind in WEBP_KEEP:
            if kind == b"VP8X":
                payload = bytes((payload[0] & ~0x0C,)) + payload[1:]  # no EXIF (0x08), no XMP (0x04)
            body += kind + length.to_bytes(4, "little") + payload + (b"\x00" if length % 2 else b"")
        i += 8 + length + length % 2
    return b"RIFF" + len(body).to_bytes(4, "little") + bytes(body)


GIF_LOOP_EXTENSIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")


def _gif_blocks_end(data: bytes, i: int) -> int:
    """The index after the data sub-blocks starting at ``i`` (after their terminator)."""
    while True:
        if i >= len(data):
            raise ValueError("truncated GIF")
        size = data[i]
        i += 1 + size
        if size == 0:
            return i


def _strip_gif(data: bytes) -> bytes:
    """Header, screen, colour tables, graphic control and loop extensions and the frames; comment,
    plain-text and other application extensions (XMP) dropped, nothing after the trailer kept."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise ValueError("not a GIF")
    flags = data[10]
    i = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    out = bytearray(data[:i])
    while i < len(data):
        block = data[i]
        if block == 0x3B:  # trailer
            out += b";"
            return bytes(out)
        if block == 0x2C:  # image descriptor, local colour table, LZW code size, data
            flags = data[i + 9]
            start = i
            i += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0) + 1
            i = _gif_blocks_end(data, i)
            out += data[start:i]
        elif block == 0x21:
            label = data[i + 1]
            start = i
            i = _gif_blocks_end(data, i + 2)
            keep = label == 0xF9 or (label == 0xFF and data[start + 3 : start + 14] in GIF_LOOP_EXTENSIONS)
            if keep:
                out += data[start:i]
        else:
            raise ValueError("unknown GIF block")
    raise ValueError("no GIF trailer")


STRIPPERS = {"JPEG": _strip_jpeg, "PNG": _strip_png, "WEBP": _strip_webp, "GIF": _strip_gif}


def cleaned_upload(upload):
    """The upload without metadata, as a new uploaded file of the same name and type (or the same
    one when there was nothing to remove), marked as checked. Raises ValidationError."""
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        cleaned = without_metadata(data)
    except (*DECODE_ERRORS, Image.DecompressionBombError):
        raise ValidationError(
            _("画像に含まれる撮影情報などを取り除けませんでした。画像を保存し直してから選んでください。"),
            code="image_metadata",
        ) from None
    if cleaned != data:
        upload = SimpleUploadedFile(upload.name, cleaned, getattr(upload, "content_type", None))
    setattr(upload, CHECKED, True)
    return upload


# Renditions -------------------------------------------------------------------------------------


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


# Fields -----------------------------------------------------------------------------------------


class SafeImageFormField(forms.ImageField):
    """An image form field that runs ``validate_image`` before Django's own checks, so that a
    decompression bomb is named as such instead of as a broken file, then removes the image's
    metadata; a file that fails either is refused with the field's error, before it is stored."""

    def to_python(self, data):
        if data is not None and hasattr(data, "read"):
            validate_image(data)
            data = cleaned_upload(data)
        return super().to_python(data)


class SafeImageField(models.ImageField):
    """An ImageField validated by ``validate_image`` in forms and in model validation, whose new
    files are stored without their metadata however they were assigned (forms, code)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [validate_image])
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SafeImageFormField, **kwargs})

    def pre_save(self, model_instance, add):
        file = getattr(model_instance, self.attname)
        if file and not file._committed and not getattr(file.file, CHECKED, False):
            content = file.file
            content.seek(0)
            data = content.read()
            content.seek(0)
            cleaned = without_metadata(data)  # an image assigned by code: its error is the code's to handle
            if cleaned != data:
                file.file = ContentFile(cleaned, name=file.name)
        return super().pre_save(model_instance, add)
