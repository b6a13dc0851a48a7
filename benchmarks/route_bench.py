"""Which route on a CPU server? Sentences/s and peak memory of each NER route, in one run, on the same texts.

Each route runs in a fresh process (its peak RSS is its own: imports, model and activations), one after the
other: load the pipeline (timed apart), warm up on two documents, then ``nlp.pipe`` over the texts of the first
``--docs`` documents of DATA.spacy. Sentences are counted once, with ``clinical_sentencizer``, so every route is
divided by the same number. Routes:

* ``tagger-shipped-fp32`` / ``-bf16``: the ``clinical_flair_ner`` component with ``--tagger`` (a train-tagger
  output on the shipped base LMs, hidden 512; ``--tagger random``: a BiLSTM-CRF of 128 with random weights on
  the shipped LMs, DATA's labels, BIO), the character LMs in float32 / bfloat16;
* ``tagger-paper-fp32`` / ``-bf16``: the same component with paper-size LMs (hidden 2048, as in Rojas et al.
  2022) and a BiLSTM-CRF of 256, random weights (speed does not depend on them), the ``--tagger``'s labels;
* ``spacy-flair-fp32`` / ``-bf16``: spaCy's ``ner`` on the Flair layer (``--spacy-flair``, the default recipe's
  ``model-best``), LM vectors in float32 / bfloat16 (``set_precision``);
* ``...-onnx`` / ``...-int8`` of each of these three: the same pipeline with ONNX Runtime computing the LMs (and
  the tagger's network), float32 / int8 weights (``set_engine``); each route's entities are compared with its
  ``-fp32`` route's (agreement: shared entities / the larger of the two counts);
* ``spacy``: spaCy's efficiency NER alone (``--spacy``, e.g. spaCy + clinical tokenizer's ``model-best``);
* ``transformer-base`` / ``-large``: spaCy's ``ner`` on a transformer (``configs/transformer_ner.cfg``, windows
  of neighbouring sentences) with random BERT-base (12 layers, 768 wide) / BERT-large (24 layers, 1,024 wide)
  weights and BERT's 30,522-row embedding table; the WordPiece vocabulary is trained on the texts.

bf16 is measured even where the CPU has no bfloat16 instructions (the components would warn and use fp32): the
output says whether it has them.

    python benchmarks/route_bench.py DATA.spacy --tagger TAGGER --spacy-flair PIPELINE --spacy PIPELINE \\
        [--docs 50] [--routes tagger-shipped-fp32,...] [--threads 2] [--output result.json]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from bench_memory import cpu_name, peak_rss_mib

ROUTES = ["tagger-shipped-fp32", "tagger-shipped-bf16", "tagger-shipped-onnx", "tagger-shipped-int8",
          "tagger-paper-fp32", "tagger-paper-bf16", "tagger-paper-onnx", "tagger-paper-int8",
          "spacy-flair-fp32", "spacy-flair-bf16", "spacy-flair-onnx", "spacy-flair-int8",
          "spacy", "transformer-base", "transformer-large"]
#: a route's last part: (engine, precision); "onnx" and "int8" run ONNX Runtime (set_engine, the onnx extra)
ENGINES = {"fp32": ("torch", "fp32"), "bf16": ("torch", "bf16"), "onnx": ("onnx", "fp32"), "int8": ("onnx", "int8")}
REPO = Path(__file__).resolve().parent.parent


def texts_of(data: Path, n_docs: int) -> List[str]:
    import spacy
    from spacy.tokens import DocBin

    return [doc.text for doc in DocBin().from_disk(data).get_docs(spacy.blank("es").vocab)][:n_docs]


def count_sentences(texts: List[str]) -> int:
    from spacy_clinical_flair.text.tokenizer import blank_pipeline

    nlp = blank_pipeline("es", "clinical")
    nlp.add_pipe("clinical_sentencizer")
    return sum(len(list(doc.sents)) for doc in nlp.pipe(texts))


def tagger_pipeline(model: str, precision: str):
    from spacy_clinical_flair.text.tokenizer import blank_pipeline

    nlp = blank_pipeline("es", "clinical")
    nlp.add_pipe("clinical_sentencizer")
    nlp.add_pipe("clinical_flair_ner", config={"model": model, "precision": precision, "device": "cpu"})
    nlp.initialize()
    return nlp


def transformer_pipeline(model_folder: str, data: str):
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example

    config = spacy.util.load_config(REPO / "configs" / "transformer_ner.cfg", overrides={
        "paths.transformer": model_folder, "paths.train": data, "paths.dev": data}, interpolate=False)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    gold = list(DocBin().from_disk(data).get_docs(nlp.vocab))[:20]
    nlp.initialize(lambda: [Example(nlp.make_doc(doc.text), doc) for doc in gold])
    return nlp


def build_pipeline(route: str, args: Dict):
    import spacy

    from spacy_clinical_flair import set_engine, set_precision

    engine, precision = ENGINES.get(route.rsplit("-", 1)[1], ("torch", "fp32"))
    if route.startswith("tagger-"):
        model = args["tagger"] if route.startswith("tagger-shipped") else args["paper_tagger"]
        nlp = tagger_pipeline(model, precision if engine == "torch" else "fp32")
        if engine == "onnx":
            set_engine(nlp, engine, precision)
        return nlp
    if route.startswith("spacy-flair"):
        nlp = spacy.load(args["spacy_flair"])
        if engine == "onnx":
            set_engine(nlp, engine, precision)
        else:
            set_precision(nlp, precision)
        return nlp
    if route == "spacy":
        return spacy.load(args["spacy"])
    return transformer_pipeline(args[route], args["data"])


def run_route(route: str, args: Dict, texts: List[str]) -> Dict:
    """One route in this (fresh) process."""
    import torch

    torch.set_num_threads(args["threads"])
    from spacy_clinical_flair.ml import precision as precisions

    if route.endswith("bf16"):  # measured whatever the CPU has; the components would fall back to fp32
        precisions.bf16_supported = lambda device: True
    start = time.perf_counter()
    nlp = build_pipeline(route, args)
    load_seconds = time.perf_counter() - start
    list(nlp.pipe(texts[:2]))  # warm-up
    start = time.perf_counter()
    found = [[i, e.start_char, e.end_char, e.label_] for i, doc in enumerate(nlp.pipe(texts, batch_size=32))
             for e in doc.ents]
    return {"seconds": time.perf_counter() - start, "load_seconds": load_seconds, "entities": len(found),
            "peak_rss_mib": peak_rss_mib(), "found": found}


def agreement(route: str, results: Dict) -> str:
    """Shared entities / the larger count, against the route's -fp32 route (when both ran)."""
    family, last = route.rsplit("-", 1)
    reference = results.get(f"{family}-fp32", {})
    if last == "fp32" or "found" not in reference or "found" not in results[route]:
        return ""
    a, b = {tuple(e) for e in results[route]["found"]}, {tuple(e) for e in reference["found"]}
    return f"{len(a & b) / max(len(a), len(b), 1):.4f}"


