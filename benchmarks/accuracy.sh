#!/usr/bin/env bash
# Everything behind benchmarks/accuracy.md: each system trained within the same wall-clock budget (MINUTES,
# default 10, LM training included) on a BRAT corpus's train (+dev for model selection), scored on its test
# split, for each seed. Runs one after another, never side by side (they would share the cores).
#
#   bash benchmarks/accuracy.sh CORPUS_DIR OUT [MINUTES] [SEEDS] [SYSTEM ...]
#
# CORPUS_DIR holds train/ dev/ test/ BRAT folders. SEEDS: e.g. "1 2 3" (default). SYSTEMs (default: all):
#   spacy                spaCy's efficiency NER (`spacy init config -o efficiency`), spaCy's tokenizer
#   spacy-clinical       the same with this package's clinical tokenizer
#   spacy-clinical-blas  the same on numpy's BLAS (clinical_flair.blas_ops.v1), as fast per step as the default
#   spacy-clinical-floret  spacy-clinical + static floret vectors (include_static_vectors) from FLORET_VECTORS, a
#                        `spacy init vectors` folder made by benchmarks/floret_vectors.py from unlabelled text
#   default              the project's default: spaCy NER on the Flair layer over the shipped base LMs as they are
#   default-lm           the default after the project's `lm` step: the base LMs fine-tuned on the corpus's train+dev
#                        text for LM_MINUTES (default 2) of the same budget, then spaCy NER on them for the rest
#   spacy-flair-scratch  spaCy NER on the Flair layer over LMs trained from scratch in the budget (4 min)
#   tagger               the clinical_flair_ner tagger recipe (configs/ner_cpu.cfg) on the shipped base LMs
#   tagger-scratch       the same tagger on LMs trained from scratch in the budget (the earlier `cpu` recipe)
# Writes OUT/SYSTEM-seedN/EVAL.json (spacy evaluate of the EVAL split: test, or dev with EVAL=dev) and seconds; then python benchmarks/accuracy_table.py OUT.
set -euo pipefail
corpus=${1:?usage: accuracy.sh CORPUS_DIR OUT [MINUTES] [SEEDS] [SYSTEM ...]}
out=${2:?OUT}
minutes=${3:-10}
seeds=${4:-1 2 3}
shift $(( $# < 4 ? $# : 4 ))
systems=${*:-spacy spacy-clinical default spacy-flair-scratch tagger tagger-scratch}
here=$(dirname "$0")
data="$out/data"
base_forward=assets/lms/clinical-es-forward.safetensors
base_backward=assets/lms/clinical-es-backward.safetensors

mkdir -p "$data"
for split in train dev test; do
  [ -f "$data/$split.spacy" ] || python -m spacy_clinical_flair convert "$corpus/$split" "$data/$split.spacy" \
    --no-progress --report "$data/$split.report.json" >/dev/null
done
for system in $systems; do
  for seed in $seeds; do
    run="$out/$system-seed$seed"
    if [ -f "$run/${EVAL:-test}.json" ]; then echo "$run done"; continue; fi
    case $system in
      spacy) bash "$here/accuracy_spacy.sh" "$data" "$minutes" "$seed" "$run" ;;
      spacy-clinical) SPACY_TOKENIZER=clinical bash "$here/accuracy_spacy.sh" "$data" "$minutes" "$seed" "$run" ;;
      spacy-clinical-blas) SPACY_TOKENIZER=clinical BLAS_OPS=1 bash "$here/accuracy_spacy.sh" "$data" "$minutes" "$seed" "$run" ;;
      spacy-clinical-floret) SPACY_TOKENIZER=clinical VECTORS=${FLORET_VECTORS:?from benchmarks/floret_vectors.py} \
                 bash "$here/accuracy_spacy.sh" "$data" "$minutes" "$seed" "$run" ;;
      default) FINETUNE_MINUTES=0 BASE_FORWARD=$base_forward BASE_BACKWARD=$base_backward \
                 bash "$here/accuracy_spacy_flair.sh" "$data" "$minutes" "$seed" "$run" ;;
      default-lm) FINETUNE_MINUTES=${LM_MINUTES:-2} BASE_FORWARD=$base_forward BASE_BACKWARD=$base_backward \
                 bash "$here/accuracy_spacy_flair.sh" "$data" "$minutes" "$seed" "$run" ;;
      spacy-flair-scratch) FINETUNE_MINUTES=4 BASE_FORWARD=scratch \
                 bash "$here/accuracy_spacy_flair.sh" "$data" "$minutes" "$seed" "$run" ;;
      tagger) FINETUNE_MINUTES=0 BASE_FORWARD=$base_forward BASE_BACKWARD=$base_backward \
                 bash "$here/accuracy_recipe.sh" "$data" "$minutes" "$seed" "$run" ;;
      tagger-scratch) bash "$here/accuracy_recipe.sh" "$data" "$minutes" "$seed" "$run" ;;
      *) echo "unknown system $system" >&2; exit 2 ;;
    esac
  done
done
python "$here/accuracy_table.py" "$out" --split "${EVAL:-test}"
