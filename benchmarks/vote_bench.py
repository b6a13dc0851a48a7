"""A majority vote of trained systems on one gold split, against each of them, with the paired bootstrap.

Each system is a ``.spacy`` file of its predictions on the gold documents in their order (``predict_split.py``
writes one from a trained pipeline) or their entities as kept in ``results/`` (``.ents.json.gz``,
``prediction_entities.py``). The vote keeps an entity when at least --min-votes systems (default: a
strict majority) predicted exactly it (same characters, same label), with
:func:`spacy_clinical_flair.pipeline.ensemble.vote` — the rule of ``clinical_flair_vote``, here on character
offsets so that systems with different tokenizers can vote. OUT/vote.spacy holds the voted predictions,
OUT/vote.json the vote's strict P/R/F1 and its paired bootstrap against every member.

    python benchmarks/vote_bench.py GOLD.spacy OUT NAME=PREDICTIONS.spacy NAME=PREDICTIONS.spacy [...] [--min-votes K]

The members' training budgets add up: a vote of three 10-minute systems cost 30 minutes of training.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Sequence

import srsly
from accuracy_compare import read_predictions
from spacy.tokens import Doc, DocBin

from spacy_clinical_flair.corpus.docs import read_docbin
from spacy_clinical_flair.evaluate.significance import compare_docs, strict_scores
from spacy_clinical_flair.pipeline.ensemble import Prediction, vote


def char_predictions(doc: Doc) -> List[Prediction]:
    """A Doc's entities as (start_char, end_char, label, 1.0)."""
    return [(ent.start_char, ent.end_char, ent.label_, 1.0) for ent in doc.ents]


def voted_doc(template: Doc, members: Sequence[Doc], min_votes: int | None) -> tuple[Doc, int]:
    """A copy of ``template`` whose entities are the members' vote; also how many winners did not fit its tokens."""
    doc = Doc(template.vocab, words=[t.text for t in template], spaces=[bool(t.whitespace_) for t in template])
    spans, unaligned = [], 0
    for start, end, label, _ in vote([char_predictions(member) for member in members], min_votes):
        span = doc.char_span(start, end, label=label)
        if span is None:
            unaligned += 1
        else:
            spans.append(span)
    doc.ents = spans
    return doc, unaligned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gold", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("systems", nargs="+", help="NAME=PREDICTIONS.spacy (or .ents.json.gz), two or more")
    parser.add_argument("--min-votes", type=int, default=None, help="default: a strict majority")
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    named = dict(item.split("=", 1) for item in args.systems)
    if len(named) < 2:
        parser.error("name two systems or more, as NAME=PREDICTIONS.spacy")
    args.out.mkdir(parents=True, exist_ok=True)
    gold = list(read_docbin(args.gold, "es"))
    member_docs = {name: read_predictions(Path(path), gold) for name, path in named.items()}
    voted = []
    unaligned = 0
    for i, doc in enumerate(gold):
        v, missed = voted_doc(doc, [docs[i] for docs in member_docs.values()], args.min_votes)
        voted.append(v)
        unaligned += missed
    DocBin(docs=voted, store_user_data=False).to_disk(args.out / "vote.spacy")
    result: Dict[str, object] = {"gold": str(args.gold), "systems": named, "min_votes": args.min_votes,
                                 "unaligned_winners": unaligned, "vote": strict_scores(gold, voted), "against": {}}
    print(f"vote of {', '.join(named)}: F1 {result['vote']['f']:.4f} (P {result['vote']['p']:.4f} "
          f"R {result['vote']['r']:.4f}); {unaligned} winners not on the gold tokens")
    for name, docs in member_docs.items():
        boot = compare_docs(gold, voted, docs, args.samples)
        result["against"][name] = boot.to_dict()
        print("  " + boot.summary("vote", name))
    srsly.write_json(args.out / "vote.json", result)


if __name__ == "__main__":
    main()
