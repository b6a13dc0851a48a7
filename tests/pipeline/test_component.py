"""The clinical_flair_ner component: equivalence with raw Flair, batching, policies, serialisation, errors."""
import json
import subprocess
import sys
import time

import pytest
import spacy
from flair.data import Sentence
from flair.models import SequenceTagger
from spacy.language import Language

from spacy_clinical_flair.models.tagger_format import load_tagger_file
from spacy_clinical_flair.pipeline.component import ClinicalFlairNER
from spacy_clinical_flair.text.sentences import ClinicalSentencizer

from ..conftest import LABELS, sample_texts


@pytest.fixture(scope="module")
def nlp_with_ner(tiny_tagger_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path)})
    nlp.initialize()
    return nlp


@pytest.fixture(scope="module")
def raw_tagger(tiny_tagger_path):
    return load_tagger_file(tiny_tagger_path)


def raw_entities(tagger, nlp, text, max_tokens=None):
    """Flair's own prediction, one sentence at a time, on the same tokens, mapped to characters by hand."""
    doc = nlp.make_doc(text)
    ClinicalSentencizer()(doc)
    result = []
    for sent in doc.sents:
        tokens = [t for t in sent if not t.is_space]
        step = max_tokens or len(tokens) or 1
        for offset in range(0, len(tokens), step):
            chunk = tokens[offset:offset + step]
            sentence = Sentence([t.text for t in chunk])
            tagger.predict(sentence, mini_batch_size=1)
            for span in sentence.get_spans("ner"):
                first, last = chunk[span.tokens[0].idx - 1], chunk[span.tokens[-1].idx - 1]
                result.append((first.idx, last.idx + len(last.text), span.get_label("ner").value))
    return result


def ents(doc):
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def test_labels_come_from_the_tagger_without_prefixes(nlp_with_ner):
    assert nlp_with_ner.get_pipe("clinical_flair_ner").labels == tuple(sorted(LABELS))


def test_single_doc_equals_raw_flair(nlp_with_ner, raw_tagger):
    text = sample_texts()[0]
    expected = raw_entities(raw_tagger, nlp_with_ner, text)
    assert expected, "the random tagger should predict something on a whole case note"
    assert ents(nlp_with_ner(text)) == expected


def test_pipe_over_mixed_documents_equals_raw_flair(nlp_with_ner, raw_tagger):
    long_doc = " ".join(sample_texts("train"))  # ~60 case notes in one document
    texts = sample_texts() + ["", "   \n\n  ", "Fiebre.", long_doc, "\ufeffDolor abdominal\r\nsin fiebre"]
    docs = list(nlp_with_ner.pipe(texts, batch_size=7))
    for doc, text in zip(docs, texts):
        assert doc.text == text
        assert ents(doc) == raw_entities(raw_tagger, nlp_with_ner, text)
    assert ents(docs[len(texts) - 5]) == [] and ents(docs[len(texts) - 4]) == []


def test_document_by_document_equals_cross_document_batching(nlp_with_ner):
    texts = sample_texts()
    one_by_one = [ents(nlp_with_ner(text)) for text in texts]
    assert [ents(doc) for doc in nlp_with_ner.pipe(texts)] == one_by_one


def test_existing_sentence_boundaries_are_used_and_not_changed(nlp_with_ner, raw_tagger):
    text = "Dolor abdominal intenso y fiebre alta desde ayer por la tarde"
    doc = nlp_with_ner.make_doc(text)
    for token in doc:
        token.is_sent_start = token.i in (0, 4)  # two sentences chosen by hand
    ner = nlp_with_ner.get_pipe("clinical_flair_ner")
    ner(doc)
    assert [t.is_sent_start for t in doc] == [t.i in (0, 4) for t in doc]
    for ent in doc.ents:
        assert not (ent.start < 4 < ent.end)  # predictions never cross a sentence
    undecided = nlp_with_ner.make_doc(text)
    ner(undecided)
    assert not undecided.has_annotation("SENT_START")  # the splitter's result is not written


