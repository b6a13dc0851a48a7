#!/usr/bin/env bash
# Clinical Flair recipe vs spaCy's own NER on a real BRAT corpus, same .spacy files, same wall-clock budget.
#
#   bash benchmarks/real_corpus.sh CORPUS_DIR [MINUTES] [OUT]
#
# CORPUS_DIR holds train/ dev/ test/ BRAT folders. MINUTES (default 20) is the training budget of each
# system: for Clinical Flair 25% forward LM + 25% backward LM (from scratch, on the train+dev text) + 50%
# tagger; for spaCy, `spacy train` of `spacy init config -l es -p ner -o efficiency`, stopped by `timeout`
# (its model-best is kept). Both are then scored with `spacy evaluate` on the test split (strict micro F1).
set -euo pipefail
corpus=${1:?usage: real_corpus.sh CORPUS_DIR [MINUTES] [OUT]}
minutes=${2:-20}
out=${3:-benchmarks/out/real}
mkdir -p "$out"
share() { python -c "print(round($minutes * $1, 2))"; }

for split in train dev test; do
  python -m spacy_clinical_flair convert "$corpus/$split" "$out/$split.spacy" --report "$out/$split.report.json" --no-progress >/dev/null
done

start=$(date +%s)
lm_args=(--paths.train "$out/train.spacy" --paths.dev "$out/dev.spacy" --lm.max_minutes "$(share 0.25)"
         --lm.max_epochs 1000 --lm.hidden_size 256 --lm.embedding_size 100 --lm.sequence_length 250
         --lm.mini_batch_size 32 --lm.patience 3 --corpus.split_chars 300000 --corpus.valid_fraction 0.05
         --corpus.test_fraction 0.05)
python -m spacy_clinical_flair train-lm configs/lm_demo.cfg "$out/lm-forward" --direction forward "${lm_args[@]}" | tail -1
python -m spacy_clinical_flair train-lm configs/lm_demo.cfg "$out/lm-backward" --direction backward "${lm_args[@]}" | tail -1
python -m spacy_clinical_flair train-tagger configs/ner_paper.cfg "$out/ner" --paths.train "$out/train.spacy" \
  --paths.dev "$out/dev.spacy" --paths.lm_forward "$out/lm-forward/best-lm.pt" \
  --paths.lm_backward "$out/lm-backward/best-lm.pt" --ner.max_minutes "$(share 0.5)" | tail -1
flair_seconds=$(( $(date +%s) - start ))
python -m spacy assemble configs/pipeline.cfg "$out/pipeline" --paths.tagger "$out/ner" >/dev/null
python -m spacy evaluate "$out/pipeline" "$out/test.spacy" --output "$out/flair-test.json" >/dev/null

python -m spacy init config "$out/spacy-ner.cfg" -l es -p ner -o efficiency --force >/dev/null
start=$(date +%s)
timeout "${minutes}m" python -m spacy train "$out/spacy-ner.cfg" --output "$out/spacy-ner" \
  --paths.train "$out/train.spacy" --paths.dev "$out/dev.spacy" >"$out/spacy-train.log" 2>&1 || [ $? -eq 124 ]
spacy_seconds=$(( $(date +%s) - start ))
python -m spacy evaluate "$out/spacy-ner/model-best" "$out/test.spacy" --output "$out/spacy-test.json" >/dev/null

python - "$out" "$flair_seconds" "$spacy_seconds" <<'PY'
import json, sys
out, flair_s, spacy_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for name, seconds in (("clinical_flair", flair_s), ("spacy_efficiency_ner", spacy_s)):
    m = json.load(open(f"{out}/{'flair' if name == 'clinical_flair' else 'spacy'}-test.json"))
    print(f"{name:22} train {seconds:5d} s | test P {m['ents_p']:.4f} R {m['ents_r']:.4f} F1 {m['ents_f']:.4f}")
PY
