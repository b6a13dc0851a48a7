"""De-identifying a folder of notes: for each ``NAME.txt``, ``NAME.txt`` (the de-identified text) and
``NAME.json`` (its mapping report) under the output folder, at the same relative path; optionally one mapping
file for the whole run (every original value and what replaced it, per scope), which the user keeps safe."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import srsly

from ..corpus.safe_files import write_atomic, write_new_file
from .component import DEID_EXTENSION, PATIENT_EXTENSION, deidentify_doc
from .deidentify import Deidentifier, DeidResult


@dataclass
class FolderSummary:
    """What a folder run did: notes written, entities replaced per operator, notes skipped with the reason."""

    notes: int = 0
    operators: Dict[str, int] = field(default_factory=dict)
    skipped: List[Dict[str, str]] = field(default_factory=list)
    patients: int = 0

    def lines(self) -> List[str]:
        done = ", ".join(f"{count} {operator}" for operator, count in sorted(self.operators.items())) or "none"
        lines = [f"{self.notes} notes de-identified ({self.patients} patients); entities: {done}"]
        lines += [f"skipped {item['file']}: {item['problem']}" for item in self.skipped]
        return lines


def note_files(folder: Path) -> List[Path]:
    """The ``.txt`` files under ``folder`` (recursive, sorted); an error when there is none."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: give a folder of .txt notes")
    files = sorted(path for path in folder.rglob("*.txt") if path.is_file())
    if not files:
        raise ValueError(f"{folder} holds no .txt file")
    return files


def patient_of(path: Path, pattern: Optional[re.Pattern]) -> Optional[str]:
    """The patient id in a file name: the first group of ``pattern`` (or the whole match) searched in the
    file's stem; ``None`` without a pattern or a match."""
    if pattern is None:
        return None
    match = pattern.search(path.stem)
    if match is None:
        return None
    return match.group(1) if pattern.groups else match.group()


def check_output(input_folder: Path, output: Path) -> None:
    """Refuse an output folder that is the input folder or inside it (the originals must stay apart)."""
    inside = output.resolve() == input_folder.resolve() or input_folder.resolve() in output.resolve().parents
    if inside:
        raise ValueError(f"the output folder {output} is inside the input folder {input_folder}: write the "
                         "de-identified notes somewhere else")


def deidentify_folder(nlp, deidentifier: Optional[Deidentifier], input_folder: Path, output: Path,
                      patient_pattern: Optional[str] = None, mapping: Optional[Path] = None,
                      progress: bool = False) -> FolderSummary:
    """De-identify every note of ``input_folder`` with ``nlp``'s entities into ``output`` (new files only: an
    existing output file is an error). ``patient_pattern``: a regular expression whose first group, searched
    in a file's stem, is the patient id (notes of one patient share surrogates and the date shift).
    ``deidentifier`` ``None``: the pipeline's own ``clinical_flair_deidentify`` component decides."""
    if deidentifier is None and not any(factory == "clinical_flair_deidentify" for factory in
                                        (nlp.get_pipe_meta(name).factory for name in nlp.pipe_names)):
        raise ValueError("the pipeline has no clinical_flair_deidentify component: give a Deidentifier")
    check_output(input_folder, output)
    files = note_files(input_folder)
    pattern = re.compile(patient_pattern) if patient_pattern else None
    summary, records = FolderSummary(), MappingRecords()
    for path, result in _results(nlp, deidentifier, input_folder, files, pattern, summary, progress):
        relative = path.relative_to(input_folder)
        write_new_file(output / relative, result.text.encode("utf-8"), root=output)
        report = {"file": relative.as_posix(), **result.report()}
        write_new_file(output / relative.with_suffix(".json"),
                       json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8"), root=output)
        summary.notes += 1
        for replacement in result.replacements:
            summary.operators[replacement.operator] = summary.operators.get(replacement.operator, 0) + 1
        records.add(result)
    summary.patients = len(records.scopes)
    if mapping is not None:
        key = deidentifier.key if deidentifier is not None else _pipeline_deidentifier(nlp).key
        records.write(mapping, key.given)
    return summary


def _results(nlp, deidentifier: Optional[Deidentifier], root: Path, files: List[Path], pattern: Optional[re.Pattern],
             summary: FolderSummary, progress: bool) -> Iterator[Tuple[Path, DeidResult]]:
    from tqdm import tqdm

    for path in tqdm(files, desc="de-identifying", unit="note", disable=not progress):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            summary.skipped.append({"file": path.relative_to(root).as_posix(), "problem": f"unreadable: {err}"})
            continue
        doc = nlp.make_doc(text)
        doc._.set(PATIENT_EXTENSION, patient_of(path, pattern))
        doc = nlp(doc)
        yield path, deidentify_doc(deidentifier, doc) if deidentifier is not None else doc._.get(DEID_EXTENSION)


def _pipeline_deidentifier(nlp) -> Deidentifier:
    name = next(name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == "clinical_flair_deidentify")
    return nlp.get_pipe(name).deidentifier


@dataclass
class MappingRecords:
    """Every value replaced in a run, per scope: ``{scope: {"date_shift_days": n, "values": {label:
    {original: replacement}}}}``."""

    scopes: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def add(self, result: DeidResult) -> None:
        scope = self.scopes.setdefault(result.scope, {"date_shift_days": None, "values": {}})
        if result.date_shift_days is not None:
            scope["date_shift_days"] = result.date_shift_days
        for replacement in result.replacements:
            scope["values"].setdefault(replacement.label, {})[replacement.text] = replacement.new_text

    def write(self, path: Path, key_given: bool) -> None:
        """Write the records to ``path`` (merged into the file's records when it exists), atomically."""
        path = Path(path)
        scopes: Dict[str, Any] = {}
        if path.exists():
            try:
                scopes = json.loads(path.read_text(encoding="utf-8")).get("scopes", {})
            except (OSError, ValueError, AttributeError) as err:
                raise ValueError(f"the mapping file {path} exists but is not a mapping this command wrote: {err}") \
                    from err
        for name, scope in self.scopes.items():
            kept = scopes.setdefault(name, {"date_shift_days": None, "values": {}})
            kept["date_shift_days"] = scope["date_shift_days"] or kept.get("date_shift_days")
            for label, values in scope["values"].items():
                kept["values"].setdefault(label, {}).update(values)
        data = {"key_given": key_given, "scopes": scopes}
        write_atomic(path, lambda tmp: srsly.write_json(tmp, data))
