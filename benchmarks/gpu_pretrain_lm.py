"""Pretrain one character LM on a GPU machine that has PyTorch and safetensors but neither Flair nor spaCy.

The lent GPU machines (see benchmarks/pretrain.md) have no package registry, so this script carries its own copy
of what Flair's ``LanguageModelTrainer`` does for a character LM: the same model (Flair's ``LanguageModel``:
embedding, dropout, LSTM, dropout, decoder; the same parameter names), the same text handling (one document
per line, each followed by the ``\\n`` document delimiter, 1% of documents lower-cased and 1% upper-cased in
each pass, the whole text reversed for a backward LM, unknown characters mapped to ``<unk>``), the same
truncated backpropagation (hidden state carried between chunks of ``--seq`` characters over ``--batch``
parallel streams), SGD with gradient clipping at 0.25 and the learning rate annealed on a validation plateau.
Differences, for speed on a GPU: all training documents are shuffled together in each pass (Flair shuffles
within each 1 M-character split and the split order), validation runs every ``--eval-chars`` characters
rather than after each split file, and the validation text is never case-flipped.

The output is the package's LM file format (``spacy_clinical_flair.models.lm_io``: safetensors with the JSON
config in the header, float16), written atomically at every new best validation loss, so a run stopped at
any moment leaves its best model. ``--init`` continues an LM file (its dictionary, size and weights; SGD
without momentum has no other state, so this is a full resume given the learning rate); ``--hidden`` with
``--dictionary-from`` starts from scratch with that file's character dictionary.

    python benchmarks/gpu_pretrain_lm.py CORPUS OUT.safetensors --init LM.safetensors --lr 5 --minutes 7
    python benchmarks/gpu_pretrain_lm.py CORPUS OUT.safetensors --dictionary-from LM.safetensors \\
        --hidden 1024 --direction backward --minutes 7

CORPUS is a prepared LM corpus (what ``train-lm`` writes: ``train/train_split_*``, ``valid.txt``). The log
(``--log``, default OUT with ``.loss.txt``) has one Flair ``loss.txt`` line per validation, so
``benchmarks/lm_curve.py`` reads it (with ``--split-chars`` = ``--eval-chars``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

#: The package's LM file format (spacy_clinical_flair.models.lm_io; a test keeps these equal).
FORMAT_KEY = "clinical_flair_format"
FORMAT = "clinical_flair.language_model.v1"
CONFIG_KEY = "clinical_flair_config"
CLIP = 0.25  # Flair's LanguageModelTrainer default


class CharLM(nn.Module):
    """Flair's ``LanguageModel`` (one recurrent type: LSTM; no projection), with its parameter names."""

    def __init__(self, n_chars: int, hidden_size: int, nlayers: int, embedding_size: int, dropout: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(n_chars, embedding_size)
        self.rnn = nn.LSTM(embedding_size, hidden_size, nlayers, dropout=dropout if nlayers > 1 else 0.0)
        self.decoder = nn.Linear(hidden_size, n_chars)
        self.hidden_size, self.nlayers = hidden_size, nlayers
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)  # Flair's LanguageModel.init_weights
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, ids: torch.Tensor, hidden: Tuple[torch.Tensor, torch.Tensor]):
        output, hidden = self.rnn(self.drop(self.encoder(ids)), hidden)
        return self.decoder(self.drop(output)), hidden

    def init_hidden(self, batch: int, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(self.nlayers, batch, self.hidden_size, device=device)
        return zeros, zeros.clone()


def read_lm_file(path: Path) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Tensors and JSON config of an LM file of the package's format."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata() or {}
        if metadata.get(FORMAT_KEY) != FORMAT:
            raise SystemExit(f"{path}: not a clinical-flair LM file (format {metadata.get(FORMAT_KEY)!r})")
        tensors = {name: handle.get_tensor(name).float() for name in handle.keys()}
    return tensors, json.loads(metadata[CONFIG_KEY])


def write_lm_file(model: CharLM, config: dict, path: Path) -> None:
    """The model as a float16 LM file, written to a temporary name and renamed (never half-written)."""
    from safetensors.torch import save_file

    tensors = {name: value.detach().to("cpu").half().contiguous() for name, value in model.state_dict().items()}
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), metadata={FORMAT_KEY: FORMAT, CONFIG_KEY: json.dumps(config)})
    os.replace(partial, path)


