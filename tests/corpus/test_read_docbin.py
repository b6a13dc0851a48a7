"""read_docbin: DocBins with and without stored user data."""
import warnings

import spacy
from spacy.tokens import DocBin, Span

from spacy_clinical_flair.corpus.docs import read_docbin


def test_a_docbin_saved_without_user_data_reads_without_a_warning(tmp_path):
    nlp = spacy.blank("es")
    doc = nlp("Paciente con fiebre alta.")
    doc.ents = [Span(doc, 2, 4, label="SINTOMA")]
    DocBin(docs=[doc, nlp("Sin hallazgos.")], store_user_data=False).to_disk(tmp_path / "pred.spacy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        docs = list(read_docbin(tmp_path / "pred.spacy"))
    assert [d.text for d in docs] == ["Paciente con fiebre alta.", "Sin hallazgos."]
    assert [(e.text, e.label_) for e in docs[0].ents] == [("fiebre alta", "SINTOMA")]


def test_stored_user_data_is_kept(tmp_path):
    doc = spacy.blank("es")("tos")
    doc.user_data["doc_id"] = "note-7"
    DocBin(docs=[doc], store_user_data=True).to_disk(tmp_path / "gold.spacy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (read,) = read_docbin(tmp_path / "gold.spacy")
    assert read.user_data["doc_id"] == "note-7"
