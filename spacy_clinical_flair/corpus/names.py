"""Output file names from document ids: always inside the output folder, never two documents on one name.

A document id comes from outside (a JSONL field, a Parquet column, a file name, ``doc.user_data``) and
becomes ``<id>.txt``/``<id>.ann`` under an output folder (``export-brat``, ``annotate --format brat``).
:class:`UniqueNames` hands out one name per document: the id itself when it is a safe relative path
(:func:`unsafe_reason`) not taken yet (compared case-insensitively, as on macOS and Windows file systems),
else a numbered fallback; every change comes with the reason, for the job's report.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Optional, Set, Tuple

#: Longest id part in UTF-8 bytes: file systems allow 255, minus room for ".ann" and a temporary prefix.
MAX_PART_BYTES = 200
MAX_NAME_CHARS = 1000


def unsafe_reason(doc_id: Any) -> Optional[str]:
    """Why ``doc_id`` cannot be used as a relative output path (``None`` when it can)."""
    if not isinstance(doc_id, str) or not doc_id:
        return "it is empty or not a text"
    if len(doc_id) > MAX_NAME_CHARS:
        return f"it has {len(doc_id)} characters (at most {MAX_NAME_CHARS})"
    if any(ord(char) < 32 or ord(char) == 127 for char in doc_id) or "\\" in doc_id:
        return "it holds a control character or a backslash"
    try:
        doc_id.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid Unicode (a file name that is not UTF-8)"
    path = PurePosixPath(doc_id)
    if path.is_absolute() or doc_id.endswith("/") or any(part in ("", ".", "..") for part in doc_id.split("/")):
        return "it is not a relative path inside the output folder"
    if any(len(part.encode("utf-8")) > MAX_PART_BYTES for part in path.parts):
        return f"a part of it is longer than {MAX_PART_BYTES} bytes"
    return None


class UniqueNames:
    """Safe, distinct output names for a run of documents (see the module docstring)."""

    def __init__(self) -> None:
        self._taken: Set[str] = set()

    def name(self, doc_id: Any, fallback: str) -> Tuple[str, Optional[str]]:
        """The name for a document with ``doc_id`` (``fallback`` when it cannot be used), and why it changed."""
        if doc_id is None or doc_id == "":  # an id-less document: its fallback name is its name
            doc_id, reason = fallback, None
        else:
            reason = unsafe_reason(doc_id)
        wanted = doc_id if reason is None else fallback
        if reason is None and wanted.casefold() in self._taken:
            reason = "another document has that name"
        if reason is not None:
            wanted = self._free(fallback)
        self._taken.add(wanted.casefold())
        if reason is None:
            return wanted, None
        return wanted, f"doc_id {str(doc_id)[:80]!r} was written as {wanted!r}: {reason}"

    def _free(self, fallback: str) -> str:
        candidate, number = fallback, 1
        while candidate.casefold() in self._taken:
            number += 1
            candidate = f"{fallback}-{number}"
        return candidate
