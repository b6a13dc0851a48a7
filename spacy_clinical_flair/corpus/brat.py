"""BRAT standoff: the data model, a reader exact to the character, and a writer.

Offsets in a BRAT ``.ann`` file count Unicode characters of the ``.txt`` file exactly as it
is stored: a UTF-8 byte-order mark is one character, and a CRLF line ending is two. The
reader therefore decodes the raw bytes itself (no newline translation, no BOM stripping).

``#`` notes (``#1<TAB>AnnotatorNotes T1<TAB>text``) and ``N`` normalisations
(``N1<TAB>Reference T1 SNOMED:123<TAB>text``) on a text-bound entity are kept as :class:`BratNote`;
every other line kind is counted. Only the standard library is used here; choosing which entities
reach ``doc.ents`` is the job of :mod:`spacy_clinical_flair.corpus.flatten`.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

Fragment = Tuple[int, int]

#: BRAT line prefixes other than text-bound ``T`` lines, and the name they are counted under.
OTHER_LINE_KINDS: Dict[str, str] = {
    "R": "relation",
    "E": "event",
    "A": "attribute",
    "M": "attribute",
    "N": "normalization",
    "#": "note",
    "*": "equivalence",
}

_T_LINE = re.compile(
    r"^(?P<id>T[^\t ]*)\t(?P<label>[^\t ]+) (?P<offsets>\d+ \d+(?:;\d+ \d+)*)(?:\t(?P<surface>.*))?$"
)
#: Offsets longer than this are no text position (and Python refuses to parse 4,300 digits or more).
MAX_OFFSET_DIGITS = 15
_OTHER_LINE = re.compile(r"^(?P<prefix>[REAMN#*])[^\t]*\t")
_NOTE_LINE = re.compile(r"^(?P<id>#[^\t]*)\t(?P<type>[^\t ]+) (?P<target>[^\t ]+)(?:\t(?P<text>.*))?$")
_NORMALIZATION_LINE = re.compile(
    r"^(?P<id>N[^\t]*)\t(?P<type>[^\t ]+) (?P<target>[^\t ]+) (?P<reference>[^\t]+?)(?:\t(?P<text>.*))?$")
NOTE = "note"
NORMALIZATION = "normalization"


@dataclass(frozen=True)
class Problem:
    """Something wrong in the input, with where it was found.

    ``kind`` is a short machine-readable name (``malformed_line``, ``offset_out_of_range``,
    ``empty_span``, ``surface_mismatch``, ``missing_txt``, ``encoding``, ...); ``line`` is the
    1-based line of the ``.ann`` file, or ``None`` for a problem with a whole file.
    """

    kind: str
    file: str
    line: Optional[int]
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.kind}: {self.message}"


@dataclass(frozen=True)
class BratEntity:
    """A text-bound annotation (``T`` line) whose offsets were checked against the text."""

    id: str
    label: str
    fragments: Tuple[Fragment, ...]
    line: int = 0

    @property
    def start(self) -> int:
        return self.fragments[0][0]

    @property
    def end(self) -> int:
        return self.fragments[-1][1]

    @property
    def is_discontinuous(self) -> bool:
        return len(self.fragments) > 1


@dataclass(frozen=True)
class BratNote:
    """A ``#`` note or ``N`` normalisation line on a text-bound entity, kept to be written back.

    ``kind`` is ``"note"`` or ``"normalization"``; ``type`` the BRAT type (``AnnotatorNotes``,
    ``Reference``); ``target`` the ``T`` id; ``text`` what follows the second tab, exactly (``None``
    when the line has none); ``reference`` an ``N`` line's ``DB:ID`` (empty for notes).
    """

    id: str
    kind: str
    type: str
    target: str
    text: Optional[str]
    reference: str = ""
    line: int = field(default=0, compare=False)

    def to_dict(self) -> Dict[str, Any]:
        """The JSON-ready record kept in ``doc.user_data`` (see :mod:`spacy_clinical_flair.corpus.docs`)."""
        return {"id": self.id, "kind": self.kind, "type": self.type, "target": self.target,
                "text": self.text, "reference": self.reference}

    @classmethod
    def from_dict(cls, record: Dict[str, Any]) -> "BratNote":
        return cls(str(record["id"]), str(record["kind"]), str(record["type"]), str(record["target"]),
                   None if record.get("text") is None else str(record["text"]), str(record.get("reference", "")))


@dataclass
class BratDocument:
    """One ``.txt`` file with the annotations of the ``.ann`` beside it.

    ``entities`` holds the valid ``T`` lines in file order; ``invalid_t_lines`` counts the
    ``T`` lines that could not become an entity (malformed, out of range, empty), each of
    which also has a :class:`Problem`. ``notes`` holds the ``#`` and ``N`` lines on a valid ``T``
    entity, in file order; ``other_lines`` counts every other line (relations, events, attributes,
    and notes on anything but a valid ``T`` entity).
    """

    doc_id: str
    text: str
    entities: List[BratEntity] = field(default_factory=list)
    invalid_t_lines: int = 0
    notes: List[BratNote] = field(default_factory=list)
    other_lines: Counter = field(default_factory=Counter)
    problems: List[Problem] = field(default_factory=list)
    has_ann: bool = True

    @property
    def t_lines(self) -> int:
        """Number of ``T`` lines in the ``.ann`` file, valid or not."""
        return len(self.entities) + self.invalid_t_lines


def decode_exact(data: bytes, file: str, problems: List[Problem]) -> str:
    """Decode UTF-8 bytes without touching line endings or a byte-order mark.

    Bytes that are not valid UTF-8 become U+FFFD (one character each, so the offsets of a
    single-byte encoding stay right) and the file gets an ``encoding`` problem.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        problems.append(
            Problem("encoding", file, None, f"not valid UTF-8 ({err.reason} at byte {err.start}); "
                    "undecodable bytes were replaced by U+FFFD: re-save the file as UTF-8")
        )
        return data.decode("utf-8", errors="replace")


