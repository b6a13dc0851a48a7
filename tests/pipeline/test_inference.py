"""FastTagger (the component's prediction path) against Flair's own predict, batching by characters, precision."""
import warnings

import pytest
import spacy
import torch
from flair.data import Dictionary, Sentence
from flair.embeddings import CharacterEmbeddings, FlairEmbeddings, OneHotEmbeddings, StackedEmbeddings
from flair.models import SequenceTagger

from spacy_clinical_flair.ml import lm_vectors
from spacy_clinical_flair.models.build import build_language_model, character_dictionary
from spacy_clinical_flair.models.flair_data import sentence_tokens, to_flair_sentence
from spacy_clinical_flair.pipeline import fast_tagger as inference
from spacy_clinical_flair.pipeline.fast_tagger import FastTagger, fast_path_problem
from spacy_clinical_flair.text.sentences import ClinicalSentencizer

from ..conftest import LABELS, sample_texts

#: double spaces, line breaks, a tab, a sentence far longer than a 16-character LM chunk, accents
TEXTS = [
    "Paciente  de 45 años con fiebre.\nTos seca desde hace 3 días.\n\nSe pauta paracetamol 1 g/8h.",
    "Dolor abdominal\tintenso. Ecografía: colelitiasis sin signos de colecistitis aguda ni dilatación de la "
    "vía biliar intra o extrahepática, páncreas y riñones normales, sin líquido libre.",
    "HTA.  DM tipo 2.\r\nAlergia a penicilina.",
] + sample_texts("dev")[:3]


def make_tagger(*, use_crf=True, tag_format="BIOES", tokenized_lm=True, with_whitespace=True, chars_per_chunk=16,
                extra=None, seed=0):
    torch.manual_seed(seed)
    dictionary = character_dictionary(TEXTS)
    lms = [build_language_model(dictionary, forward, hidden_size=24, embedding_size=8) for forward in (True, False)]
    embeddings = [FlairEmbeddings(lm, tokenized_lm=tokenized_lm, with_whitespace=with_whitespace,
                                  chars_per_chunk=chars_per_chunk) for lm in lms] + list(extra or [])
    tags = Dictionary(add_unk=False)
    for label in LABELS:
        tags.add_item(label)
    tags.span_labels = True
    tagger = SequenceTagger(hidden_size=16, embeddings=StackedEmbeddings(embeddings), tag_dictionary=tags,
                            tag_type="ner", tag_format=tag_format, use_crf=use_crf)
    # a random CRF predicts almost nothing; larger output weights give entities to compare
    with torch.no_grad():
        tagger.linear.weight.mul_(40)
    return tagger.eval()


def docs_of(texts):
    nlp = spacy.blank("es")
    return [ClinicalSentencizer()(nlp.make_doc(text)) for text in texts]


def flair_predictions(tagger, docs, batch_size):
    """Flair's predict on Flair Sentences of the same tokens, as (start, end, label, score) in Doc indices."""
    units = [tokens for doc in docs for tokens in sentence_tokens(doc)]
    sentences = [to_flair_sentence(tokens) for tokens in units]
    tagger.predict(sentences, mini_batch_size=batch_size, embedding_storage_mode="none")
    result = []
    for tokens, sentence in zip(units, sentences):
        result.append([(tokens.token_indices[span.tokens[0].idx - 1], tokens.token_indices[span.tokens[-1].idx - 1] + 1,
                        span.get_label("ner").value, span.get_label("ner").score) for span in sentence.get_spans("ner")])
    return units, result


def assert_same(fast, flair):
    assert len(fast) == len(flair)
    n_entities = 0
    for mine, theirs in zip(fast, flair):
        assert [p[:3] for p in mine] == [p[:3] for p in theirs]
        assert [p[3] for p in mine] == pytest.approx([p[3] for p in theirs], abs=1e-5)
        n_entities += len(mine)
    assert n_entities > 5  # the comparison has entities in it


