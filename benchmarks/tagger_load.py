"""Load time of a paper-size tagger: this package's safe format (safetensors + JSON) against Flair's .pt (pickle).

    python benchmarks/tagger_load.py [--lm-hidden 2048] [--repeats 5] [--folder /tmp/tagger-load]

Builds a random tagger shaped like the Clinical Flair paper's (forward and backward character LMs, hidden
2048, character embeddings 100; BiLSTM 256 + CRF over their 4,096-dimensional embeddings; MEDDOCAN's 22
labels, BIOES), saves it once in each format, then loads each file ``--repeats`` times, alternating,
from the page cache (one untimed load of each first). Prints file sizes, median load times and their ratio,
and checks that both loads give identical weights.
"""
import argparse
import statistics
import time
from pathlib import Path

import torch

LABELS = [f"LABEL_{i}" for i in range(22)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lm-hidden", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/tagger-load"))
    args = parser.parse_args()
    from flair.models import SequenceTagger

    from spacy_clinical_flair.models.build import build_language_model, build_tagger, character_dictionary
    from spacy_clinical_flair.models.flair_logging import quiet_flair
    from spacy_clinical_flair.models.tagger_format import load_tagger_file, save_tagger

    torch.manual_seed(0)
    dictionary = character_dictionary("abcdefghijklmnñopqrstuvwxyzáéíóúü" * 2)
    lms = [build_language_model(dictionary, forward, hidden_size=args.lm_hidden) for forward in (True, False)]
    with quiet_flair():
        tagger = build_tagger(LABELS, lms, hidden_size=256)
    args.folder.mkdir(parents=True, exist_ok=True)
    pt_file = args.folder / "tagger.pt"
    tagger.save(pt_file)
    safe_file = save_tagger(tagger, args.folder / "tagger.safetensors")
    loaders = {"Flair .pt (pickle)": lambda: SequenceTagger.load(pt_file),
               "safetensors + JSON": lambda: load_tagger_file(safe_file)}
    times = {name: [] for name in loaders}
    loaded = {}
    with quiet_flair():
        for name, load in loaders.items():
            loaded[name] = load()  # warm the page cache
        for _ in range(args.repeats):
            for name, load in loaders.items():
                start = time.perf_counter()
                load()
                times[name].append(time.perf_counter() - start)
    states = [model.state_dict() for model in loaded.values()]
    assert states[0].keys() == states[1].keys() and all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    parameters = sum(p.numel() for p in tagger.parameters())
    print(f"tagger: {parameters / 1e6:.1f} M parameters (LM hidden {args.lm_hidden}), torch threads "
          f"{torch.get_num_threads()}, {args.repeats} loads each\n")
    print("| format | file MB | median load s | min–max s |\n|---|---|---|---|")
    for name, file in zip(loaders, (pt_file, safe_file)):
        print(f"| {name} | {file.stat().st_size / 1e6:.1f} | {statistics.median(times[name]):.3f} | "
              f"{min(times[name]):.3f}–{max(times[name]):.3f} |")
    names = list(loaders)
    print(f"\nsafe / pickle median load time: "
          f"{statistics.median(times[names[1]]) / statistics.median(times[names[0]]):.2f}")


if __name__ == "__main__":
    main()
