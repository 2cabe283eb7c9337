"""Attached documents: what may be attached, the checks on upload, and the label shown to readers
(PDF・1.2MB).

Every document is checked before it is stored (docs/operations.md, "Uploaded files"), and a file
that fails is refused with a message naming what is wrong, never a 500:

- the extension is one of ``DOCUMENT_TYPES`` (no SVG, HTML, executables or old binary Office
  files);
- the size is at most ``settings.DOCUMENT_MAX_BYTES``;
- the content is what the extension says: a PDF starts with ``%PDF-``; a .docx/.xlsx/.pptx is a
  ZIP whose ``[Content_Types].xml`` names the main part of that very application, without macros;
  a .csv/.txt decodes as UTF-8 or Shift_JIS (cp932), has no NUL byte and is not HTML or SVG
  markup. When the content is something else the message names it if it is known (an .exe renamed
  .pdf is 「実行ファイル」, a PDF renamed .docx is 「PDF」);
- a ZIP-based Office file is not a compression bomb: its members' declared sizes are read from
  the ZIP directory (nothing is extracted) and refused above ``DOCUMENT_MAX_UNCOMPRESSED_BYTES``
  in total, ``DOCUMENT_MAX_ZIP_MEMBERS`` members, or a member that expands more than
  ``DOCUMENT_MAX_COMPRESSION_RATIO`` times (Apache POI's limit). A PDF's compressed streams are
  only expanded by the reader's own viewer, page by page: PDFs are not inspected further.

Files already stored are not checked again when their item is saved: they were checked when they
were uploaded, and a stored file missing from the storage must not stop editors saving the item.
"""

import codecs
import re
import zipfile
import zlib
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Extension -> the label shown to readers next to the link (PDF・1.2MB).
DOCUMENT_TYPES = {
    ".pdf": "PDF",
    ".docx": "Word",
    ".xlsx": "Excel",
    ".pptx": "PowerPoint",
    ".csv": "CSV",
    ".txt": "テキスト",
}
LEGACY_OFFICE = {".doc": (".docx", "Word"), ".xls": (".xlsx", "Excel"), ".ppt": (".pptx", "PowerPoint")}

# The content type of the main part in [Content_Types].xml of each Office Open XML file, and what
# to call a file whose main part is that type.
OFFICE_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": ".pptx",
}
OFFICE_OTHER_TYPES = {
    "application/vnd.ms-word.document.macroEnabled.main+xml": gettext_lazy("マクロ付きの Word 文書(.docm)"),
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": gettext_lazy("マクロ付きの Excel ブック(.xlsm)"),
    "application/vnd.ms-excel.sheet.binary.macroEnabled.main": gettext_lazy("Excel バイナリブック(.xlsb)"),
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": gettext_lazy(
        "マクロ付きの PowerPoint プレゼンテーション(.pptm)"
    ),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": gettext_lazy(
        "Word テンプレート(.dotx)"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": gettext_lazy(
        "Excel テンプレート(.xltx)"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": gettext_lazy(
        "PowerPoint テンプレート(.potx)"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": gettext_lazy(
        "PowerPoint スライドショー(.ppsx)"
    ),
}
CONTENT_TYPES_MEMBER = "[Content_Types].xml"
CONTENT_TYPES_MAX_BYTES = 1024 * 1024
# Apache POI checks the compression ratio only of members larger than this.
RATIO_GRACE_BYTES = 100 * 1024

ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    KeyError,
    zlib.error,
)

# The first bytes of the file types editors are likely to pick by mistake, to name them in the message.
SIGNATURES = (
    (b"%PDF-", "PDF"),
    (b"PK\x03\x04", gettext_lazy("ZIP 形式のファイル")),
    (b"PK\x05\x06", gettext_lazy("ZIP 形式のファイル")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", gettext_lazy("旧形式の Office ファイル(.doc・.xls・.ppt)")),
    (b"MZ", gettext_lazy("実行ファイル(.exe など)")),
    (b"\x7fELF", gettext_lazy("実行ファイル")),
    (b"\xcf\xfa\xed\xfe", gettext_lazy("実行ファイル")),
    (b"\x89PNG\r\n\x1a\n", gettext_lazy("PNG 画像")),
    (b"\xff\xd8\xff", gettext_lazy("JPEG 画像")),
    (b"GIF87a", gettext_lazy("GIF 画像")),
    (b"GIF89a", gettext_lazy("GIF 画像")),
    (b"II*\x00", gettext_lazy("TIFF 画像")),
    (b"MM\x00*", gettext_lazy("TIFF 画像")),
    (b"{\\rtf", gettext_lazy("RTF 文書")),
    (b"Rar!\x1a\x07", gettext_lazy("RAR 圧縮ファイル")),
    (b"7z\xbc\xaf\x27\x1c", gettext_lazy("7z 圧縮ファイル")),
    (b"\x1f\x8b", gettext_lazy("gzip 圧縮ファイル")),
)
HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<meta", b"<!--")


def sniff(head: bytes) -> str | None:
    """What the first bytes of a file say it is, for messages: 'PDF', 'HTML', 「実行ファイル…」, or None."""
    for magic, label in SIGNATURES:
        if head.startswith(magic):
            return str(label)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return str(gettext_lazy("WebP 画像"))
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return str(gettext_lazy("HEIC 画像"))
        if brand in (b"avif", b"avis"):
            return str(gettext_lazy("AVIF 画像"))
        return str(gettext_lazy("動画(MP4・MOV など)"))
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in text):
        return "SVG"
    if text.startswith(HTML_STARTS):
        return "HTML"
    if text.startswith(b"<?xml"):
        return "XML"
    return None


