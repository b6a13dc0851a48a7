"""End to end on a slice of the sample, tiny settings: LM forward + backward, NER, assemble, load, predict."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_clinical_flair.cli import app
from spacy_clinical_flair.corpus.convert import convert_brat_folder
from spacy_clinical_flair.training.lm import LMSettings, check_corpus_fits
from spacy_clinical_flair.training.lm_corpus import LMCorpusSettings, LMCorpusTooSmall, prepare_lm_corpus

from ..conftest import REPO, SAMPLE

runner = CliRunner()
TINY_LM = ["--lm.hidden_size", "16", "--lm.embedding_size", "8", "--lm.sequence_length", "40",
           "--lm.mini_batch_size", "4", "--lm.max_epochs", "1", "--corpus.split_chars", "200000"]
TINY_NER = ["--ner.hidden_size", "16", "--ner.max_epochs", "2", "--ner.mini_batch_size", "16"]


def slice_folder(split: str, names: int, tmp: Path) -> Path:
    """The first `names` documents of a sample split, copied byte for byte."""
    out = tmp / f"brat-{split}"
    out.mkdir()
    for txt in sorted((SAMPLE / split).glob("*.txt"))[:names]:
        for path in (txt, txt.with_suffix(".ann")):
            (out / path.name).write_bytes(path.read_bytes())
    return out


def invoke(args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_lm_ner_assemble_load_predict(tmp_path):
    convert_brat_folder(slice_folder("train", 20, tmp_path), tmp_path / "train.spacy", progress=False)
    convert_brat_folder(slice_folder("dev", 5, tmp_path), tmp_path / "dev.spacy", progress=False)
    paths = ["--paths.train", tmp_path / "train.spacy", "--paths.dev", tmp_path / "dev.spacy"]
    for direction in ("forward", "backward"):
        out = invoke(["train-lm", REPO / "configs/lm_demo.cfg", tmp_path / f"lm-{direction}", "--direction", direction,
                      *paths, *TINY_LM])
        assert f"{direction} LM:" in out and (tmp_path / f"lm-{direction}" / "best-lm.pt").is_file()
        result = json.loads((tmp_path / f"lm-{direction}" / "lm-result.json").read_text())
        logged = [float(line.split("valid ppl")[1].split("|")[0]) for line in
                  (tmp_path / f"lm-{direction}" / "loss.txt").read_text().splitlines() if "end of split" in line]
        assert result["best_valid_perplexity"] == pytest.approx(min(logged))
        characters = len(spacy_clinical_flair_lm(tmp_path / f"lm-{direction}" / "best-lm.pt").dictionary)
        assert result["best_valid_perplexity"] < characters  # better than a uniform guess over the characters

    out = invoke(["train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "ner", *paths,
                  "--paths.lm_forward", tmp_path / "lm-forward/best-lm.pt",
                  "--paths.lm_backward", tmp_path / "lm-backward/best-lm.pt", *TINY_NER])
    ner_result = json.loads((tmp_path / "ner" / "ner-result.json").read_text())
    sample_labels = {line.split("\t")[1].split(" ")[0] for p in (tmp_path / "brat-train").glob("*.ann")
                     for line in p.read_text(encoding="utf-8").splitlines() if line.startswith("T")}
    assert set(ner_result["labels"]) == sample_labels
    assert ner_result["epochs"] == 2 and ner_result["dev_f1"] is not None
    train_ents = sum(len(d.ents) for d in spacy.tokens.DocBin().from_disk(tmp_path / "train.spacy").get_docs(
        spacy.blank("es").vocab))
    assert ner_result["train_entities"] == train_ents and ner_result["entities_left_out"] == 0

    subprocess.run([sys.executable, "-m", "spacy", "assemble", REPO / "configs/pipeline.cfg", tmp_path / "pipeline",
                    "--paths.tagger", tmp_path / "ner"], check=True, capture_output=True)
    assert not list((tmp_path / "ner").rglob("*.pt")), "train-tagger leaves no pickle behind"
    (tmp_path / "ner" / "model.safetensors").unlink()  # the pipeline must carry its own copy
    nlp = spacy.load(tmp_path / "pipeline")
    assert nlp.pipe_names == ["clinical_sentencizer", "clinical_flair_ner"]
    assert set(nlp.get_pipe("clinical_flair_ner").labels) == sample_labels
    text = (SAMPLE / "test" / "caso_test_001.txt").read_text(encoding="utf-8")
    doc = nlp(text)
    assert doc.text == text and doc.has_annotation("SENT_START")


def spacy_clinical_flair_lm(path):
    from spacy_clinical_flair.models.lm_io import load_language_model

    return load_language_model(path)


def f1_on(nlp, docs):
    from spacy.scorer import Scorer
    from spacy.training import Example

    return Scorer.score_spans([Example(p, g) for p, g in zip(nlp.pipe(d.text for d in docs), docs)], "ents")["ents_f"]


def test_tagger_training_learns(tmp_path):
    """A tagger trained on the sample's 60 notes finds the dev entities; an untrained one with the same
    labels does not (one-hot word embeddings, no LM, to keep it quick)."""
    from spacy.tokens import DocBin

    from ..conftest import random_tagger

    convert_brat_folder(SAMPLE / "train", tmp_path / "train.spacy", progress=False)
    convert_brat_folder(SAMPLE / "dev", tmp_path / "dev.spacy", progress=False)
    invoke(["train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "ner", "--paths.train", tmp_path / "train.spacy",
            "--paths.dev", tmp_path / "dev.spacy", "--paths.lm_forward", "null", "--paths.lm_backward", "null",
            "--ner.extra_embeddings", '["onehot"]', "--ner.onehot_min_freq", "1", "--ner.use_crf", "false",
            "--ner.hidden_size", "32", "--ner.max_epochs", "10", "--ner.optimizer", "adamw",
            "--ner.learning_rate", "0.01", "--ner.train_with_dev", "false"])
    result = json.loads((tmp_path / "ner" / "ner-result.json").read_text())
    dev = list(DocBin().from_disk(tmp_path / "dev.spacy").get_docs(spacy.blank("es").vocab))
    scores = {}
    for name, source in (("trained", str(tmp_path / "ner")), ("random", None)):
        nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "clinical_flair.tokenizer.v1"}}})
        ner = nlp.add_pipe("clinical_flair_ner", config={"model": source})
        if source:
            nlp.initialize()
        else:
            ner.set_tagger(random_tagger(result["labels"], seed=1))
        scores[name] = f1_on(nlp, dev)
    assert scores["trained"] > 0.6 and scores["trained"] > scores["random"] + 0.4, scores
    assert result["dev_f1"] == pytest.approx(max(result["dev_f1"], 0)) and result["best_epoch"] >= 1


def test_lm_corpus_layout_and_too_small_errors(tmp_path):
    texts = [f"Documento {i}.\nSegunda línea del documento {i}." for i in range(10)]
    info = prepare_lm_corpus(texts, tmp_path / "c", LMCorpusSettings(valid_fraction=0.2, test_fraction=0.2, split_chars=100))
    assert (info.documents, info.splits) == (10, len(list((tmp_path / "c" / "train").glob("train_split_*"))))
    valid = (tmp_path / "c" / "valid.txt").read_text(encoding="utf-8").splitlines()
    assert len(valid) == 2 and all("\n" not in line for line in valid)  # one document per line
    written = sorted(line for p in (tmp_path / "c").rglob("*") if p.is_file()
                     for line in p.read_text(encoding="utf-8").splitlines())
    assert written == sorted(t.replace("\n", " ") for t in texts)  # every document exactly once
    with pytest.raises(LMCorpusTooSmall, match="mini_batch_size 100 needs at least 200"):
        check_corpus_fits(info, LMSettings(mini_batch_size=100))
    with pytest.raises(LMCorpusTooSmall, match="at least 3 are needed"):
        prepare_lm_corpus(texts[:2], tmp_path / "d")


def test_train_lm_cli_reports_too_small_corpus(tmp_path):
    convert_brat_folder(slice_folder("dev", 3, tmp_path), tmp_path / "d.spacy", progress=False)
    result = runner.invoke(app, ["train-lm", str(REPO / "configs/lm_paper.cfg"), str(tmp_path / "lm"),
                                 "--paths.train", str(tmp_path / "d.spacy"), "--paths.dev", str(tmp_path / "d.spacy")])
    assert result.exit_code == 1 and "needs at least" in result.output and "Traceback" not in result.output


def test_unknown_setting_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["train-tagger", str(REPO / "configs/ner_demo.cfg"), str(tmp_path), "--ner.hiden_size", "3"])
    assert result.exit_code == 1 and "unknown setting(s) in [ner]: hiden_size" in result.output


def test_a_setting_of_the_wrong_type_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["train-tagger", str(REPO / "configs/ner_demo.cfg"), str(tmp_path), "--ner.hidden_size", "big",
                                 "--ner.use_crf", "maybe"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "invalid setting(s) in [ner]: hidden_size = 'big'" in result.output and "use_crf = 'maybe'" in result.output


def test_time_budget_interrupts_as_keyboard_interrupt_and_is_cleared():
    import signal
    import time

    from spacy_clinical_flair.training.budget import BudgetExpired, time_budget

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt) as caught:  # Flair's trainers stop cleanly on KeyboardInterrupt
        with time_budget(0.002):  # 0.12 s
            time.sleep(5)
    assert isinstance(caught.value, BudgetExpired) and time.perf_counter() - start < 2
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with time_budget(0):  # no limit: nothing armed
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_fine_tuning_a_local_base_lm_and_direction_mismatch(tmp_path):
    """Fine-tuning starts from a local LM file (as the paper starts from es-forward) and keeps its dictionary."""
    from flair.models import LanguageModel

    convert_brat_folder(slice_folder("train", 12, tmp_path), tmp_path / "t.spacy", progress=False)
    paths = ["--paths.train", tmp_path / "t.spacy", "--paths.dev", "null"]
    invoke(["train-lm", REPO / "configs/lm_demo.cfg", tmp_path / "base", *paths, *TINY_LM])
    base = LanguageModel.load_language_model(tmp_path / "base" / "best-lm.pt")
    invoke(["train-lm", REPO / "configs/lm_demo.cfg", tmp_path / "tuned", *paths, *TINY_LM,
            "--paths.base_lm", tmp_path / "base" / "best-lm.pt"])
    tuned = LanguageModel.load_language_model(tmp_path / "tuned" / "best-lm.pt")
    assert tuned.dictionary.get_items() == base.dictionary.get_items()
    assert tuned.hidden_size == base.hidden_size == 16 and tuned.is_forward_lm
    result = runner.invoke(app, [str(a) for a in ["train-lm", REPO / "configs/lm_demo.cfg", tmp_path / "wrong", *paths,
                                                  *TINY_LM, "--direction", "backward",
                                                  "--paths.base_lm", tmp_path / "base" / "best-lm.pt"]])
    assert result.exit_code == 1 and "is a forward model" in result.output


def test_best_dev_epoch_is_the_first_of_the_best():
    from spacy_clinical_flair.training.ner import _best_dev_epoch

    assert _best_dev_epoch([]) == (None, None)
    # the best score is 0.5, first reached in epoch 2 (epoch 4 ties it later)
    assert _best_dev_epoch([0.25, 0.5, 0.4, 0.5]) == (2, 0.5)


def test_budget_spent_while_embedding_still_gives_a_model(tmp_path):
    """A budget that runs out before training starts (here: at once) ends cleanly with a model and a warning."""
    convert_brat_folder(slice_folder("train", 6, tmp_path), tmp_path / "t.spacy", progress=False)
    result = runner.invoke(app, [str(a) for a in [
        "train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "ner", "--paths.train", tmp_path / "t.spacy",
        "--paths.dev", "null", "--paths.lm_forward", "null", "--paths.lm_backward", "null",
        "--ner.extra_embeddings", '["onehot"]', "--ner.max_minutes", "0.00001", *TINY_NER]])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ner" / "model.safetensors").is_file() and "no epoch finished" in result.output
    assert json.loads((tmp_path / "ner" / "ner-result.json").read_text())["epochs"] == 0


def test_rerun_starts_afresh_and_resume_continues(tmp_path):
    from flair.models import LanguageModel

    convert_brat_folder(slice_folder("train", 12, tmp_path), tmp_path / "t.spacy", progress=False)
    args = ["train-lm", REPO / "configs/lm_demo.cfg", tmp_path / "lm", "--paths.train", tmp_path / "t.spacy",
            "--paths.dev", "null", *TINY_LM]
    invoke(args)
    first_log = (tmp_path / "lm" / "loss.txt").read_text(encoding="utf-8")
    invoke([*args, "--lm.hidden_size", "24"])  # a changed setting: a new model, not the old checkpoint
    assert LanguageModel.load_language_model(tmp_path / "lm" / "best-lm.pt").hidden_size == 24
    assert (tmp_path / "lm" / "loss.txt").read_text(encoding="utf-8").count("end of split") == \
        first_log.count("end of split")  # the old run's lines were cleared, not appended to
    invoke([*args, "--lm.max_epochs", "2", "--resume"])  # continues the 24-unit model for one more epoch
    assert LanguageModel.load_language_model(tmp_path / "lm" / "best-lm.pt").hidden_size == 24
    assert "epoch   2" in (tmp_path / "lm" / "loss.txt").read_text(encoding="utf-8")
    result = runner.invoke(app, [str(a) for a in ["train-lm", REPO / "configs/lm_demo.cfg", tmp_path / "empty",
                                                  "--paths.train", tmp_path / "t.spacy", "--paths.dev", "null",
                                                  "--resume", *TINY_LM]])
    assert result.exit_code == 1 and "nothing to resume" in result.output


def test_tagger_with_extra_embeddings_and_no_language_model(tmp_path):
    """The baselines' embeddings: character and one-hot word embeddings, here without any Flair LM."""
    from flair.embeddings import CharacterEmbeddings, OneHotEmbeddings

    from spacy_clinical_flair.models.tagger_format import load_tagger_file

    convert_brat_folder(slice_folder("train", 10, tmp_path), tmp_path / "t.spacy", progress=False)
    invoke(["train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "ner", "--paths.train", tmp_path / "t.spacy",
            "--paths.dev", "null", "--paths.lm_forward", "null", "--paths.lm_backward", "null",
            "--ner.extra_embeddings", '["char", "onehot"]', *TINY_NER])
    tagger = load_tagger_file(tmp_path / "ner")
    kinds = {type(e) for e in tagger.embeddings.embeddings}
    assert kinds == {CharacterEmbeddings, OneHotEmbeddings}
    result = runner.invoke(app, [str(a) for a in ["train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / "x",
                                                  "--paths.train", tmp_path / "t.spacy", "--paths.dev", "null",
                                                  "--paths.lm_forward", "null", "--paths.lm_backward", "null"]])
    assert result.exit_code == 1 and "no embeddings" in result.output


