"""Writing output files without following symlinks or replacing files this program did not write.

An output folder can hold entries someone else put there: a symlink named like an output file would make a
plain ``open(path, "w")`` write wherever it points. Every writer of the package's outputs goes through here:
:func:`write_new_file` creates a file (``O_NOFOLLOW``; ``O_EXCL`` unless overwriting is allowed), never through
a symlink or a symlinked folder below the output root; :func:`write_atomic` writes a temporary file and renames
it over the final name (the rename replaces a symlink, it does not write through it); :func:`remove_path`
removes a file, a folder or a symlink itself, never what a symlink points to.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path
from typing import Callable, Optional


class UnsafeOutput(OSError):
    """An output path is a symlink, lies under one, or is a file that may not be replaced."""


def write_new_file(path: Path, data: bytes, root: Optional[Path] = None, overwrite: bool = False) -> None:
    """Write ``data`` to ``path``, creating its folders under ``root`` (default: its parent).

    Refused with :class:`UnsafeOutput` when ``path`` or a folder between ``root`` and it is a symlink, or when
    ``path`` exists and ``overwrite`` is false (or it is not a regular file)."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    _make_folders(root, path.parent)
    # O_NONBLOCK: a FIFO under that name fails at once (ENXIO) instead of waiting for a reader
    flags = (os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
             | (os.O_TRUNC if overwrite else os.O_EXCL))
    try:
        handle = os.open(path, flags, 0o644)
    except OSError as err:
        if err.errno == errno.ELOOP or path.is_symlink():
            raise UnsafeOutput(errno.ELOOP, f"{path} is a symlink: not written through it") from None
        if err.errno == errno.EEXIST:
            raise UnsafeOutput(errno.EEXIST, f"{path} already exists: not overwritten") from None
        if err.errno == errno.ENXIO:
            raise UnsafeOutput(errno.EINVAL, f"{path} is not a regular file: not written") from None
        raise
    with os.fdopen(handle, "wb") as out:
        if not stat.S_ISREG(os.fstat(out.fileno()).st_mode):  # a FIFO or device under that name
            raise UnsafeOutput(errno.EINVAL, f"{path} is not a regular file: not written")
        out.write(data)


def _make_folders(root: Path, folder: Path) -> None:
    """Create ``folder`` (under ``root``) one level at a time, refusing a symlink on the way."""
    root.mkdir(parents=True, exist_ok=True)
    relative = Path(os.path.relpath(os.path.normpath(folder), os.path.normpath(root)))
    if relative.parts[:1] == ("..",) or relative.is_absolute():
        raise UnsafeOutput(errno.EPERM, f"{folder} is outside {root}: nothing is written there")
    current = root
    for part in relative.parts if relative != Path(".") else ():
        current = current / part
        if current.is_symlink():
            raise UnsafeOutput(errno.ELOOP, f"{current} is a symlink: nothing is written under it")
        current.mkdir(exist_ok=True)


def write_atomic(final: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary name beside ``final``, then rename it to ``final`` (replacing a file, a
    folder or a symlink there, never writing through one). A crash leaves ``final`` as it was."""
    final = Path(final)
    tmp = final.with_name(f".tmp-{os.getpid()}-{final.name}")
    remove_path(tmp)
    try:
        write(tmp)
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        remove_path(tmp)


def remove_path(path: Path) -> None:
    """Remove a file, a folder tree or a symlink (the link itself); nothing when there is nothing."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
