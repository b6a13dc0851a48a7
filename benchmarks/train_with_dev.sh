#!/usr/bin/env bash
# A release model trained on train + dev for a step count chosen on dev (no early stopping, model-last kept), then
# scored once on test: the default recipe (configs/spacy_flair_ner.cfg) on an LM pair.
#
#   bash benchmarks/train_with_dev.sh DATA_DIR OUT STEPS SEED [LM_FOLDER] [--section.key value ...]
#
# DATA_DIR holds train.spacy, dev.spacy, test.spacy (benchmarks/lm_ladder.sh's OUT/CORPUS/data). spaCy's loop
# still evaluates every eval_frequency steps; it is given the first 25 dev documents (which it has trained on: the
# score means nothing and costs little). Writes OUT/model/model-last, OUT/seconds, OUT/test.json (spacy evaluate) and
# OUT/pred/test.{spacy,ents.json.gz}. es_meddocan_flair's train+dev run (2026-12-07):
#   bash benchmarks/train_with_dev.sh OUT/meddocan/data OUT/meddocan-traindev 10000 1 assets/lms
set -euo pipefail
data=${1:?usage: train_with_dev.sh DATA_DIR OUT STEPS SEED [LM_FOLDER] [overrides]}
out=${2:?OUT}
steps=${3:?STEPS}
seed=${4:?SEED}
lms=${5:-assets/lms}
shift $(( $# < 5 ? $# : 5 ))
here=$(dirname "$0")
mkdir -p "$out/data" "$out/pred"
python - "$data" "$out/data" <<'PY'
import sys
import spacy
from spacy.tokens import DocBin
source, target = sys.argv[1], sys.argv[2]
vocab = spacy.blank("xx").vocab
train = list(DocBin().from_disk(f"{source}/train.spacy").get_docs(vocab))
dev = list(DocBin().from_disk(f"{source}/dev.spacy").get_docs(vocab))
DocBin(docs=train + dev, store_user_data=True).to_disk(f"{target}/train-dev.spacy")
DocBin(docs=dev[:25], store_user_data=True).to_disk(f"{target}/dev25.spacy")
print(f"{len(train)} train + {len(dev)} dev documents")
PY
start=$(date +%s)
python -m spacy_clinical_flair train-spacy-ner configs/spacy_flair_ner.cfg "$out/model" \
  --paths.train "$out/data/train-dev.spacy" --paths.dev "$out/data/dev25.spacy" \
  --paths.lm_forward "$lms/clinical-es-forward.safetensors" --paths.lm_backward "$lms/clinical-es-backward.safetensors" \
  --system.seed "$seed" --training.max_steps "$steps" --training.patience 0 "$@" >"$out/train.log" 2>&1
echo $(( $(date +%s) - start )) >"$out/seconds"
python -m spacy evaluate "$out/model/model-last" "$data/test.spacy" --output "$out/test.json" >/dev/null
python "$here/predict_split.py" "$out/model/model-last" "$data/test.spacy" "$out/pred/test.spacy"
python "$here/prediction_entities.py" "$out/pred/test.spacy" "$out/pred/test.ents.json.gz"