class CharCodes:
    """Characters to dictionary indices for whole texts at once (a lookup table over code points)."""

    def __init__(self, items: List[str]) -> None:
        if items[0] != "<unk>":
            raise SystemExit("the dictionary must start with <unk> (Flair's add_unk dictionaries do)")
        self.table = torch.zeros(0x110000, dtype=torch.long)  # every unknown code point -> 0 (<unk>)
        for index, item in enumerate(items):
            if len(item) == 1:
                self.table[ord(item)] = index

    def encode(self, text: str) -> torch.Tensor:
        points = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32).long()
        return self.table[points]


def read_documents(path: Path) -> List[str]:
    """One document per line, each followed by the document delimiter (Flair's TextDataset)."""
    return [line + "\n" for line in path.read_text(encoding="utf-8").split("\n") if line]


def case_flipped(document: str, rng: random.Random) -> str:
    """Flair's TextDataset.random_casechange: 1 in 100 lower-cased, 1 in 100 upper-cased."""
    draw = rng.randint(0, 99)
    return document.lower() if draw == 0 else document.upper() if draw == 1 else document


def epoch_ids(documents: List[str], codes: CharCodes, forward: bool, rng: random.Random) -> torch.Tensor:
    """One pass's text: shuffled documents, case flips, as indices; reversed for a backward LM."""
    order = list(documents)
    rng.shuffle(order)
    ids = codes.encode("".join(case_flipped(doc, rng) for doc in order))
    return ids if forward else ids.flip(0)


def batchify(ids: torch.Tensor, batch: int) -> torch.Tensor:
    """Flair's LanguageModelTrainer._batchify: ``batch`` parallel streams as columns."""
    rows = ids.size(0) // batch
    return ids[: rows * batch].view(batch, -1).t().contiguous()


@torch.no_grad()
def validation_loss(model: CharLM, data: torch.Tensor, seq: int) -> float:
    """Mean cross-entropy per character (Flair's LanguageModelTrainer.evaluate)."""
    model.eval()
    hidden = model.init_hidden(data.size(1), data.device)
    total = torch.zeros((), device=data.device)
    for start in range(0, data.size(0) - 1, seq):
        length = min(seq, data.size(0) - 1 - start)
        logits, hidden = model(data[start:start + length], hidden)
        total += length * nn.functional.cross_entropy(logits.view(-1, logits.size(-1)),
                                                      data[start + 1:start + 1 + length].reshape(-1))
    model.train()
    return total.item() / data.size(0)