def test_very_long_sentence_is_cut_at_max_sentence_tokens(tiny_tagger_path, raw_tagger):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), "max_sentence_tokens": 50})
    nlp.initialize()
    text = " ".join(["dolor abdominal con fiebre y tos"] * 40)  # 240 tokens, no sentence end
    assert ents(nlp(text)) == raw_entities(raw_tagger, nlp, text, max_tokens=50)


def test_scores_extension_and_span_group(tiny_tagger_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), "spans_key": "flair"})
    nlp.initialize()
    doc = nlp(sample_texts()[1])
    group = doc.spans["flair"]
    assert len(group) > 0 and len(group.attrs["scores"]) == len(group)
    assert [(s.start_char, s.end_char, s.label_) for s in group] == ents(doc)  # no earlier ents: all written
    for span, score in zip(group, group.attrs["scores"]):
        assert 0.0 < score <= 1.0 and span._.clinical_flair_score == pytest.approx(score)


def test_n_process_2_gives_the_same_entities(nlp_with_ner):
    texts = sample_texts()
    assert [ents(d) for d in nlp_with_ner.pipe(texts, n_process=2)] == [ents(d) for d in nlp_with_ner.pipe(texts)]


# ---------------------------------------------------------------- serialisation

def test_to_disk_then_spacy_load_in_a_new_process_without_the_original_file(tmp_path, tiny_tagger_path):
    model_copy = tmp_path / "copy.safetensors"
    model_copy.write_bytes(tiny_tagger_path.read_bytes())
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_sentencizer")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(model_copy)})
    nlp.initialize()
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "clinical_flair_ner" / "model.safetensors").is_file()
    texts = sample_texts()[:5]
    expected = [ents(doc) for doc in nlp.pipe(texts)]
    model_copy.unlink()
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'pipeline')!r})\n"
        "texts = json.load(sys.stdin)\n"
        "print(json.dumps([[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(texts)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert [[tuple(e) for e in doc] for doc in json.loads(out.strip().splitlines()[-1])] == expected


def test_to_bytes_from_bytes(nlp_with_ner):
    ner = nlp_with_ner.get_pipe("clinical_flair_ner")
    copy = ClinicalFlairNER(nlp_with_ner.vocab).from_bytes(ner.to_bytes())
    text = sample_texts()[2]
    assert ents(copy(nlp_with_ner.make_doc(text))) == ents(nlp_with_ner(text))
    assert copy.labels == ner.labels


# ---------------------------------------------------------------- errors

def test_factory_is_cheap_and_loading_errors_are_clear(tmp_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tmp_path / "missing.pt")})  # nothing loaded yet
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nlp.initialize()


def test_no_model_configured():
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner")
    with pytest.raises(ValueError, match="has no tagger"):
        nlp("texto")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a pickle at all")
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(bad)})
    with pytest.raises(ValueError, match="not a readable Flair model file"):
        nlp.initialize()


def test_language_model_file_is_not_a_tagger(tmp_path):
    from spacy_clinical_flair.models.build import build_language_model, character_dictionary

    lm_path = tmp_path / "lm.pt"
    build_language_model(character_dictionary(), True, hidden_size=8, embedding_size=4).save(lm_path)
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(lm_path)})
    with pytest.raises(ValueError, match="not a Flair SequenceTagger"):
        nlp.initialize()


def test_token_tagger_is_not_ner_like(tmp_path):
    from flair.data import Dictionary
    from flair.embeddings import OneHotEmbeddings

    pos = Dictionary(add_unk=False)
    for tag in ("NOUN", "VERB", "ADJ"):
        pos.add_item(tag)
    vocab = Dictionary()
    vocab.add_item("dolor")
    tagger = SequenceTagger(hidden_size=4, embeddings=OneHotEmbeddings(vocab, embedding_length=4),
                            tag_dictionary=pos, tag_type="pos", use_crf=False)
    path = tmp_path / "pos.pt"
    tagger.save(path)
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(path)})
    with pytest.raises(ValueError, match="not entity spans"):
        nlp.initialize()


