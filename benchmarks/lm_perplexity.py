"""Per-character perplexity of character LMs on a prepared LM corpus's validation (or test) text, computed the
way Flair's LanguageModelTrainer computes it after each split (same batching, sequence length 250), so that a
base LM's figure before any training stands beside the figures in a run's loss.txt.

    python benchmarks/lm_perplexity.py CORPUS_FOLDER LM [LM ...] [--part valid|test] [--batch 32]

CORPUS_FOLDER is what train-lm wrote (OUT/forward/corpus: train/, valid.txt, test.txt); each LM is a
.safetensors file of this package or Flair's .pt. The text is read in the LM's own direction.
"""
import argparse
import math
import time
from pathlib import Path


def perplexity(lm_path: Path, corpus_folder: Path, part: str, batch: int, sequence_length: int = 250) -> float:
    """exp(mean cross-entropy per character) of ``lm_path`` on ``corpus_folder/{part}.txt``."""
    from flair.trainers.language_model_trainer import LanguageModelTrainer, TextCorpus

    from spacy_clinical_flair.training.lm import load_base_language_model

    lm = load_base_language_model(str(lm_path))
    corpus = TextCorpus(corpus_folder, lm.dictionary, forward=lm.is_forward_lm, character_level=True,
                        random_case_flip=False)  # Flair flips 2% of documents at random, validation too
    trainer = LanguageModelTrainer(lm, corpus)
    data = trainer._batchify(corpus.valid if part == "valid" else corpus.test, batch)
    return math.exp(trainer.evaluate(data, batch, sequence_length))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("lms", type=Path, nargs="+")
    parser.add_argument("--part", choices=["valid", "test"], default="valid")
    parser.add_argument("--batch", type=int, default=32, help="mini_batch_size of the training run (32 here)")
    args = parser.parse_args()
    print(f"| LM | {args.part} perplexity | seconds |\n|---|---|---|")
    for lm_path in args.lms:
        start = time.perf_counter()
        value = perplexity(lm_path, args.corpus, args.part, args.batch)
        print(f"| {lm_path} | {value:.4f} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
