#!/usr/bin/env bash
# Everything behind benchmarks/accuracy.md: the cpu recipe against spaCy's efficiency NER on a real
# BRAT corpus, the same wall-clock budget each (MINUTES, default 10) on this machine, 3 seeds each,
# then the ablations (seed 1). Runs one after another, never side by side (they would share the cores).
#
#   bash benchmarks/accuracy.sh CORPUS_DIR [MINUTES] [OUT] [PHASE ...]
#
# CORPUS_DIR holds train/ dev/ test/ BRAT folders. PHASEs (default: all of them, in this order):
# convert spacy recipe ablations table. About (6 + 6) x MINUTES for spacy + recipe, 6 x MINUTES for
# the ablations.
set -euo pipefail
corpus=${1:?usage: accuracy.sh CORPUS_DIR [MINUTES] [OUT] [PHASE ...]}
minutes=${2:-10}
out=${3:-benchmarks/out/acc}
shift $(( $# < 3 ? $# : 3 ))
phases=${*:-convert spacy recipe ablations table}
here=$(dirname "$0")
data="$out/data"

for phase in $phases; do
  case $phase in
    convert)
      mkdir -p "$data" "$data-default"
      for split in train dev test; do
        python -m spacy_clinical_flair convert "$corpus/$split" "$data/$split.spacy" --no-progress \
          --report "$data/$split.report.json" >/dev/null
        python -m spacy_clinical_flair convert "$corpus/$split" "$data-default/$split.spacy" --no-progress \
          --tokenizer default --report "$data-default/$split.report.json" >/dev/null
      done ;;
    spacy)
      for seed in 1 2 3; do bash "$here/accuracy_spacy.sh" "$data" "$minutes" "$seed" "$out/spacy-seed$seed"; done ;;
    recipe)
      for seed in 1 2 3; do bash "$here/accuracy_recipe.sh" "$data" "$minutes" "$seed" "$out/recipe-seed$seed"; done ;;
    ablations)
      lm="$out/recipe-seed1"  # its LMs and their training time are reused: same budget for every tagger
      REUSE_LM=$lm bash "$here/accuracy_recipe.sh" "$data" "$minutes" 1 "$out/ablation-onehot" --ner.extra_embeddings '["onehot"]'
      REUSE_LM=$lm bash "$here/accuracy_recipe.sh" "$data" "$minutes" 1 "$out/ablation-train-only" --ner.train_with_dev false
      REUSE_LM=$lm bash "$here/accuracy_recipe.sh" "$data" "$minutes" 1 "$out/ablation-crf" --ner.use_crf true
      REUSE_LM=$lm PIPELINE_TOKENIZER=default bash "$here/accuracy_recipe.sh" "$data-default" "$minutes" 1 "$out/ablation-default-tokenizer"
      REUSE_LM=$lm MEMBERS=3 bash "$here/accuracy_recipe.sh" "$data" "$minutes" 1 "$out/ablation-ensemble3"
      NO_LM=1 bash "$here/accuracy_recipe.sh" "$data" "$minutes" 1 "$out/ablation-no-lm" --ner.extra_embeddings '["onehot","char"]'
      SPACY_TOKENIZER=clinical bash "$here/accuracy_spacy.sh" "$data" "$minutes" 1 "$out/ablation-spacy-clinical-tokenizer" ;;
    table)
      python "$here/accuracy_table.py" "$out" ;;
    *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done