def test_cuda_asked_for_but_absent(tiny_tagger_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), "device": "cuda"})
    with pytest.raises(ValueError, match="asks for CUDA"):
        nlp.initialize()


@pytest.mark.parametrize("config,message", [
    ({"ents_policy": "merge"}, "ents_policy"),
    ({"batch_size": 0}, "batch_size must be at least 1"),
    ({"device": "tpu"}, "device must be"),
])
def test_bad_config(config, message, tiny_tagger_path):
    nlp = spacy.blank("es")
    with pytest.raises(ValueError, match=message):
        nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), **config})
        nlp.initialize()


def test_saving_an_uninitialised_component_says_what_to_do(tmp_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner")
    with pytest.raises(ValueError, match="has no tagger"):
        nlp.to_disk(tmp_path / "p")


def test_loading_a_pipeline_folder_without_weights(tmp_path, tiny_tagger_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path)})
    nlp.initialize()
    nlp.to_disk(tmp_path / "p")
    (tmp_path / "p" / "clinical_flair_ner" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="has no tagger"):
        spacy.load(tmp_path / "p")


@Language.component("record_torch_threads")
def record_torch_threads(doc):
    import torch

    doc.user_data["torch_threads"] = torch.get_num_threads()
    return doc


def test_worker_processes_predict_the_same_with_one_torch_thread_each(tiny_tagger_path):
    """nlp.pipe(n_process=2): each forked worker sets torch to one thread, and predictions do not change."""
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path)})
    nlp.add_pipe("record_torch_threads")
    nlp.initialize()
    texts = sample_texts()[:6]
    single = [ents(doc) for doc in nlp.pipe(texts)]
    docs = list(nlp.pipe(texts, n_process=2, batch_size=2))
    assert [ents(doc) for doc in docs] == single and any(single)
    assert {doc.user_data["torch_threads"] for doc in docs} == {1}


def test_auto_device_is_the_one_thinc_selected(monkeypatch):
    """device "auto" follows spaCy/thinc (spacy.require_gpu() makes thinc's torch device a GPU)."""
    import thinc.api
    import torch

    from spacy_clinical_flair.ml.device import resolve_device

    monkeypatch.setattr(thinc.api, "get_torch_default_device", lambda: torch.device("cuda", 1))
    assert resolve_device("auto") == torch.device("cuda", 1)
    monkeypatch.undo()
    assert resolve_device("auto") == torch.device("cpu")


def test_flair_context_never_crosses_documents(nlp_with_ner, monkeypatch):
    """Flair links each sentence of a predict() call to the previous one; where the component uses Flair's
    predict (taggers the fast path cannot take), it links them per doc."""
    ner = nlp_with_ner.get_pipe("clinical_flair_ner")
    monkeypatch.setattr(ner, "fast_taggers", [None])
    seen = []
    original = ner.tagger.predict

    def spy(sentences, **kwargs):
        seen.extend(sentences)
        return original(sentences, **kwargs)

    monkeypatch.setattr(ner.tagger, "predict", spy)
    texts = ["Fiebre. Tos.", "", "Dolor abdominal. Vómitos. Mareo.", "Astenia."]
    list(nlp_with_ner.pipe(texts))
    assert len(seen) == 2 + 3 + 1
    firsts = [s for s in seen if s.previous_sentence() is None]
    assert [s.to_original_text() for s in firsts] == ["Fiebre.", "Dolor abdominal.", "Astenia."]
    lasts = [s for s in seen if s.next_sentence() is None]
    assert [s.to_original_text() for s in lasts] == ["Tos.", "Mareo.", "Astenia."]


def test_load_time_config_overrides_are_not_replaced_by_the_saved_state(tmp_path, tiny_tagger_path):
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), "batch_size": 7, "device": "cpu"})
    nlp.initialize()
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p", config={"components": {"clinical_flair_ner": {"batch_size": 3,
                                                                                       "ents_policy": "replace"}}})
    ner = loaded.get_pipe("clinical_flair_ner")
    assert ner.cfg["batch_size"] == 3 and ner.cfg["ents_policy"] == "replace" and ner.cfg["device"] == "cpu"
    assert ner.labels == tuple(sorted(LABELS))


