#!/usr/bin/env bash
# Base LMs compared on the dev splits: for each corpus, seed and LM pair, one route (default: spaCy's `ner` on the
# Flair layer, the project default; ROUTE=tagger: the clinical_flair_ner tagger recipe, on train only, so that its
# dev score is clean) trained within MINUTES,
# then its predictions on the dev split saved for benchmarks/accuracy_compare.py (paired bootstrap). The LM pairs
# of one corpus and seed run one right after the other (never side by side: they would share the cores), so
# what else the machine did touches each pair alike.
#
#   bash benchmarks/lm_ladder.sh DATA_ROOT OUT MINUTES "SEEDS" "CORPORA" LABEL=LM_FOLDER [LABEL=LM_FOLDER ...]
#
# LM_FOLDER holds clinical-es-forward.safetensors and clinical-es-backward.safetensors (assets/lms: the shipped
# pair). Runs go to OUT/CORPUS/ROUTE@LABEL-MINUTESm-seedN (a finished one is skipped), predictions to
# OUT/CORPUS/pred/dev/ROUTE@LABEL-MINUTESm-seedN.spacy and, small enough to keep in results/, their entities
# (.ents.json.gz, benchmarks/prediction_entities.py). OVERRIDES="--section.key value ..." passes config
# overrides to the default route's training (e.g. the training vectors' precision; give such runs their own LABEL:
#   OVERRIDES="--components.tok2vec.model.embed.vectors.training_precision bf16" ... gpu512bf16=LM_FOLDER).
# Then, e.g.:
#   python benchmarks/accuracy_compare.py OUT --corpora meddocan medprocner pharmaconer symptemist --splits dev \
#     --pairs default@gpu512-10m:default@shipped-10m
set -euo pipefail
root=${1:?usage: lm_ladder.sh DATA_ROOT OUT MINUTES SEEDS CORPORA LABEL=LM_FOLDER ...}
out=${2:?OUT}
minutes=${3:?MINUTES}
seeds=${4:?SEEDS}
corpora=${5:?CORPORA}
shift 5
route=${ROUTE:-default}
read -r -a overrides <<< "${OVERRIDES:-}"
here=$(dirname "$0")
for corpus in $corpora; do
  data="$out/$corpus/data"
  mkdir -p "$data"
  for split in train dev test; do
    [ -f "$data/$split.spacy" ] || python -m spacy_clinical_flair convert "$root/$corpus/$split" "$data/$split.spacy" \
      --no-progress --report "$data/$split.report.json" >/dev/null
  done
  for seed in $seeds; do
    for pair in "$@"; do
      label=${pair%%=*}; lms=${pair#*=}
      name="$route@$label-${minutes}m-seed$seed"; run="$out/$corpus/$name"
      if [ -f "$run/dev.json" ]; then echo "$run done"; continue; fi
      export EVAL=dev FINETUNE_MINUTES=0 BASE_FORWARD="$lms/clinical-es-forward.safetensors" \
        BASE_BACKWARD="$lms/clinical-es-backward.safetensors"
      case $route in
        default) bash "$here/accuracy_spacy_flair.sh" "$data" "$minutes" "$seed" "$run" ${overrides[@]+"${overrides[@]}"}; model="$run/model/model-best" ;;
        # train only: the recipe's own setting trains on train+dev, which would score the tagger on text it learned
        tagger) bash "$here/accuracy_recipe.sh" "$data" "$minutes" "$seed" "$run" --ner.train_with_dev false; model="$run/pipeline" ;;
        *) echo "unknown ROUTE $route" >&2; exit 2 ;;
      esac
      python "$here/predict_split.py" "$model" "$data/dev.spacy" "$out/$corpus/pred/dev/$name.spacy"
      python "$here/prediction_entities.py" "$out/$corpus/pred/dev/$name.spacy" "$out/$corpus/pred/dev/$name.ents.json.gz"
    done
  done
done
