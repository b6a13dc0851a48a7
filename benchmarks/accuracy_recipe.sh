#!/usr/bin/env bash
# The Clinical Flair `cpu` recipe for benchmarks/accuracy.md, within MINUTES of wall clock in total
# (both LMs + the tagger), then `spacy assemble` + `spacy evaluate` on the test split (not timed).
#
#   bash benchmarks/accuracy_recipe.sh DATA_DIR MINUTES SEED OUT [--section.key value ...]
#
# DATA_DIR holds train.spacy, dev.spacy, test.spacy. Phases: `train-lm configs/lm_cpu.cfg --direction both`
# for LM_SHARE (default 0.4) of MINUTES, then `train-tagger configs/ner_cpu.cfg` for whatever is left
# (less a margin for starting Python; train-tagger's budget covers reading and embedding the data). Extra arguments override the NER config
# (ablations). Environment:
#   REUSE_LM=DIR   use the LMs of an earlier run (DIR/lm/{forward,backward}/best-lm.pt) and give the
#                  tagger what that run left it (MINUTES - DIR/lm-seconds): same budget, no LM retraining
#   NO_LM=1        no LMs at all: the tagger gets the whole budget (pass extra embeddings)
#   MEMBERS=K      an ensemble of K taggers, each on its own random train/dev split (split_seed = member),
#                  sharing the tagger budget equally; assembled as one component with a majority vote
#   PIPELINE_TOKENIZER=default   assemble the pipeline with spaCy's own tokenizer instead of the clinical
#                  one (give it a DATA_DIR converted with --tokenizer default too)
#   BASE_FORWARD / BASE_BACKWARD   start from these base LM files (e.g. the shipped assets/lms/*.safetensors)
#                  instead of training from scratch: fine-tuned with configs/lm_finetune.cfg for FINETUNE_MINUTES
#                  (default 2; 0 uses them as they are)
#   NER_CONFIG=FILE   tagger config (default configs/ner_cpu.cfg)
#   EVAL=dev|test  split scored at the end (default test)
# Writes OUT/test.json (spacy evaluate), OUT/seconds (total training wall clock), OUT/lm-seconds.
set -euo pipefail
data=${1:?usage: accuracy_recipe.sh DATA_DIR MINUTES SEED OUT [overrides]}
minutes=${2:?MINUTES}
seed=${3:?SEED}
out=${4:?OUT}
shift 4
lm_share=${LM_SHARE:-0.4}
ner_config=${NER_CONFIG:-configs/ner_cpu.cfg}
eval_split=${EVAL:-test}
members=${MEMBERS:-1}
margin_s=20  # python start-up and imports before train-tagger's own budget starts
mkdir -p "$out"
calc() { python -c "print(round($1, 2))"; }

start=$(date +%s)
if [ -n "${NO_LM:-}" ]; then
  lm_args=(--paths.lm_forward null --paths.lm_backward null)
  echo 0 >"$out/lm-seconds"
elif [ -n "${BASE_FORWARD:-}" ] && [ "${FINETUNE_MINUTES:-2}" = 0 ]; then
  lm_args=(--paths.lm_forward "$BASE_FORWARD" --paths.lm_backward "$BASE_BACKWARD")
  echo 0 >"$out/lm-seconds"
elif [ -n "${BASE_FORWARD:-}" ]; then
  python -m spacy_clinical_flair train-lm configs/lm_finetune.cfg "$out/lm" --direction both \
    --base-forward "$BASE_FORWARD" --base-backward "$BASE_BACKWARD" --paths.train "$data/train.spacy" \
    --paths.dev "$data/dev.spacy" --lm.max_minutes "${FINETUNE_MINUTES:-2}" --lm.max_epochs 1000 \
    --lm.seed "$seed" --corpus.seed "$seed" >"$out/lm.log" 2>&1
  echo $(( $(date +%s) - start )) >"$out/lm-seconds"
  lm_args=(--paths.lm_forward "$out/lm/forward/best-lm.pt" --paths.lm_backward "$out/lm/backward/best-lm.pt")
elif [ -n "${REUSE_LM:-}" ]; then
  lm_args=(--paths.lm_forward "$REUSE_LM/lm/forward/best-lm.pt" --paths.lm_backward "$REUSE_LM/lm/backward/best-lm.pt")
  cp "$REUSE_LM/lm-seconds" "$out/lm-seconds"
else
  python -m spacy_clinical_flair train-lm configs/lm_cpu.cfg "$out/lm" --direction both \
    --paths.train "$data/train.spacy" --paths.dev "$data/dev.spacy" --lm.max_minutes "$(calc "$minutes * $lm_share")" \
    --lm.max_epochs 1000 --lm.seed "$seed" --corpus.seed "$seed"
  echo $(( $(date +%s) - start )) >"$out/lm-seconds"
  lm_args=(--paths.lm_forward "$out/lm/forward/best-lm.pt" --paths.lm_backward "$out/lm/backward/best-lm.pt")
fi
lm_seconds=$(cat "$out/lm-seconds")
tagger_minutes=$(calc "($minutes * 60 - $lm_seconds - $margin_s) / 60 / $members")
models=()
for member in $(seq 1 "$members"); do
  member_args=()
  folder="$out/ner"
  if [ "$members" -gt 1 ]; then
    member_args=(--ner.split_seed "$member" --ner.train_with_dev false)
    folder="$out/ner-$member"
  fi
  python -m spacy_clinical_flair train-tagger "$ner_config" "$folder" --paths.train "$data/train.spacy" \
    --paths.dev "$data/dev.spacy" "${lm_args[@]}" --ner.seed "$((seed * 100 + member))" \
    --ner.max_minutes "$tagger_minutes" --ner.max_epochs 1000 "${member_args[@]}" "$@" | tail -2
  models+=("\"$folder\"")
done
reused=0
if [ -n "${REUSE_LM:-}" ]; then reused=$lm_seconds; fi  # the reused LMs' time counts towards the total
total=$(( $(date +%s) - start + reused ))
echo "$total" >"$out/seconds"
model_list=$(IFS=,; echo "[${models[*]}]")
assemble_args=()
if [ "${PIPELINE_TOKENIZER:-clinical}" = default ]; then assemble_args=(--nlp.tokenizer.@tokenizers spacy.Tokenizer.v1); fi
python -m spacy assemble configs/pipeline.cfg "$out/pipeline" --components.clinical_flair_ner.model "$model_list" \
  "${assemble_args[@]}" >"$out/assemble.log" 2>&1
python -m spacy evaluate "$out/pipeline" "$data/$eval_split.spacy" --output "$out/$eval_split.json" >/dev/null
python -c "import json,sys; m=json.load(open(sys.argv[1])); print(f\"recipe seed $seed $eval_split ($total s): P {m['ents_p']:.4f} R {m['ents_r']:.4f} F1 {m['ents_f']:.4f}\")" "$out/$eval_split.json"