def build(args: argparse.Namespace) -> Tuple[CharLM, dict]:
    """The model to train and its LM-file config, from ``--init`` or from scratch."""
    if args.init:
        tensors, config = read_lm_file(args.init)
        if config.get("nout") or config.get("recurrent_type", "LSTM") != "LSTM":
            raise SystemExit(f"{args.init}: only LSTM LMs without a projection are supported here")
    else:
        _, config = read_lm_file(args.dictionary_from)
        config.update(hidden_size=args.hidden, nlayers=args.nlayers, embedding_size=args.embedding_size,
                      dropout=args.dropout, is_forward_lm=args.direction == "forward", nout=None, has_decoder=True)
        tensors = None
    model = CharLM(len(config["dictionary"]["items"]), config["hidden_size"], config["nlayers"],
                   config["embedding_size"], config["dropout"])
    if tensors is not None:
        model.load_state_dict(tensors, strict=True)
    return model, config


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    model, config = build(args)
    model.to(device).train()
    forward = bool(config["is_forward_lm"])
    codes = CharCodes(config["dictionary"]["items"])
    documents = [doc for path in sorted((args.corpus / "train").glob("train_split_*")) for doc in read_documents(path)]
    valid_ids = codes.encode("".join(read_documents(args.corpus / "valid.txt")))
    valid = batchify(valid_ids if forward else valid_ids.flip(0), args.eval_batch).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=args.anneal, patience=args.patience)
    log = args.log or args.out.with_suffix(".loss.txt")
    deadline = time.monotonic() + args.minutes * 60
    best = validation_loss(model, valid, args.seq) if args.init else math.inf
    _log(log, f"start: {sum(map(len, documents))} training characters in {len(documents)} documents, "
              f"{valid_ids.numel()} validation; hidden {config['hidden_size']}, {'forward' if forward else 'backward'}, "
              f"device {device}, batch {args.batch}, lr {args.lr}; start valid ppl {math.exp(best) if best < 50 else 'n/a'}")
    read, evaluations, epoch, since_eval, started = 0, 0, 0, 0, time.monotonic()
    while time.monotonic() < deadline and optimizer.param_groups[0]["lr"] >= args.min_lr:
        epoch += 1
        data = batchify(epoch_ids(documents, codes, forward, rng), args.batch).to(device)
        hidden = model.init_hidden(args.batch, device)
        for start in range(0, data.size(0) - 1, args.seq):
            length = min(args.seq, data.size(0) - 1 - start)
            optimizer.zero_grad(set_to_none=True)
            logits, hidden = model(data[start:start + length], hidden)
            loss = nn.functional.cross_entropy(logits.view(-1, logits.size(-1)),
                                               data[start + 1:start + 1 + length].reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
            hidden = (hidden[0].detach(), hidden[1].detach())
            read += length * args.batch
            since_eval += length * args.batch
            if since_eval >= args.eval_chars or time.monotonic() >= deadline:
                evaluations += 1
                best = _evaluate(model, valid, args, optimizer, scheduler, best, config, log,
                                 (evaluations, epoch, time.monotonic() - started, read))
                since_eval = 0
                if time.monotonic() >= deadline or optimizer.param_groups[0]["lr"] < args.min_lr:
                    break
    _log(log, f"done: {read} characters read in {time.monotonic() - started:.0f} s "
              f"({read / max(time.monotonic() - started, 1e-9):.0f}/s), {epoch} pass(es), best valid ppl {math.exp(best):.4f}")


def _evaluate(model, valid, args, optimizer, scheduler, best: float, config: dict, log: Path, where) -> float:
    evaluations, epoch, seconds, read = where
    loss = validation_loss(model, valid, args.seq)
    rate = optimizer.param_groups[0]["lr"]
    if loss < best:
        best = loss
        write_lm_file(model, config, args.out)
    scheduler.step(loss)
    _log(log, f"| end of split {evaluations:3d} /{0:3d} | epoch {epoch:3d} | time: {seconds:5.2f}s | valid loss "
              f"{loss:5.4f} | valid ppl {math.exp(loss):5.4f} | learning rate {rate:3.4f} | characters {read}")
    return best


def _log(path: Path, line: str) -> None:
    print(line, flush=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="prepared LM corpus folder (train/, valid.txt)")
    parser.add_argument("out", type=Path, help="output LM file (.safetensors; the best one so far)")
    start = parser.add_mutually_exclusive_group(required=True)
    start.add_argument("--init", type=Path, help="LM file to continue")
    start.add_argument("--dictionary-from", type=Path, help="LM file whose dictionary a new LM uses")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--nlayers", type=int, default=1)
    parser.add_argument("--embedding-size", type=int, default=100)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--direction", choices=["forward", "backward"], default="forward")
    parser.add_argument("--batch", type=int, default=128, help="parallel streams (Flair: mini_batch_size)")
    parser.add_argument("--eval-batch", type=int, default=32, help="streams for validation (32: as lm_perplexity.py)")
    parser.add_argument("--seq", type=int, default=250, help="characters per truncated-backpropagation chunk")
    parser.add_argument("--lr", type=float, default=20.0)
    parser.add_argument("--anneal", type=float, default=0.25)
    parser.add_argument("--patience", type=int, default=3, help="validations without a new best before annealing")
    parser.add_argument("--min-lr", type=float, default=0.01, help="stop once the learning rate falls below this")
    parser.add_argument("--eval-chars", type=int, default=5_000_000, help="training characters between validations")
    parser.add_argument("--minutes", type=float, default=7.0, help="wall-clock limit of the training loop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--cpu", action="store_true", help="stay on the CPU even where CUDA is available")
    return parser.parse_args(argv)


if __name__ == "__main__":
    train(parse_args())
