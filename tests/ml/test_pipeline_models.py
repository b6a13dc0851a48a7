"""pipeline_models.pipeline_nodes: every thinc node of a pipeline's components, each once."""
import spacy

from spacy_clinical_flair.ml.pipeline_models import pipeline_nodes


def test_every_node_of_every_model_component_once_and_components_without_a_model_skipped():
    nlp = spacy.blank("es")
    nlp.add_pipe("sentencizer")  # no thinc model
    tok2vec = nlp.add_pipe("tok2vec")
    tagger = nlp.add_pipe("tagger")
    expected = {id(node) for node in tok2vec.model.walk()} | {id(node) for node in tagger.model.walk()}
    nodes = list(pipeline_nodes(nlp))
    assert len(nodes) == len({id(node) for node in nodes}), "a node was yielded twice"
    assert {id(node) for node in nodes} == expected


def test_a_model_shared_by_two_components_is_walked_once():
    nlp = spacy.blank("es")
    first = nlp.add_pipe("tok2vec", name="first")
    second = nlp.add_pipe("tok2vec", name="second")
    second.model = first.model
    nodes = list(pipeline_nodes(nlp))
    assert len(nodes) == len(list(first.model.walk()))