def document_label(name: str) -> str:
    return DOCUMENT_TYPES.get(PurePosixPath(name).suffix.lower(), "")


def human_size(size: int | None) -> str:
    """1536 -> '1.5KB'; the way Japanese government sites show file sizes."""
    if size is None:
        return ""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}{unit}"
    return f"{size}B"


def size_label(size: int) -> str:
    """A size or a limit in a message: 10485760 -> '10 MB', 1536 -> '1.5 KB'."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} B"


def unchecked_upload(file):
    """The uploaded file object behind ``file``, or None when ``file`` is already stored (a
    committed FieldFile), which is not checked again."""
    if isinstance(file, FieldFile):
        return None if file._committed else file.file
    return file


def check_upload_complete(file) -> None:
    """Refuse a file that portal.uploads.CappedTemporaryFileUploadHandler did not write in full
    because the request carried more than FILE_UPLOAD_MAX_BYTES of files."""
    if getattr(file, "truncated", False):
        raise ValidationError(
            _("一度に送れるファイルは合計 %(max)s までです。ファイルを分けて、1つずつ保存してください。"),
            code="upload_too_large",
            params={"max": size_label(settings.FILE_UPLOAD_MAX_BYTES)},
        )


def too_large(size: int, limit: int, code: str) -> ValidationError:
    return ValidationError(
        _("ファイルが大きすぎます(%(size)s、上限 %(max)s)。%(max)s 以下にしてから選んでください。"),
        code=code,
        params={"size": size_label(size), "max": size_label(limit)},
    )


def validate_document(file) -> None:
    """Refuse a document of a type not accepted, too large, or whose content is not what its
    extension says (see the module's docstring)."""
    upload = unchecked_upload(file)
    if upload is None:
        return
    suffix = PurePosixPath(getattr(file, "name", "") or "").suffix.lower()
    if suffix in LEGACY_OFFICE:
        new_suffix, app = LEGACY_OFFICE[suffix]
        raise ValidationError(
            _(
                "旧形式の Office ファイル(%(suffix)s)は添付できません。"
                "%(app)s で %(new_suffix)s 形式で保存し直すか、PDF にしてから選んでください。"
            ),
            code="document_type",
            params={"suffix": suffix, "app": app, "new_suffix": new_suffix},
        )
    if suffix not in DOCUMENT_TYPES:
        raise ValidationError(
            _(
                "このファイル形式は添付できません。PDF、Word、Excel、PowerPoint、CSV、テキストのいずれかを選んでください。"
            ),
            code="document_type",
        )
    check_upload_complete(upload)
    size = file.size
    if not size:
        raise ValidationError(_("ファイルが空です。"), code="document_empty")
    if size > settings.DOCUMENT_MAX_BYTES:
        raise too_large(size, settings.DOCUMENT_MAX_BYTES, "document_too_large")
    try:
        file.seek(0)
        head = file.read(2048)
        if suffix == ".pdf":
            if not head.startswith(b"%PDF-"):
                raise mismatch(suffix, sniff(head))
        elif suffix in (".docx", ".xlsx", ".pptx"):
            check_office(file, suffix, head)
        else:
            check_text(file, suffix, head)
    finally:
        file.seek(0)


def mismatch(suffix: str, actual: str | None) -> ValidationError:
    if actual:
        return ValidationError(
            _("ファイルの中身が拡張子(%(suffix)s)の形式ではありません(中身は %(actual)s です)。"),
            code="document_mismatch",
            params={"suffix": suffix, "actual": actual},
        )
    return ValidationError(
        _("ファイルの中身が拡張子(%(suffix)s)の形式ではありません。元のアプリで保存し直してから選んでください。"),
        code="document_mismatch",
        params={"suffix": suffix},
    )


def check_office(file, suffix: str, head: bytes) -> None:
    """A .docx/.xlsx/.pptx: a ZIP whose [Content_Types].xml names the main part of the application
    its extension says, with no macros, that does not expand beyond the limits."""
    if not head.startswith(b"PK\x03\x04"):
        raise mismatch(suffix, sniff(head))
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            check_expansion(members)
            names = {m.filename for m in members}
            if CONTENT_TYPES_MEMBER not in names:
                raise mismatch(suffix, str(gettext_lazy("ZIP 形式のファイル")))
            info = archive.getinfo(CONTENT_TYPES_MEMBER)
            if info.file_size > CONTENT_TYPES_MAX_BYTES:
                raise mismatch(suffix, None)
            with archive.open(info) as fh:
                content_types = fh.read(CONTENT_TYPES_MAX_BYTES + 1).decode("utf-8", "replace")
    except ZIP_ERRORS:
        raise ValidationError(
            _("ファイルが壊れているため読み込めません(%(suffix)s)。元のアプリで保存し直してから選んでください。"),
            code="document_corrupt",
            params={"suffix": suffix},
        ) from None
    main = [s for t, s in OFFICE_MAIN_TYPES.items() if t in content_types]
    if main != [suffix]:
        other = [str(label) for t, label in OFFICE_OTHER_TYPES.items() if t in content_types]
        actual = other[0] if other else next((DOCUMENT_TYPES[s] for s in main if s != suffix), None)
        raise mismatch(suffix, actual)
    if any(PurePosixPath(n).name.lower() == "vbaproject.bin" for n in names):
        raise ValidationError(
            _("マクロを含む Office ファイルは添付できません。マクロを含まない形式(%(suffix)s)で保存し直してください。"),
            code="document_macro",
            params={"suffix": suffix},
        )


def check_expansion(members: list[zipfile.ZipInfo]) -> None:
    """Refuse a ZIP whose members, as its directory declares them, expand too far. Nothing is
    extracted: the sizes are those of the ZIP's central directory."""
    if len(members) > settings.DOCUMENT_MAX_ZIP_MEMBERS:
        raise ValidationError(
            _("ファイルの中の部品が多すぎるため受け付けられません(%(count)s 個、上限 %(max)s 個)。"),
            code="document_zip_bomb",
            params={"count": len(members), "max": settings.DOCUMENT_MAX_ZIP_MEMBERS},
        )
    total = sum(m.file_size for m in members)
    if total > settings.DOCUMENT_MAX_UNCOMPRESSED_BYTES:
        raise ValidationError(
            _("展開すると大きくなりすぎるファイルのため受け付けられません(展開後 %(size)s、上限 %(max)s)。"),
            code="document_zip_bomb",
            params={"size": size_label(total), "max": size_label(settings.DOCUMENT_MAX_UNCOMPRESSED_BYTES)},
        )
    ratio = settings.DOCUMENT_MAX_COMPRESSION_RATIO
    for m in members:
        if m.file_size > RATIO_GRACE_BYTES and m.file_size > ratio * max(m.compress_size, 1):
            raise ValidationError(
                _("圧縮率が異常に高い部分を含むため受け付けられません(展開すると %(ratio)s 倍を超えます)。"),
                code="document_zip_bomb",
                params={"ratio": ratio},
            )


TEXT_ENCODINGS = ("utf-8-sig", "cp932")
# What no text a person saves holds, but binary files and text in another encoding read as CP932
# (which decodes nearly any bytes) give: control characters other than tab and line ends, and the
# code points CP932 maps its unassigned bytes to (as casestudies.resources reads imports).
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\uf8f0-\uf8f3]")