def read_text_exact(path: Path, problems: List[Problem]) -> str:
    """Read a ``.txt`` file as BRAT counts its characters."""
    return decode_exact(path.read_bytes(), _printable(path), problems)


def _ann_lines(ann_text: str) -> Iterator[Tuple[int, str]]:
    """Lines of an ``.ann`` file with their 1-based numbers; CRLF and a BOM are tolerated."""
    if ann_text.startswith("\ufeff"):
        ann_text = ann_text[1:]
    for number, line in enumerate(ann_text.split("\n"), start=1):
        yield number, line[:-1] if line.endswith("\r") else line


def _parse_offsets(offsets: str) -> Tuple[Fragment, ...]:
    pairs = []
    for part in offsets.split(";"):
        start, end = part.split(" ")
        pairs.append((int(start), int(end)))
    return tuple(sorted(pairs))


def _check_fragments(
    fragments: Sequence[Fragment], text: str, file: str, line: int, entity_id: str
) -> Optional[Problem]:
    for start, end in fragments:
        if end > len(text):
            return Problem("offset_out_of_range", file, line,
                           f"{entity_id}: span {start}-{end} ends past the end of the text "
                           f"({len(text)} characters); the .ann does not belong to this .txt "
                           "or the text was changed after annotation")
        if start >= end:
            return Problem("empty_span", file, line,
                           f"{entity_id}: span {start}-{end} is empty or reversed")
    for (_, end_a), (start_b, _) in zip(fragments, fragments[1:]):
        if start_b < end_a:
            return Problem("overlapping_fragments", file, line,
                           f"{entity_id}: fragments overlap ({end_a} > {start_b})")
    return None


def parse_ann(ann_text: str, text: str, file: str = "<ann>") -> BratDocument:
    """Parse the content of an ``.ann`` file against the text it annotates.

    Never raises for bad content: every malformed line and invalid entity is recorded as a
    :class:`Problem` and skipped. A surface text that differs from the text at the offsets is
    reported (``surface_mismatch``) but the entity is kept: the offsets are the truth.
    """
    doc = BratDocument(doc_id="", text=text)
    notes: List[BratNote] = []
    for number, line in _ann_lines(ann_text):
        if not line.strip():
            continue
        if line.startswith("T"):
            _parse_t_line(line, number, text, file, doc)
            continue
        note = _parse_note_line(line, number)
        if note is not None:
            notes.append(note)
            continue
        other = _OTHER_LINE.match(line)
        if other:
            doc.other_lines[OTHER_LINE_KINDS[other.group("prefix")]] += 1
        else:
            doc.problems.append(Problem("malformed_line", file, number,
                                        f"not a BRAT annotation line: {line[:80]!r}"))
    entity_ids = {entity.id for entity in doc.entities}
    for note in notes:  # after every T line: a note may come before the entity it annotates
        if note.target in entity_ids:
            doc.notes.append(note)
        else:
            doc.other_lines[note.kind] += 1
    return doc


