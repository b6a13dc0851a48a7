"""clinical_flair.blas_ops.v1: a pipeline's thinc models on numpy's BLAS, nothing else changed."""
import numpy
import spacy
from spacy.training import Example
from thinc.api import NumpyOps, Ops, get_current_ops

from spacy_clinical_flair.ml.cpu_ops import use_blas_ops

TEXTS = ["Paciente de 45 años, vive en Madrid.", "Se realiza biopsia hepática el 3 de mayo."]


def ner_pipeline(after_creation=None):
    """A blank Spanish tok2vec + ner pipeline built from its config, with an optional after_pipeline_creation."""
    config = {"nlp": {"pipeline": ["tok2vec", "ner"]},
              "components": {"tok2vec": {"factory": "tok2vec"}, "ner": {"factory": "ner"}}}
    if after_creation is not None:
        config["nlp"]["after_pipeline_creation"] = after_creation
    return spacy.blank("es", config=config)


def nodes_by_ops(nlp):
    kinds = {"blis": 0, "blas": 0, "other": 0}
    for _, component in nlp.components:
        for node in component.model.walk():
            if type(node.ops) is not NumpyOps:
                kinds["other"] += 1
            else:
                kinds["blis" if node.ops.use_blis else "blas"] += 1
    return kinds


def test_config_callback_moves_every_model_node_and_leaves_thincs_default():
    nlp = ner_pipeline({"@callbacks": "clinical_flair.blas_ops.v1"})
    kinds = nodes_by_ops(nlp)
    assert kinds["blis"] == 0 and kinds["blas"] > 20, kinds
    assert get_current_ops().use_blis, "the process-wide default must stay as it was"
    assert nodes_by_ops(ner_pipeline())["blas"] == 0, "a pipeline without the callback keeps BLIS"
    off = ner_pipeline({"@callbacks": "clinical_flair.blas_ops.v1", "enabled": False})
    assert nodes_by_ops(off)["blas"] == 0


def test_other_backends_are_left_alone():
    nlp = ner_pipeline()
    first = next(iter(nlp.get_pipe("tok2vec").model.walk()))
    foreign = Ops()
    first.ops = foreign
    moved = use_blas_ops(nlp)
    assert first.ops is foreign
    assert moved == sum(1 for _, c in nlp.components for _ in c.model.walk()) - 1


def test_training_and_prediction_match_blis_up_to_float_rounding():
    """The same pipeline trained for a few steps from the same seed on BLIS and on numpy's BLAS gives the
    same tok2vec outputs (to float32 rounding) and the same entities."""
    def trained(blas: bool):
        spacy.util.fix_random_seed(0)
        nlp = ner_pipeline({"@callbacks": "clinical_flair.blas_ops.v1", "enabled": blas})
        docs = [nlp.make_doc(text) for text in TEXTS]
        examples = [Example.from_dict(docs[0], {"entities": [(29, 35, "LOC")]}),
                    Example.from_dict(docs[1], {"entities": [(31, 40, "DATE")]})]
        optimizer = nlp.initialize(lambda: examples)
        for _ in range(15):
            nlp.update(examples, sgd=optimizer, losses={})
        return nlp

    blis, blas = trained(False), trained(True)
    assert nodes_by_ops(blas)["blas"] > 0 and nodes_by_ops(blis)["blas"] == 0
    for left, right in zip(blis.pipe(TEXTS), blas.pipe(TEXTS)):
        numpy.testing.assert_allclose(left.tensor, right.tensor, rtol=1e-3, atol=1e-4)
        assert [(e.start_char, e.end_char, e.label_) for e in left.ents] == \
               [(e.start_char, e.end_char, e.label_) for e in right.ents]
    assert [(e.text, e.label_) for e in blas(TEXTS[0]).ents] == [("Madrid", "LOC")], "it must have learnt"
