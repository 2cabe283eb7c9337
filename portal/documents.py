"""Attached documents: accepted types, size limit and the label shown to readers (PDF・1.2MB)."""

from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024

# Extension -> (label shown to readers, the bytes the file must start with, or None).
DOCUMENT_TYPES = {
    ".pdf": ("PDF", (b"%PDF-",)),
    ".docx": ("Word", (b"PK\x03\x04",)),
    ".xlsx": ("Excel", (b"PK\x03\x04",)),
    ".pptx": ("PowerPoint", (b"PK\x03\x04",)),
    ".csv": ("CSV", None),
    ".txt": ("テキスト", None),
}


def document_label(name: str) -> str:
    return DOCUMENT_TYPES.get(PurePosixPath(name).suffix.lower(), ("", None))[0]


def human_size(size: int | None) -> str:
    """1536 -> '1.5KB'; the way Japanese government sites show file sizes."""
    if size is None:
        return ""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}{unit}"
    return f"{size}B"


def validate_document(file) -> None:
    suffix = PurePosixPath(getattr(file, "name", "") or "").suffix.lower()
    if suffix not in DOCUMENT_TYPES:
        raise ValidationError(
            _(
                "このファイル形式は添付できません。PDF、Word、Excel、PowerPoint、CSV、テキストのいずれかを選んでください。"
            ),
            code="document_type",
        )
    if file.size > MAX_DOCUMENT_BYTES:
        raise ValidationError(
            _("ファイルが大きすぎます。%(max)s MB 以下にしてください。"),
            code="document_too_large",
            params={"max": MAX_DOCUMENT_BYTES // 1024 // 1024},
        )
    magic = DOCUMENT_TYPES[suffix][1]
    if magic:
        file.seek(0)
        head = file.read(8)
        file.seek(0)
        if not any(head.startswith(m) for m in magic):
            raise ValidationError(
                _("ファイルの中身が拡張子(%(suffix)s)の形式と一致しません。"),
                code="document_mismatch",
                params={"suffix": suffix},
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
