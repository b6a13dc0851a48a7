"""Build a tiny BERT (2 layers, width 32) with a WordPiece vocabulary trained on a folder's ``.txt`` files, saved
as a local Hugging Face model folder: what the tests train the transformer config on, and what lets the
project's ``transformer`` workflow run offline on the bundled sample. Its accuracy means nothing; it exists to
exercise the workflow.

    python scripts/tiny_transformer.py OUTPUT_FOLDER [--texts assets/sample/train]
    python -m spacy project run transformer . --vars.transformer_model OUTPUT_FOLDER --vars.transformer_minutes 1
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable


def build_tiny_transformer(folder: Path, texts: Iterable[str], seed: int = 0) -> Path:
    """Write a randomly initialised 2-layer BERT and its WordPiece tokenizer (trained on ``texts``) to ``folder``."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=False)
    wordpiece.train_from_iterator(list(texts), vocab_size=1000, min_frequency=1)
    wordpiece.save_model(str(folder))
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False).save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=wordpiece.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="folder to write the model and tokenizer to")
    parser.add_argument("--texts", type=Path, default=Path("assets/sample/train"),
                        help="folder whose .txt files train the WordPiece vocabulary (default: assets/sample/train)")
    args = parser.parse_args()
    files = sorted(args.texts.rglob("*.txt"))
    if not files:
        parser.error(f"no .txt files under {args.texts}")
    build_tiny_transformer(args.output, (path.read_text(encoding="utf-8") for path in files))
    print(f"tiny transformer written to {args.output} (vocabulary from {len(files)} files)")


if __name__ == "__main__":
    main()