@pytest.mark.parametrize("options", [
    {},
    {"tag_format": "BIO"},
    {"use_crf": False},
    {"tokenized_lm": False},
    {"with_whitespace": False},
    {"chars_per_chunk": 512},
], ids=lambda options: ",".join(f"{k}={v}" for k, v in options.items()) or "default")
@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_fast_path_predicts_what_flair_predicts(options, batch_size):
    tagger = make_tagger(**options)
    docs = docs_of(TEXTS)
    units, expected = flair_predictions(tagger, docs, batch_size)
    assert any(len(tokens.token_indices) > 25 for tokens in units)  # long sentences: several LM chunks
    assert_same(FastTagger(tagger).predict(units, batch_size), expected)


def test_batches_are_formed_by_characters(monkeypatch):
    tagger = make_tagger()
    docs = docs_of(TEXTS)
    units = [tokens for doc in docs for tokens in sentence_tokens(doc)]
    batches = []
    original = lm_vectors.batch_states

    def spy(lm, text_units, settings):
        if lm.is_forward_lm:
            batches.append([len(unit.text) for unit in text_units])
        return original(lm, text_units, settings)

    monkeypatch.setattr(inference, "batch_states", spy)
    FastTagger(tagger).predict(units, batch_size=4)
    assert [len(batch) for batch in batches[:-1]] == [4] * (len(batches) - 1)
    assert sum(map(len, batches)) == len(units)
    flat = [length for batch in batches for length in batch]
    assert flat == sorted(flat)  # every batch holds the next-shortest sentences by characters
    # sorting by tokens (Flair) would pad more: the characters padded by each order, computed here
    by_tokens = sorted(units, key=lambda tokens: -len(tokens.token_indices))
    chars = [len(lm_vectors.token_unit(t.doc, 0, t.token_indices, True).text) for t in by_tokens]
    padded_by_tokens = sum(max(chars[i:i + 4]) * len(chars[i:i + 4]) for i in range(0, len(chars), 4))
    padded_by_chars = sum(max(batch) * len(batch) for batch in batches)
    assert padded_by_chars <= padded_by_tokens


@pytest.mark.parametrize("batch_size", [1, 32])
def test_one_hot_words_take_the_fast_path_with_flairs_result(batch_size):
    # the tagger recipe stacks one-hot word embeddings with the LMs; words unseen in the vocabulary ("<unk>")
    # must get the <unk> row as in Flair: min_freq=2 leaves most of these texts' words out of the vocabulary
    onehot = OneHotEmbeddings.from_corpus(_corpus_of(TEXTS), min_freq=2, embedding_length=8)
    vocabulary = set(onehot.vocab_dictionary.get_items())
    words = {token.text for doc in docs_of(TEXTS) for token in doc}
    assert words & vocabulary and words - vocabulary  # known and unknown words both occur
    tagger = make_tagger(extra=[onehot])
    with torch.no_grad():
        onehot.embedding_layer.weight.mul_(20)  # so that the word vectors change what is predicted
    assert fast_path_problem(tagger) is None
    docs = docs_of(TEXTS)
    units, expected = flair_predictions(tagger, docs, batch_size)
    assert_same(FastTagger(tagger).predict(units, batch_size), expected)
    with torch.no_grad():  # the comparison is sensitive to the word vectors: without them Flair predicts otherwise
        onehot.embedding_layer.weight.zero_()
    assert flair_predictions(tagger, docs, batch_size)[1] != expected


def test_other_embeddings_use_flairs_predict_with_the_same_result():
    chars = CharacterEmbeddings(character_dictionary(TEXTS), char_embedding_dim=4, hidden_size_char=4)  # no download
    tagger = make_tagger(extra=[chars])
    assert "CharacterEmbeddings" in fast_path_problem(tagger)
    with pytest.raises(ValueError, match="Flair's own predict"):
        FastTagger(tagger)
    nlp = spacy.blank("es")
    ner = nlp.add_pipe("clinical_flair_ner", config={"device": "cpu"})
    ner.set_tagger(tagger)
    assert ner.fast_taggers == [None]
    docs = docs_of(TEXTS)
    units, expected = flair_predictions(tagger, docs_of(TEXTS), 32)
    predicted = ner.predict(docs)
    assert sorted(p[:3] for doc in predicted for p in doc) == sorted(p[:3] for sent in expected for p in sent)