def _parse_note_line(line: str, number: int) -> Optional[BratNote]:
    """A ``#`` or ``N`` line as a :class:`BratNote` (its target not yet checked), else ``None``."""
    match = _NOTE_LINE.match(line) if line.startswith("#") else _NORMALIZATION_LINE.match(line)
    if match is None:
        return None
    kind = NOTE if line.startswith("#") else NORMALIZATION
    reference = match.group("reference") if kind == NORMALIZATION else ""
    return BratNote(match.group("id"), kind, match.group("type"), match.group("target"), match.group("text"),
                    reference, number)


def _parse_t_line(line: str, number: int, text: str, file: str, doc: BratDocument) -> None:
    match = _T_LINE.match(line)
    if not match:
        doc.invalid_t_lines += 1
        doc.problems.append(Problem(
            "malformed_line", file, number,
            f"expected 'T<id><TAB><label> <start> <end>[;<start> <end>...]<TAB><text>', got {line[:80]!r}"))
        return
    entity_id = match.group("id")
    if any(len(number) > MAX_OFFSET_DIGITS for number in re.split(r"[ ;]", match.group("offsets"))):
        doc.invalid_t_lines += 1
        doc.problems.append(Problem("offset_out_of_range", file, number,
                                    f"{entity_id}: an offset of more than {MAX_OFFSET_DIGITS} digits"))
        return
    fragments = _parse_offsets(match.group("offsets"))
    problem = _check_fragments(fragments, text, file, number, entity_id)
    if problem:
        doc.invalid_t_lines += 1
        doc.problems.append(problem)
        return
    surface = match.group("surface")
    actual = " ".join(text[start:end] for start, end in fragments)
    if surface is not None and surface != actual:
        doc.problems.append(Problem(
            "surface_mismatch", file, number,
            f"{entity_id}: .ann says {surface[:60]!r} but the text at the offsets is "
            f"{actual[:60]!r}; the offsets were used"))
    earlier = next((entity for entity in doc.entities if entity.id == entity_id), None)
    if earlier is not None:
        doc.problems.append(Problem(
            "duplicate_id", file, number,
            f"{entity_id} is already the id of the entity on line {earlier.line}; both entities were kept (a "
            f"note on {entity_id} cannot tell them apart)"))
    doc.entities.append(BratEntity(entity_id, match.group("label"), fragments, number))


def read_brat_document(txt_path: Path, doc_id: str) -> BratDocument:
    """Read ``NAME.txt`` and, when it exists, the ``NAME.ann`` beside it."""
    problems: List[Problem] = []
    text = read_text_exact(txt_path, problems)
    ann_path = txt_path.with_suffix(".ann")
    if ann_path.is_file():
        ann_text = decode_exact(ann_path.read_bytes(), _printable(ann_path), problems)
        doc = parse_ann(ann_text, text, _printable(ann_path))
    else:
        if ann_path.exists():
            problems.append(Problem("unreadable", _printable(ann_path), None,
                                    "the .ann is not a file (a folder?); the document was read without annotations"))
        doc = BratDocument(doc_id=doc_id, text=text, has_ann=False)
    doc.doc_id = doc_id
    doc.problems[:0] = problems
    return doc


