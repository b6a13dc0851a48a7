"""thinc layers for spaCy pipelines: Flair's character-LM vectors as a ``tok2vec`` embedding."""
from .flair_tok2vec import FlairEmbed, FlairLMShim, FlairVectors, flair_shims, make_precompute_vectors

__all__ = ["FlairEmbed", "FlairLMShim", "FlairVectors", "flair_shims", "make_precompute_vectors"]
