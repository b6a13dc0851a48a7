#!/usr/bin/env bash
# spaCy's own `ner` on the Flair layer (configs/spacy_flair_ner.cfg) for benchmarks/accuracy.md, within
# MINUTES of wall clock in total: optionally fine-tune the base LMs on the train+dev text first (FINETUNE_MINUTES
# of the budget, both directions side by side), then `train-spacy-ner` for what is left (its budget covers
# computing the LM vectors), then `spacy evaluate` of model-best on the EVAL split (not timed).
#
#   bash benchmarks/accuracy_spacy_flair.sh DATA_DIR MINUTES SEED OUT [--section.key value ...]
#
# DATA_DIR holds train.spacy, dev.spacy, test.spacy. Environment:
#   BASE_FORWARD / BASE_BACKWARD   base LM files (default: the shipped assets/lms/clinical-es-*.safetensors);
#                                  "scratch": train both LMs from scratch in the budget (configs/lm_cpu.cfg)
#   FINETUNE_MINUTES=M             fine-tune (or, from scratch, train) the LMs for M minutes first (default 0)
#   LM_CONFIG=FILE                 LM config for that step (default configs/lm_finetune.cfg)
#   CONFIG=FILE                    spaCy config (default configs/spacy_flair_ner.cfg)
#   EVAL=dev|test                  split scored at the end (default test)
# Writes OUT/EVAL.json (spacy evaluate), OUT/seconds (training wall clock), OUT/train.log.
set -euo pipefail
data=${1:?usage: accuracy_spacy_flair.sh DATA_DIR MINUTES SEED OUT [overrides]}
minutes=${2:?MINUTES}
seed=${3:?SEED}
out=${4:?OUT}
shift 4
eval_split=${EVAL:-test}
config=${CONFIG:-configs/spacy_flair_ner.cfg}
forward=${BASE_FORWARD:-assets/lms/clinical-es-forward.safetensors}
backward=${BASE_BACKWARD:-assets/lms/clinical-es-backward.safetensors}
finetune=${FINETUNE_MINUTES:-0}
lm_config=${LM_CONFIG:-configs/lm_finetune.cfg}
mkdir -p "$out"
calc() { python -c "print(round($1, 2))"; }

start=$(date +%s)
if [ "$forward" = scratch ] || [ "$finetune" != 0 ]; then
  base_args=()
  if [ "$forward" = scratch ]; then lm_config=${LM_CONFIG:-configs/lm_cpu.cfg}; base_args=(--base-forward null --base-backward null)
  else base_args=(--base-forward "$forward" --base-backward "$backward"); fi
  python -m spacy_clinical_flair train-lm "$lm_config" "$out/lm" --direction both "${base_args[@]}" \
    --paths.train "$data/train.spacy" --paths.dev "$data/dev.spacy" --lm.max_minutes "$finetune" \
    --lm.max_epochs 1000 --lm.seed "$seed" --corpus.seed "$seed" >"$out/lm.log" 2>&1
  forward="$out/lm/forward/best-lm.pt"; backward="$out/lm/backward/best-lm.pt"
fi
left=$(calc "($minutes * 60 - ($(date +%s) - $start)) / 60")
python -m spacy_clinical_flair train-spacy-ner "$config" "$out/model" --max-minutes "$left" \
  --paths.train "$data/train.spacy" --paths.dev "$data/dev.spacy" --paths.lm_forward "$forward" \
  --paths.lm_backward "$backward" --system.seed "$seed" "$@" >"$out/train.log" 2>&1
echo $(( $(date +%s) - start )) >"$out/seconds"
python -m spacy evaluate "$out/model/model-best" "$data/$eval_split.spacy" --output "$out/$eval_split.json" >/dev/null
python -c "import json,sys; m=json.load(open(sys.argv[1])); print(f\"spacy-flair seed $seed $eval_split ($(cat "$out/seconds") s): P {m['ents_p']:.4f} R {m['ents_r']:.4f} F1 {m['ents_f']:.4f}\")" "$out/$eval_split.json"
