"""The thinc models inside a spaCy pipeline, for the helpers that adjust them after creation or loading."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from thinc.api import Model

if TYPE_CHECKING:
    from spacy.language import Language


def pipeline_nodes(nlp: "Language") -> Iterator[Model]:
    """Every thinc model node of ``nlp``'s components (each component's ``model`` and everything under it),
    each node once even where components share one. Components without a thinc model are skipped."""
    seen = set()
    for _, component in nlp.components:
        model = getattr(component, "model", None)
        if not isinstance(model, Model):
            continue
        for node in model.walk():
            if id(node) not in seen:
                seen.add(id(node))
                yield node