def _child(route, args, texts, queue):
    try:
        queue.put(run_route(route, args, texts))
    except Exception as err:  # reported in the table, the other routes go on
        queue.put({"error": f"{type(err).__name__}: {err}"})


def build_random_models(args: Dict, texts: List[str], folder: Path) -> None:
    """The paper-size random tagger and the random BERT-base/large folders the routes need."""
    import torch

    from spacy_clinical_flair.models.build import build_language_model, build_tagger
    from spacy_clinical_flair.models.lm_io import load_language_model
    from spacy_clinical_flair.models.tagger_format import save_tagger
    from spacy_clinical_flair.models.tagger_io import load_tagger

    routes = args["routes"]
    if args["tagger"] == "random":
        args["tagger"] = str(random_shipped_tagger(args["data"], folder / "random.safetensors"))
    if any(r.startswith("tagger-paper") for r in routes):
        shipped = load_tagger(args["tagger"])
        labels = sorted({item.split("-", 1)[-1] for item in shipped.label_dictionary.get_items()
                         if item not in ("O", "<unk>", "<START>", "<STOP>")})
        dictionary = load_language_model(REPO / "assets" / "lms" / "clinical-es-forward.safetensors").dictionary
        torch.manual_seed(0)
        lms = [build_language_model(dictionary, forward, hidden_size=2048, embedding_size=100) for forward in (True, False)]
        args["paper_tagger"] = str(save_tagger(build_tagger(labels, lms, hidden_size=256), folder / "paper.safetensors"))
    for size, (layers, width, heads) in {"base": (12, 768, 12), "large": (24, 1024, 16)}.items():
        if f"transformer-{size}" in routes:
            args[f"transformer-{size}"] = str(random_bert(folder / f"bert-{size}", texts, layers, width, heads))