def test_a_label_only_in_dev_does_not_break_dev_evaluation(tmp_path, nlp):
    """Real corpora have labels that occur only in dev (MEDDOCAN: ID_EMPLEO_PERSONAL_SANITARIO)."""
    from spacy.tokens import DocBin

    convert_brat_folder(slice_folder("train", 8, tmp_path), tmp_path / "t.spacy", progress=False)
    convert_brat_folder(slice_folder("dev", 3, tmp_path), tmp_path / "d.spacy", progress=False)
    dev = list(DocBin().from_disk(tmp_path / "d.spacy").get_docs(nlp.vocab))
    first = dev[0].ents[0]
    dev[0].ents = [spacy.tokens.Span(dev[0], first.start, first.end, label="SOLO_EN_DEV"), *dev[0].ents[1:]]
    DocBin(docs=dev, store_user_data=True).to_disk(tmp_path / "d.spacy")
    for crf in ("true", "false"):
        invoke(["train-tagger", REPO / "configs/ner_demo.cfg", tmp_path / f"ner-{crf}", "--paths.train", tmp_path / "t.spacy",
                "--paths.dev", tmp_path / "d.spacy", "--paths.lm_forward", "null", "--paths.lm_backward", "null",
                "--ner.extra_embeddings", '["onehot"]', "--ner.use_crf", crf, *TINY_NER])
        result = json.loads((tmp_path / f"ner-{crf}" / "ner-result.json").read_text())
        assert "SOLO_EN_DEV" in result["labels"] and result["epochs"] == 2 and result["dev_f1"] is not None
