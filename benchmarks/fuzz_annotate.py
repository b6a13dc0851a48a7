"""Fuzz annotate's inputs: odd .txt folders, odd JSONL, odd .spacy files, run through the CLI; outcomes counted.

    python benchmarks/fuzz_annotate.py [--cases 300] [--seed 0]

Each case builds one input at random and runs ``annotate`` on it (a rule-based pipeline, since the inputs are
what is under test; a random output format), through the CLI as a user would:
- a folder of ``*.txt`` entries: plain notes, empty ones, Latin-1 bytes, a UTF-8 BOM, names that are not UTF-8,
  folders and FIFOs named ``*.txt``, dangling symlinks, symlinks to notes, nested folders, notes over --max-chars;
- a JSONL file: objects, arrays, numbers, null, ``text`` of the wrong type, missing fields, ids of any JSON type,
  line ends ``\\n``/``\\r\\n``, bare ``\\r`` and U+2028 inside lines, blank lines, broken JSON, invalid UTF-8, a BOM;
- a ``.spacy`` file: Docs whose stored user_data is a dict, a list, a number or garbage bytes, doc ids of any
  type, or the whole file truncated.
A traceback is an exception the CLI did not turn into a message (anything but a clean exit 0/1/2). For every
run that exits 0 it also checks that the summary's document count equals the documents written. Prints the
counts.
"""
import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WORDS = ["Paciente", "con", "fiebre", "y", "tos", "niega", "dolor", "torácico", "años", "ñ", "\u2028", "\r", "\t"]


def note(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))


def txt_folder(rng: random.Random, folder: Path) -> None:
    folder.mkdir()
    for number in range(rng.randint(0, 12)):
        kind = rng.choice(["plain", "plain", "empty", "latin1", "bom", "badname", "dir", "fifo", "dangling",
                           "link", "nested", "long"])
        name = folder / f"n{number}.txt"
        if kind == "plain":
            name.write_text(note(rng), encoding="utf-8")
        elif kind == "empty":
            name.write_bytes(rng.choice([b"", b"  \n", b"\r\n"]))
        elif kind == "latin1":
            name.write_bytes("años con fiebre".encode("latin-1"))
        elif kind == "bom":
            name.write_bytes("\ufeff".encode("utf-8") + note(rng).encode("utf-8"))
        elif kind == "badname":
            with open(os.path.join(os.fsencode(folder), b"caf\xe9%d.txt" % number), "wb") as handle:
                handle.write(note(rng).encode("utf-8"))
        elif kind == "dir":
            name.mkdir()
        elif kind == "fifo":
            os.mkfifo(name)
        elif kind == "dangling":
            name.symlink_to(folder.parent / f"gone{number}.txt")
        elif kind == "link":
            target = folder.parent / f"target{number}.txt"
            target.write_text(note(rng), encoding="utf-8")
            name.symlink_to(target)
        elif kind == "nested":
            (folder / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
            (folder / "sub" / "deeper" / f"n{number}.txt").write_text(note(rng), encoding="utf-8")
        else:
            name.write_text("fiebre " * 800, encoding="utf-8")


def jsonl_file(rng: random.Random, path: Path) -> None:
    values = [None, 1, 2.5, True, [], {}, "x", "", ["a"], {"a": 1}]
    lines = []
    for number in range(rng.randint(0, 12)):
        kind = rng.choice(["ok", "ok", "ok", "array", "number", "null", "wrongtext", "noid", "oddid", "blank",
                           "broken", "badutf8", "crinside", "lsep"])
        record = {"id": f"d{number}", "text": note(rng)}
        if kind == "ok":
            line = json.dumps(record, ensure_ascii=rng.random() < 0.5).encode("utf-8")
        elif kind == "array":
            line = b'["a", "b"]'
        elif kind == "number":
            line = b"42"
        elif kind == "null":
            line = b"null"
        elif kind == "wrongtext":
            line = json.dumps({"id": f"d{number}", "text": rng.choice(values)}).encode("utf-8")
        elif kind == "noid":
            line = json.dumps({"text": note(rng)}).encode("utf-8")
        elif kind == "oddid":
            line = json.dumps({"id": rng.choice(values), "text": note(rng)}).encode("utf-8")
        elif kind == "blank":
            line = rng.choice([b"", b"   ", b"\t"])
        elif kind == "broken":
            line = json.dumps(record).encode("utf-8")[: rng.randint(1, 10)]
        elif kind == "badutf8":
            line = b'{"id": "x", "text": "\xff\xfe"}'
        elif kind == "crinside":
            line = b'{"id": "cr%d",\r "text": "fiebre"}' % number
        else:
            line = json.dumps({"id": f"ls{number}", "text": "fiebre\u2028tos"}, ensure_ascii=False).encode("utf-8")
        lines.append(line)
    data = b"".join(line + rng.choice([b"\n", b"\r\n"]) for line in lines)
    if rng.random() < 0.2:
        data = "\ufeff".encode("utf-8") + data
    path.write_bytes(data)


def spacy_file(rng: random.Random, path: Path) -> None:
    import spacy
    import srsly
    from spacy.tokens import DocBin

    nlp = spacy.blank("es")
    docs = [nlp(note(rng)) for _ in range(rng.randint(1, 8))]
    message = srsly.msgpack_loads(zlib.decompress(DocBin(store_user_data=True, docs=docs).to_bytes()))
    user_data = []
    for _ in docs:
        kind = rng.choice(["dict", "dict", "list", "number", "garbage", "oddid"])
        if kind == "dict":
            user_data.append(srsly.msgpack_dumps({"doc_id": f"d{rng.randint(0, 5)}"}))
        elif kind == "list":
            user_data.append(srsly.msgpack_dumps([1, 2]))
        elif kind == "number":
            user_data.append(srsly.msgpack_dumps(7))
        elif kind == "garbage":
            user_data.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 8))))
        else:
            user_data.append(srsly.msgpack_dumps({"doc_id": rng.choice([None, 3, [1], {"a": 1}, ""])}))
    message["user_data"] = user_data
    data = zlib.compress(srsly.msgpack_dumps(message))
    if rng.random() < 0.15:
        data = data[: rng.randint(0, len(data))]
    path.write_bytes(data)


