#!/usr/bin/env bash
# Render the error-analysis page of a pipeline on a .spacy file and take a screenshot of it in headless
# Chromium (Debian's `chromium` package), to check that the page displays.
#
#   bash benchmarks/report_screenshot.sh PIPELINE DATA.spacy OUT_DIR [LIMIT]
#
# Writes OUT_DIR/report.html (python -m spacy_clinical_flair report) and OUT_DIR/report.png (1280 x 2400).
set -euo pipefail
pipeline=${1:?usage: report_screenshot.sh PIPELINE DATA.spacy OUT_DIR [LIMIT]}
data=${2:?DATA.spacy}
out=${3:?OUT_DIR}
limit=${4:-20}
mkdir -p "$out"
python -m spacy_clinical_flair report "$pipeline" "$data" "$out/report.html" --limit "$limit"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then echo "no chromium: apt-get install chromium" >&2; exit 1; fi
profile=$(mktemp -d)
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --window-size=1280,2400 --screenshot="$(realpath "$out")/report.png" "file://$(realpath "$out/report.html")" \
  >/dev/null 2>&1
rm -rf "$profile"
echo "screenshot: $out/report.png"
