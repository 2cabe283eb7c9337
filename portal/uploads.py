"""The upload handler that keeps an oversize request from filling the disk.

Django writes the files of a multipart request larger than FILE_UPLOAD_MAX_MEMORY_SIZE to
temporary files as they arrive, whatever their size and whether or not the view wants files (the
public consultation form takes none). This handler keeps at most FILE_UPLOAD_MAX_BYTES of files on
disk per request: a file that would go past it is emptied, the rest of it is read from the request
and dropped, and it reports its full size and ``truncated = True``. The fields' checks
(portal.images, portal.documents) refuse such a file with a message; code that does not look at
``truncated`` (the case import) reads an empty file, never a part of one. The proxy's own limit on
the request body (docs/operations.md, "Uploaded files") stops larger bodies before they reach the
portal.
"""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.written = 0  # bytes kept on disk for this request, all files together
        self.file_written = 0
        self.truncated = False

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.file_written = 0
        self.truncated = False

    def receive_data_chunk(self, raw_data, start):
        if self.truncated:
            return
        if self.written + len(raw_data) > settings.FILE_UPLOAD_MAX_BYTES:
            self.file.seek(0)
            self.file.truncate()
            self.written -= self.file_written
            self.file_written = 0
            self.truncated = True
            return
        self.file.write(raw_data)
        self.written += len(raw_data)
        self.file_written += len(raw_data)

    def file_complete(self, file_size):
        file = super().file_complete(file_size)
        file.truncated = self.truncated
        return file