def random_shipped_tagger(data: str, path: Path) -> Path:
    """A hidden-128 BIO tagger on the shipped LMs with random weights (larger output weights, so that it predicts
    entities at all) for DATA's labels: speed and engine agreement without a trained tagger."""
    import spacy
    import torch
    from spacy.tokens import DocBin

    from spacy_clinical_flair.models.build import build_tagger
    from spacy_clinical_flair.models.lm_io import load_language_model
    from spacy_clinical_flair.models.tagger_format import save_tagger

    docs = DocBin().from_disk(data).get_docs(spacy.blank("es").vocab)
    labels = sorted({ent.label_ for doc in docs for ent in doc.ents})
    lms = [load_language_model(REPO / "assets" / "lms" / f"clinical-es-{d}.safetensors") for d in ("forward", "backward")]
    torch.manual_seed(0)
    tagger = build_tagger(labels, lms, hidden_size=128, tag_format="BIO")
    with torch.no_grad():
        tagger.linear.weight.mul_(20)
    return save_tagger(tagger, path)


def random_bert(folder: Path, texts: List[str], layers: int, width: int, heads: int) -> Path:
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=False)
    wordpiece.train_from_iterator(texts, vocab_size=30522, min_frequency=1)
    wordpiece.save_model(str(folder))
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=False).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=max(30522, wordpiece.get_vocab_size()), hidden_size=width, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=4 * width, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--tagger", required=True, help="a train-tagger output folder or model.safetensors, or 'random'")
    parser.add_argument("--spacy-flair", help="the default recipe's model-best (spaCy ner on the Flair layer)")
    parser.add_argument("--spacy", help="a spaCy NER pipeline without LMs")
    parser.add_argument("--docs", type=int, default=50)
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    from spacy_clinical_flair.ml.precision import bf16_supported

    texts = texts_of(options.data, options.docs)
    sentences = count_sentences(texts)
    args = {"tagger": options.tagger, "spacy_flair": options.spacy_flair, "spacy": options.spacy,
            "data": str(options.data), "threads": options.threads, "routes": options.routes.split(",")}
    context = multiprocessing.get_context("spawn")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        build_random_models(args, texts, Path(tmp))
        for route in args["routes"]:
            queue = context.Queue()
            process = context.Process(target=_child, args=(route, args, texts, queue))
            process.start()
            result = queue.get()
            process.join()
            results[route] = result
            if "error" in result:
                print(f"{route}: {result['error']}", flush=True)
                continue
            print(f"{route}: {sentences / result['seconds']:.1f} sentences/s, peak {result['peak_rss_mib']:.0f} MiB, "
                  f"load {result['load_seconds']:.1f} s", flush=True)
    cpu = cpu_name()
    import torch

    summary = {"cpu": cpu, "bf16_in_hardware": bf16_supported(torch.device("cpu")), "threads": options.threads,
               "documents": len(texts), "sentences": sentences, "routes": results}
    print(f"\n{cpu}, bf16 in hardware: {summary['bf16_in_hardware']}, {options.threads} threads, "
          f"{len(texts)} documents, {sentences} sentences\n")
    print("| route | sentences/s | peak memory (MiB) | load (s) | entities agree with -fp32 |\n|---|---|---|---|---|")
    for route, result in results.items():
        if "error" not in result:
            result["agreement_with_fp32"] = agreement(route, results)
            print(f"| {route} | {sentences / result['seconds']:.1f} | {result['peak_rss_mib']:.0f} | "
                  f"{result['load_seconds']:.1f} | {result['agreement_with_fp32']} |")
    for result in results.values():
        result.pop("found", None)  # the entities themselves: only their agreement goes into the JSON
    if options.output:
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