def _corpus_of(texts):
    from flair.data import Corpus
    from flair.datasets import FlairDatapointDataset

    sentences = [Sentence(text) for text in texts]
    return Corpus(train=FlairDatapointDataset(sentences), dev=FlairDatapointDataset(sentences[:1]),
                  test=FlairDatapointDataset(sentences[:1]))


def test_component_uses_the_fast_path_and_equals_flair():
    tagger = make_tagger()
    nlp = spacy.blank("es")
    ner = nlp.add_pipe("clinical_flair_ner", config={"device": "cpu"})
    ner.set_tagger(tagger)
    assert isinstance(ner.fast_taggers[0], FastTagger)
    docs = docs_of(TEXTS)
    units, expected = flair_predictions(tagger, docs, 32)
    by_doc = [[] for _ in docs]
    for tokens, predictions in zip(units, expected):
        by_doc[docs.index(tokens.doc)].extend(p[:3] for p in predictions)
    assert [[p[:3] for p in doc] for doc in ner.predict(docs)] == [sorted(doc) for doc in by_doc]


def test_bf16_without_hardware_support_warns_and_predicts_in_fp32(monkeypatch):
    monkeypatch.setattr("spacy_clinical_flair.ml.precision.bf16_supported", lambda device: False)
    nlp = spacy.blank("es")
    ner = nlp.add_pipe("clinical_flair_ner", config={"device": "cpu", "precision": "bf16"})
    with pytest.warns(UserWarning, match="no bfloat16 arithmetic.*predicting in fp32"):
        ner.set_tagger(make_tagger())
    assert ner.fast_taggers[0].precision == "fp32"
    assert all(p.dtype == torch.float32 for member in ner.fast_taggers[0].members for p in member.lm.parameters())