@pytest.mark.parametrize("pipe_batch,rounds", [(1000, 3), (5, 4)])
def test_doc_batch_size_caps_documents_per_prediction_round(tiny_tagger_path, monkeypatch, pipe_batch, rounds):
    """nlp.pipe passes its batch_size (1000 by default) to every component: doc_batch_size=8 must still cap it."""
    nlp = spacy.blank("es")
    ner = nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), "doc_batch_size": 8})
    nlp.initialize()
    calls = []
    fast = ner.fast_taggers[0]
    original = fast.predict
    monkeypatch.setattr(fast, "predict", lambda sentences, *args: calls.append(1) or original(sentences, *args))
    docs = list(nlp.pipe(["Fiebre."] * 20, batch_size=pipe_batch))
    assert len(docs) == 20 and len(calls) == rounds  # 20 docs: 8+8+4, or 5+5+5+5


def test_a_missing_local_looking_model_is_said_to_be_missing_not_looked_up(tmp_path, monkeypatch):
    import spacy_clinical_flair.models.tagger_io as tagger_io

    monkeypatch.chdir(tmp_path)
    (tmp_path / "training").mkdir()  # as in a project folder: training/ exists, training/tagger does not
    monkeypatch.setattr(tagger_io, "_load_from_hub", lambda name: pytest.fail(f"looked up {name} on the hub"))
    for model in ("training/tagger", "./tagger", "models/a/b", "no-such-tagger", "flair/ner-english"):
        started = time.perf_counter()
        with pytest.raises(FileNotFoundError, match="does not exist.*hub:NAME"):
            tagger_io.load_tagger(model)
        assert time.perf_counter() - started < 1.0
    looked_up = []
    monkeypatch.setattr(tagger_io, "_load_from_hub", looked_up.append)
    tagger_io.load_tagger("hub:flair/ner-english")  # only the explicit prefix reaches the hub
    assert looked_up == ["flair/ner-english"]


def test_pipe_hands_a_failing_group_to_the_error_handler(tiny_tagger_path, monkeypatch):
    import spacy

    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_sentencizer")
    component = nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), "doc_batch_size": 2})
    nlp.initialize()
    real_predict = component.predict

    def predict(docs):
        if any("BOOM" in doc.text for doc in docs):
            raise RuntimeError("boom")
        return real_predict(docs)

    monkeypatch.setattr(component, "predict", predict)
    texts = ["Fiebre alta.", "Tos seca.", "Nota BOOM.", "Dolor leve.", "Sin fiebre."]
    with pytest.raises(RuntimeError, match="boom"):  # spaCy's default handler raises
        list(nlp.pipe(texts, batch_size=2))
    seen = []
    nlp.set_error_handler(lambda name, proc, docs, err: seen.append((name, [d.text for d in docs], str(err))))
    out = [doc.text for doc in nlp.pipe(texts, batch_size=2)]
    assert seen == [("clinical_flair_ner", ["Nota BOOM.", "Dolor leve."], "boom")]
    assert out == ["Fiebre alta.", "Tos seca.", "Sin fiebre."]


def test_factory_and_class_share_one_set_of_defaults():
    import inspect

    from spacy.language import Language

    import spacy_clinical_flair.registrations  # noqa: F401
    from spacy_clinical_flair.pipeline.component import ClinicalFlairNER

    factory = Language.get_factory_meta("clinical_flair_ner").default_config
    keywords = {name: parameter.default for name, parameter in inspect.signature(ClinicalFlairNER).parameters.items()
                if parameter.kind is parameter.KEYWORD_ONLY and name != "scorer"}
    assert {key: value for key, value in factory.items() if key != "scorer"} == keywords
    assert keywords["batch_size"] == 32 and keywords["precision"] == "fp32"  # the documented defaults (docs/component.md)
    assert factory["scorer"] == {"@scorers": "clinical_flair.ner_scorer.v1"}