def find_brat_files(folder: Path) -> Tuple[List[Tuple[Path, str]], List[Problem]]:
    """List the ``.txt`` files under ``folder`` (recursively) with their document ids.

    The document id is the path relative to ``folder`` without extension, with ``/`` as the
    separator. An ``.ann`` file without its ``.txt`` is returned as a ``missing_txt`` problem.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"BRAT folder not found: {folder} (expected a folder of NAME.txt + NAME.ann files)")
    found = sorted(folder.rglob("*.txt"))
    txts = [txt for txt in found if txt.is_file()]
    problems = [
        Problem("missing_txt", str(ann), None, "an .ann file without the .txt it annotates; it was skipped")
        for ann in sorted(folder.rglob("*.ann"))
        if not ann.with_suffix(".txt").is_file()
    ]
    problems += [Problem("unreadable", _printable(txt), None, "named .txt but not a file (a folder?); it was skipped")
                 for txt in found if not txt.is_file()]
    files = []
    for txt in txts:
        doc_id = txt.relative_to(folder).with_suffix("").as_posix()
        printable = _printable(doc_id)
        if printable != doc_id:
            problems.append(Problem("file_name", _printable(txt), None,
                                    f"the file name is not UTF-8; its doc_id is {printable!r}"))
        files.append((txt, printable))
    return files, problems


def _printable(path: Any) -> str:
    """A path as text with the bytes of a non-UTF-8 file name shown as U+FFFD."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_brat_folder(folder: Path) -> Tuple[List[BratDocument], List[Problem]]:
    """Read every document of a BRAT folder; returns the documents and folder-level problems."""
    files, problems = find_brat_files(folder)
    return [read_brat_document(path, doc_id) for path, doc_id in files], problems


# --------------------------------------------------------------------------- writing


def split_at_line_breaks(text: str, fragment: Fragment) -> List[Fragment]:
    """Split a fragment where it crosses line breaks, as BRAT itself does.

    A BRAT ``.ann`` line cannot hold a newline in its surface text, so an entity that spans
    lines is written as a discontinuous entity whose gaps are the line breaks; the reader
    joins such whitespace-only gaps back into one span.
    """
    start, end = fragment
    pieces = []
    for match in re.finditer(r"[^\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85]+", text[start:end]):
        pieces.append((start + match.start(), start + match.end()))
    return pieces


def format_t_line(entity_id: str, label: str, fragments: Iterable[Fragment], text: str) -> str:
    """One ``T`` line; fragments that cross line breaks are split there."""
    pieces = [piece for fragment in fragments for piece in split_at_line_breaks(text, fragment)]
    offsets = ";".join(f"{start} {end}" for start, end in pieces)
    surface = " ".join(text[start:end] for start, end in pieces)
    return f"{entity_id}\t{label} {offsets}\t{surface}"


def format_note_line(note: BratNote) -> str:
    """One ``#`` or ``N`` line, as :func:`parse_ann` reads it back."""
    head = f"{note.id}\t{note.type} {note.target}"
    if note.kind == NORMALIZATION:
        head += f" {note.reference}"
    return head if note.text is None else f"{head}\t{note.text}"


def write_brat_document(
    folder: Path, doc_id: str, text: str, entities: Sequence[Tuple[str, str, Sequence[Fragment]]],
    notes: Sequence[BratNote] = (), overwrite: bool = False,
) -> Tuple[Path, Path]:
    """Write ``doc_id.txt`` (the text byte for byte as UTF-8) and ``doc_id.ann`` under ``folder``.

    ``entities`` are ``(id, label, fragments)`` triples; empty ids are numbered ``T1``, ``T2``...
    ``notes`` (``#`` and ``N`` lines) follow the ``T`` lines. Never through a symlink, and over an existing
    file only with ``overwrite`` (:func:`~.safe_files.write_new_file`; refusals raise
    :class:`~.safe_files.UnsafeOutput`, an ``OSError``).
    """
    from .safe_files import write_new_file

    txt_path = Path(folder) / f"{doc_id}.txt"
    lines = []
    for number, (entity_id, label, fragments) in enumerate(entities, start=1):
        lines.append(format_t_line(entity_id or f"T{number}", label, fragments, text))
    lines.extend(format_note_line(note) for note in notes)
    ann_path = txt_path.with_suffix(".ann")
    write_new_file(txt_path, text.encode("utf-8"), root=Path(folder), overwrite=overwrite)
    write_new_file(ann_path, "".join(line + "\n" for line in lines).encode("utf-8"), root=Path(folder),
                   overwrite=overwrite)
    return txt_path, ann_path
