"""Training: character language models (:mod:`.lm`) and the NER tagger (:mod:`.ner`), driven by config files."""
