"""Write the model card of a pipeline into its meta.json before ``spacy package``, which turns the meta into
the package's README: the card's fixed text (description, licence, sources, intended use, weaknesses; a JSON
file such as ``configs/es_clinical_flair.meta.json``) plus what was measured on test in ``performance`` and, as a
per-label table, in ``notes``: for a heads pipeline what ``benchmarks/heads_eval.py`` wrote (each head's strict
P/R/F1, the speed line), for a one-head pipeline the output of ``python -m spacy evaluate``.

    python scripts/model_card.py PIPELINE_DIR CARD.json HEADS_EVAL.json
    python scripts/model_card.py PIPELINE_DIR CARD.json TEST_EVALUATE.json --split "MEDDOCAN test, 250 documents"
"""
import argparse
import json
from pathlib import Path
from typing import Any, Dict, List


def label_rows(scores: Dict[str, Any], split: str) -> List[str]:
    """Markdown rows of a one-head pipeline's ``spacy evaluate`` scores: its labels, best F1 first, and the micro
    average over ``split``."""
    rows = ["| label | P | R | F1 |", "|---|---|---|---|"]
    for label, s in sorted(scores["ents_per_type"].items(), key=lambda item: -item[1]["f"]):
        rows.append(f"| `{label}` | {s['p']:.3f} | {s['r']:.3f} | {s['f']:.3f} |")
    rows.append(f"| **all** ({split}) | {scores['ents_p']:.4f} | {scores['ents_r']:.4f} | **{scores['ents_f']:.4f}** |")
    return rows


def score_rows(heads: Dict[str, Any]) -> List[str]:
    """Markdown rows: each head's labels (best F1 first) and its micro average."""
    rows = ["| head | label | P | R | F1 |", "|---|---|---|---|---|"]
    for head, result in heads.items():
        scores = result["scores"]
        per_type = sorted(scores["ents_per_type"].items(), key=lambda item: -item[1]["f"])
        for label, s in per_type:
            rows.append(f"| {head} | `{label}` | {s['p']:.3f} | {s['r']:.3f} | {s['f']:.3f} |")
        rows.append(f"| {head} | **all** ({result['documents']} documents) | {scores['ents_p']:.3f} | "
                    f"{scores['ents_r']:.3f} | **{scores['ents_f']:.3f}** |")
    return rows


def speed_line(speed: Dict[str, Any], heads: Dict[str, Any]) -> str:
    """The speed sentence, naming the head whose test split the speed was measured on (heads_eval's --speed-data)."""
    singles = sum(speed["single_seconds"].values())
    corpus = next((f"the {head} head's test split" for head, result in heads.items()
                   if result.get("gold") == speed.get("data")), "a test split")
    return (f"Speed ({speed['cpu']}, one process): {speed['documents']} documents of {corpus} in "
            f"{speed['heads_seconds']:.1f} s with this pipeline, {singles:.1f} s with the three single-type "
            f"pipelines one after another ({singles / speed['heads_seconds']:.2f}x): the LMs run once per document.")


def card_meta(card: Dict[str, Any], measured: Dict[str, Any], split: str = "test") -> Dict[str, Any]:
    """The meta keys the card sets: the card's own, ``performance`` and ``notes`` with the measured tables
    (``measured``: heads_eval's output, or ``spacy evaluate``'s for a one-head pipeline, whose ``split`` names
    what it was scored on)."""
    if "heads" not in measured:
        performance = {key: measured[key] for key in ("ents_p", "ents_r", "ents_f", "ents_per_type")}
        tables = ["\n".join(label_rows(measured, split))]
    else:
        heads = measured["heads"]
        performance = {f"{head}_ents_{key}": result["scores"][f"ents_{key}"]
                       for head, result in heads.items() for key in ("p", "r", "f")}
        tables = ["\n".join(score_rows(heads))]
        if measured.get("speed"):
            tables.append(speed_line(measured["speed"], heads))
    notes = [card.get("notes", "").rstrip(), "### Test scores per label (strict)", *tables]
    return {**card, "performance": performance, "notes": "\n\n".join(part for part in notes if part) + "\n"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("card", type=Path, help="JSON with the card's fixed meta keys")
    parser.add_argument("measured", type=Path, help="benchmarks/heads_eval.py --output, or `spacy evaluate --output`")
    parser.add_argument("--split", default="test", help="what a `spacy evaluate` file scored, for the table")
    args = parser.parse_args()
    meta_path = args.pipeline / "meta.json"
    if not meta_path.is_file():
        raise SystemExit(f"{args.pipeline} is not a saved pipeline (no meta.json); assemble it first")
    for path in (args.card, args.measured):
        if not path.is_file():
            raise SystemExit(f"{path} does not exist")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    card = json.loads(args.card.read_text(encoding="utf-8"))
    measured = json.loads(args.measured.read_text(encoding="utf-8"))
    if "heads" not in measured and "ents_per_type" not in measured:
        raise SystemExit(f"{args.measured} holds neither heads_eval's heads nor spacy evaluate's ents_per_type")
    meta.update(card_meta(card, measured, args.split))
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"model card of {args.pipeline}: {', '.join(sorted(meta['performance']))}")


if __name__ == "__main__":
    main()
