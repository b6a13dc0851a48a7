#!/usr/bin/env bash
# Pretrain the project's base character LMs (configs/lm_pretrain.cfg): forward and backward side by side,
# one core each, on the train and dev text of every corpus under DATA_ROOT (never the test splits).
#
#   bash benchmarks/pretrain_lms.sh DATA_ROOT [OUT] [--section.key value ...]
#
# DATA_ROOT holds corpus folders with train/ and dev/ BRAT folders (e.g. ../shared/data with meddocan/ and
# medprocner/). Writes OUT/{forward,backward}/best-lm.pt and loss.txt (validation perplexity after every
# split of 300,000 characters); benchmarks/lm_curve.py turns those into the perplexity-against-time table.
set -euo pipefail
root=${1:?usage: pretrain_lms.sh DATA_ROOT [OUT] [overrides]}
out=${2:-benchmarks/out/pretrain}
shift $(( $# < 2 ? $# : 2 ))
dirs=$(python -c "import json,sys,pathlib; print(json.dumps(sorted(str(p) for p in pathlib.Path(sys.argv[1]).glob('*/*') if p.name in ('train','dev') and p.is_dir())))" "$root")
echo "LM text from: $dirs"
python -m spacy_clinical_flair train-lm configs/lm_pretrain.cfg "$out" --direction both --corpus.text_dirs "$dirs" "$@"
