"""Portuguese (`lang: pt`) through conversion, sentence splitting, training and the project."""
import spacy
from spacy.tokens import DocBin

from spacy_clinical_flair.corpus.convert import convert_brat_folder
from spacy_clinical_flair.text.sentences import sentencizer_for
from spacy_clinical_flair.text.tokenizer import blank_pipeline

from ..conftest import REPO
from ..test_project import copy_project, outermost_continuous, run_project

SAMPLE_PT = REPO / "assets" / "sample_pt"


def test_portuguese_sample_converts_with_every_entity_accounted_for(tmp_path):
    for split in ("train", "dev", "test"):
        _, report = convert_brat_folder(SAMPLE_PT / split, tmp_path / f"{split}.spacy", lang="pt", progress=False)
        assert report.is_consistent
        docs = list(DocBin().from_disk(tmp_path / f"{split}.spacy").get_docs(spacy.blank("pt").vocab))
        assert docs and all(doc.lang_ == "pt" for doc in docs)
        assert sum(len(doc.ents) for doc in docs) == outermost_continuous(SAMPLE_PT / split) > 0
        labels = {ent.label_ for doc in docs for ent in doc.ents}
        assert {"DOENCA", "MEDICAMENTO", "PROCEDIMENTO", "SINTOMA"} <= labels


def test_portuguese_abbreviations_do_not_end_a_sentence():
    text = "Administrada 1 amp. IV de dipirona. Refere melhora."
    for lang, expected in (("pt", 2), ("es", 3)):  # "amp" (ampola) is a Portuguese abbreviation only
        doc = sentencizer_for(lang)(blank_pipeline(lang)(text))
        assert len(list(doc.sents)) == expected, lang
    nlp = blank_pipeline("pt")
    nlp.add_pipe("clinical_sentencizer")  # the factory picks the pipeline language's list
    assert [s.text for s in nlp(text).sents] == ["Administrada 1 amp. IV de dipirona.", "Refere melhora."]


def test_spacy_ner_on_the_flair_layer_learns_portuguese(tmp_path):
    import torch

    from spacy_clinical_flair.models.build import build_language_model, character_dictionary
    from spacy_clinical_flair.models.lm_io import save_language_model
    from spacy_clinical_flair.training.spacy_train import train_spacy_pipeline

    for split in ("train", "dev"):
        convert_brat_folder(SAMPLE_PT / split, tmp_path / f"{split}.spacy", lang="pt", progress=False)
    torch.manual_seed(3)
    texts = [p.read_text(encoding="utf-8") for p in sorted((SAMPLE_PT / "train").glob("*.txt"))]
    lms = [save_language_model(build_language_model(character_dictionary(texts), forward, hidden_size=16,
                                                    embedding_size=8), tmp_path / f"lm-{forward}.safetensors")
           for forward in (True, False)]
    overrides = {"paths.train": str(tmp_path / "train.spacy"), "paths.dev": str(tmp_path / "dev.spacy"),
                 "paths.lm_forward": str(lms[0]), "paths.lm_backward": str(lms[1]), "nlp.lang": "pt",
                 "training.max_steps": 200, "training.eval_frequency": 50}
    result = train_spacy_pipeline(REPO / "configs" / "spacy_flair_ner.cfg", tmp_path / "out", overrides)
    assert result.best_score is not None and result.best_score > 0.3, result.scores
    nlp = spacy.load(result.best_model)
    assert nlp.lang == "pt" and "DOENCA" in nlp.get_pipe("ner").labels


def test_project_convert_with_lang_pt(tmp_path):
    project = copy_project(tmp_path / "project")
    run_project("run", "convert", project, "--vars.lang", "pt", "--vars.train_dir", "assets/sample_pt/train",
                "--vars.dev_dir", "assets/sample_pt/dev", "--vars.test_dir", "assets/sample_pt/test", cwd=tmp_path)
    docs = list(DocBin().from_disk(project / "corpus" / "dev.spacy").get_docs(spacy.blank("pt").vocab))
    assert sum(len(doc.ents) for doc in docs) == outermost_continuous(SAMPLE_PT / "dev")