def check_text(file, suffix: str, head: bytes) -> None:
    """A .csv/.txt: UTF-8 (with or without BOM) or Shift_JIS (cp932, as Excel writes it), without
    NUL bytes or other control characters, and not HTML, SVG or XML markup."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError(
            _("UTF-16 のテキストは受け付けていません。UTF-8 か Shift_JIS で保存し直してください。"),
            code="document_encoding",
        )
    actual = sniff(head)
    if b"\x00" in head or actual in ("HTML", "SVG", "XML"):
        raise mismatch(suffix, actual)
    for encoding in TEXT_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        file.seek(0)
        try:
            while chunk := file.read(1024 * 1024):
                if b"\x00" in chunk:
                    raise mismatch(suffix, None)
                if NOT_TEXT.search(decoder.decode(chunk)):
                    break
            else:
                decoder.decode(b"", final=True)
                return
        except UnicodeDecodeError:
            continue
    raise ValidationError(
        _("文字コードを読み取れません。UTF-8 か Shift_JIS のテキストとして保存し直してから選んでください。"),
        code="document_encoding",
    )


class DocumentFileMixin:
    """What every attached-document model shares: ``file`` and ``file_size`` fields of its own,
    the size recorded on save, and the type and size shown to readers (PDF・1.2MB)."""

    def save(self, *args, **kwargs):
        if self.file:
            try:
                self.file_size = self.file.size
            except (OSError, ValueError):
                self.file_size = None
        super().save(*args, **kwargs)

    @property
    def file_type(self) -> str:
        return document_label(self.file.name)

    @property
    def size_label(self) -> str:
        return human_size(self.file_size)