def test_bf16_runs_the_lms_in_bfloat16_and_leaves_the_saved_weights_fp32(monkeypatch):
    monkeypatch.setattr("spacy_clinical_flair.ml.precision.bf16_supported", lambda device: True)
    tagger = make_tagger()
    saved_before = {k: v.clone() for k, v in tagger.state_dict().items()}
    nlp = spacy.blank("es")
    ner = nlp.add_pipe("clinical_flair_ner", config={"device": "cpu", "precision": "bf16"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ner.set_tagger(tagger)
    fast = ner.fast_taggers[0]
    assert fast.precision == "bf16"
    assert all(p.dtype == torch.bfloat16 for member in fast.members for p in member.lm.parameters())
    state = ner.tagger.state_dict()
    assert all(state[k].dtype == v.dtype and torch.equal(state[k], v) for k, v in saved_before.items())
    # the LM states in bf16 are fp32's to bf16 precision (8 bits of mantissa)
    docs = docs_of(TEXTS)
    units = [lm_vectors.token_unit(doc, 0, tokens.token_indices, True) for doc in docs for tokens in sentence_tokens(doc)]
    fp32_member = FastTagger(tagger).members[0]
    exact = lm_vectors.batch_states(fp32_member.lm, units, fp32_member.settings)
    rounded = lm_vectors.batch_states(fast.members[0].lm, units, fast.members[0].settings)
    assert all(r.dtype == torch.float32 for r in rounded)
    worst = max(float((a - b).abs().max()) for a, b in zip(exact, rounded))
    assert 0 < worst < 0.05
    predicted = ner.predict(docs)
    assert all(0 <= start < end <= len(doc) for doc, doc_predictions in zip(docs, predicted)
               for start, end, _, _ in doc_predictions)


def test_precision_asked_for_a_tagger_the_fast_path_cannot_take_warns():
    chars = CharacterEmbeddings(character_dictionary(TEXTS), char_embedding_dim=4, hidden_size_char=4)  # no download
    nlp = spacy.blank("es")
    ner = nlp.add_pipe("clinical_flair_ner", config={"device": "cpu", "precision": "bf16"})
    with pytest.warns(UserWarning, match="CharacterEmbeddings.*fp32 with Flair's predict"):
        ner.set_tagger(make_tagger(extra=[chars]))


def test_unknown_precision_is_a_clear_error():
    nlp = spacy.blank("es")
    with pytest.raises(ValueError) as raised:  # spaCy's config validation, from the factory's Literal type
        nlp.add_pipe("clinical_flair_ner", config={"precision": "int4"})
    message = str(raised.value)
    assert "precision" in message and "'int4'" in message and "'fp32', 'bf16'" in message


def test_set_precision_on_a_loaded_pipeline(monkeypatch, tiny_tagger_path):
    from spacy_clinical_flair import set_precision
    from spacy_clinical_flair.cli.common import PrecisionChoice
    from spacy_clinical_flair.ml.precision import PRECISIONS

    assert tuple(choice.value for choice in PrecisionChoice) == PRECISIONS
    monkeypatch.setattr("spacy_clinical_flair.ml.precision.bf16_supported", lambda device: True)
    nlp = spacy.blank("es")
    nlp.add_pipe("clinical_flair_ner", config={"model": str(tiny_tagger_path), "device": "cpu"})
    nlp.initialize()
    ner = nlp.get_pipe("clinical_flair_ner")
    assert ner.fast_taggers[0].precision == "fp32"
    assert set_precision(nlp, "bf16") == 1
    assert ner.cfg["precision"] == "bf16" and ner.fast_taggers[0].precision == "bf16"
    assert len(list(nlp.pipe(TEXTS))) == len(TEXTS)
    with pytest.raises(ValueError, match="precision must be one of"):
        set_precision(nlp, "fp8")


@pytest.mark.parametrize("options", [{}, {"tag_format": "BIO"}, {"use_crf": False}, {"reproject": False},
                                     {"rnn_layers": 2}, {"onehot": True}],
                         ids=lambda options: ",".join(options) or "default")
def test_onnx_engine_predicts_what_flair_predicts(options):
    """engine "onnx": the LMs and the tagger's network (reprojection, BiLSTM with each sentence's length, emissions)
    run by ONNX Runtime; the CRF and the decoding stay the same code, so the entities equal Flair's."""
    pytest.importorskip("onnxruntime")
    extra = [OneHotEmbeddings.from_corpus(_corpus_of(TEXTS), min_freq=2, embedding_length=8)] if "onehot" in options else None
    tagger = make_tagger(use_crf=options.get("use_crf", True), tag_format=options.get("tag_format", "BIOES"), extra=extra)
    if "reproject" in options or "rnn_layers" in options:  # rebuilt with the option: make_tagger keeps the defaults
        torch.manual_seed(1)
        tagger = SequenceTagger(hidden_size=16, embeddings=tagger.embeddings, tag_dictionary=tagger.label_dictionary,
                                tag_type="ner", reproject_embeddings=options.get("reproject", True),
                                rnn_layers=options.get("rnn_layers", 1)).eval()
        with torch.no_grad():
            tagger.linear.weight.mul_(40)
    docs = docs_of(TEXTS)
    units, expected = flair_predictions(tagger, docs, 4)
    onnx_fast = FastTagger(tagger, "fp32", "onnx")
    assert onnx_fast.network is not None
    assert_same(onnx_fast.predict(units, 4), expected)


def test_onnx_int8_agreement_is_measured_and_bf16_is_refused():
    pytest.importorskip("onnxruntime")
    tagger = make_tagger()
    docs = docs_of(TEXTS)
    units, expected = flair_predictions(tagger, docs, 32)
    got = FastTagger(tagger, "int8", "onnx").predict(units, 32)
    same = sum(len({p[:3] for p in a} & {p[:3] for p in b}) for a, b in zip(got, expected))
    total = sum(len(b) for b in expected)
    # int8 weights on a random tiny tagger: most entities survive (the figure on real models is in benchmarks/)
    assert total > 5 and same / total > 0.5
    with pytest.raises(ValueError, match="onnx engine runs precision 'fp32' or 'int8'"):
        FastTagger(tagger, "bf16", "onnx")
    with pytest.raises(ValueError, match="needs engine 'onnx'"):
        FastTagger(tagger, "int8")