def written_ids(output: Path, output_format: str) -> list:
    """Every document id written, one per document (BRAT: one per .txt)."""
    if output_format == "jsonl":
        return [json.loads(line)["id"] for shard in sorted(output.glob("shard-*.jsonl"))
                for line in shard.read_text(encoding="utf-8").splitlines()]
    return [p.relative_to(output).as_posix() for p in output.glob("shard-*/**/*.txt")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import spacy
    from typer.testing import CliRunner

    from spacy_clinical_flair.cli import app

    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="fuzz-annotate-"))
    pipeline = root / "rules"
    nlp = spacy.blank("es")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "SINTOMA", "pattern": "fiebre"}])
    nlp.to_disk(pipeline)
    outcomes, tracebacks, mismatched, started = Counter(), [], 0, time.perf_counter()
    runner = CliRunner()
    for case in range(args.cases):
        work = root / f"case{case}"
        work.mkdir()
        kind = rng.choice(["txt", "jsonl", "spacy"])
        source = {"txt": work / "notes", "jsonl": work / "in.jsonl", "spacy": work / "in.spacy"}[kind]
        {"txt": txt_folder, "jsonl": jsonl_file, "spacy": spacy_file}[kind](rng, source)
        output_format = rng.choice(["jsonl", "brat"])
        result = runner.invoke(app, ["annotate", str(pipeline), str(source), str(work / "out"), "--format",
                                     output_format, "--max-chars", "2000", "--shard-size", str(rng.randint(1, 5)),
                                     "--no-progress"])
        exception = result.exception if not isinstance(result.exception, SystemExit) else None
        if exception is not None:
            tracebacks.append(f"case {case} ({kind}): {type(exception).__name__}: {exception}")
            outcomes[f"{kind}: traceback"] += 1
        else:
            outcomes[f"{kind}: exit {result.exit_code}"] += 1
            if result.exit_code == 0:  # the summary's count is what was written, no more, no less
                said = int(re.search(r"documents annotated (\d+)", result.output).group(1))
                mismatched += said != len(written_ids(work / "out", output_format))
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    print(f"{args.cases} cases, seed {args.seed}, {time.perf_counter() - started:.0f} s")
    print("| input | outcome | cases |\n|---|---|---|")
    for key, count in sorted(outcomes.items()):
        kind, outcome = key.split(": ")
        print(f"| {kind} | {outcome} | {count} |")
    print(f"tracebacks: {len(tracebacks)}; runs whose summary count differs from the documents written: {mismatched}")
    for line in tracebacks[:20]:
        print("  " + line)


if __name__ == "__main__":
    main()
