#!/usr/bin/env bash
# spaCy's own NER baseline for benchmarks/accuracy.md: `spacy init config -l es -p ner -o efficiency`,
# `spacy train` on the same .spacy files as the Clinical Flair recipe, stopped by `timeout` after
# MINUTES of wall clock (model-best is kept), then `spacy evaluate` on the test split.
#
#   bash benchmarks/accuracy_spacy.sh DATA_DIR MINUTES SEED OUT
#
# DATA_DIR holds train.spacy, dev.spacy and test.spacy (from `python -m spacy_clinical_flair convert`).
# spaCy re-tokenises the text with its own tokenizer, so the converter's tokenizer does not matter here.
# SPACY_TOKENIZER=clinical trains spaCy with this package's clinical tokenizer instead of its own.
# BLAS_OPS=1 runs thinc's matrix products on numpy's BLAS (this package's clinical_flair.blas_ops.v1).
# VECTORS=DIR adds static vectors (a `spacy init vectors` folder, e.g. from benchmarks/floret_vectors.py).
# AVERAGES=1 trains with parameter averaging (--training.optimizer.use_averages true; spaCy's config: false).
# EVAL=dev|test picks the split scored at the end (default test).
# Writes OUT/test.json (spacy evaluate) and OUT/seconds (training wall clock).
set -euo pipefail
data=${1:?usage: accuracy_spacy.sh DATA_DIR MINUTES SEED OUT}
minutes=${2:?MINUTES}
seed=${3:?SEED}
out=${4:?OUT}
mkdir -p "$out"
python -m spacy init config "$out/spacy-ner.cfg" -l es -p ner -o efficiency --force >/dev/null
start=$(date +%s)
extra_args=()
if [ "${SPACY_TOKENIZER:-default}" = clinical ]; then extra_args=(--nlp.tokenizer.@tokenizers clinical_flair.tokenizer.v1); fi
if [ -n "${BLAS_OPS:-}" ]; then extra_args+=(--nlp.after_pipeline_creation '{"@callbacks": "clinical_flair.blas_ops.v1"}'); fi
if [ -n "${AVERAGES:-}" ]; then extra_args+=(--training.optimizer.use_averages true); fi
if [ -n "${VECTORS:-}" ]; then extra_args+=(--paths.vectors "$VECTORS" --components.tok2vec.model.embed.include_static_vectors true); fi
timeout "${minutes}m" python -m spacy train "$out/spacy-ner.cfg" --output "$out/model" \
  --paths.train "$data/train.spacy" --paths.dev "$data/dev.spacy" --system.seed "$seed" "${extra_args[@]}" \
  >"$out/train.log" 2>&1 || [ $? -eq 124 ]
echo $(( $(date +%s) - start )) >"$out/seconds"
python -m spacy evaluate "$out/model/model-best" "$data/${EVAL:-test}.spacy" --output "$out/${EVAL:-test}.json" >/dev/null
python -c "import json,sys; m=json.load(open(sys.argv[1])); print(f\"spacy seed $seed ${EVAL:-test}: P {m['ents_p']:.4f} R {m['ents_r']:.4f} F1 {m['ents_f']:.4f}\")" "$out/${EVAL:-test}.json"
