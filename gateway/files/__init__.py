"""The Files API: records in Redis, contents in storage, OpenAI's wire shapes."""

from gateway.files.records import FileObject, FilePurpose, FileRecord
from gateway.files.store import FileStore

__all__ = ["FileObject", "FilePurpose", "FileRecord", "FileStore"]
