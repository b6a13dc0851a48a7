#!/usr/bin/env bash
# Pretrain the project's base character LMs (configs/lm_pretrain.cfg): forward and backward side by side,
# one core each, on the train and dev text of every labelled corpus under DATA_ROOT and every unlabelled
# text folder there; refused (before any training) if that text holds more than 0.5% of the sentences of
# any test split under DATA_ROOT.
#
#   bash benchmarks/pretrain_lms.sh DATA_ROOT [OUT] [--section.key value ...]
#
# EXCLUDE (environment, space-separated folder names, e.g. EXCLUDE=meddoprof) leaves those text folders out:
# lm-text/meddoprof has no known licence, so LMs that ship never read it.
#
# DATA_ROOT holds corpus folders: labelled ones with train/, dev/ and test/ BRAT folders (e.g. ../shared/data
# with meddocan/ and medprocner/), and unlabelled ones whose sub-folders hold .txt files (e.g. lm-text/cases).
# Writes OUT/{forward,backward}/best-lm.pt, checkpoint.pt, loss.txt (validation perplexity after every split)
# and contamination.json; benchmarks/lm_curve.py turns loss.txt into the perplexity table. Add --resume to
# continue a run that was stopped.
set -euo pipefail
root=${1:?usage: pretrain_lms.sh DATA_ROOT [OUT] [overrides]}
out=${2:-benchmarks/out/pretrain}
shift $(( $# < 2 ? $# : 2 ))
read -r text_dirs test_dirs < <(python - "$root" "${EXCLUDE:-}" <<'PY'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
excluded = set(sys.argv[2].split())
text, test = [], []
for corpus in sorted(p for p in root.iterdir() if p.is_dir()):
    subs = sorted(p for p in corpus.iterdir() if p.is_dir())
    if any(p.name == "test" for p in subs):
        text += [str(p) for p in subs if p.name in ("train", "dev")]
        test += [str(p) for p in subs if p.name == "test"]
    else:
        text += [str(p) for p in subs if p.name not in excluded]
print(json.dumps(text, separators=(",", ":")), json.dumps(test, separators=(",", ":")))
PY
)
echo "LM text from: $text_dirs"
echo "checked against: $test_dirs"
resume=()
args=()
for a in "$@"; do if [ "$a" = "--resume" ]; then resume=(--resume); else args+=("$a"); fi; done
python -m spacy_clinical_flair train-lm configs/lm_pretrain.cfg "$out" --direction both "${resume[@]}" \
  --corpus.text_dirs "$text_dirs" --corpus.check_against "$test_dirs" "${args[@]}"
