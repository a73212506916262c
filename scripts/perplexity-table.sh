#!/usr/bin/env bash
# The SpikeLLM perplexity table of the README (issue 16): a small char-level LLaMA trained here on
# Examples/corpus/tiny-english.txt, scored on the corpus's last 10% (the trainer's validation
# split) in float, W16A4 uniform, and SpikeLLM's two settings, each also with 4-bit weights.
# Usage: scripts/perplexity-table.sh [MODEL_DIR]   (default: trains .downloads/llama-char first)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SPIKESCOPE_BIN:-.build/release/spikescope}
MODEL=${1:-.downloads/llama-char}
if [ ! -f "$MODEL/model.safetensors" ]; then
  "$BIN" train --arch llama --corpus Examples/corpus/tiny-english.txt --session "$MODEL" \
    --steps 1200 --layers 4 --width 128 --context 128 --batch 16 --eval-every 200 --seed 1
fi
HELD=.downloads/tiny-english-heldout.txt
python3 -c "s=open('Examples/corpus/tiny-english.txt', encoding='utf-8').read(); open('$HELD', 'w', encoding='utf-8').write(s[len(s) - len(s) // 10:])"
CAL=.downloads/tiny-english-calibration.txt
python3 -c "s=open('Examples/corpus/tiny-english.txt', encoding='utf-8').read(); open('$CAL', 'w', encoding='utf-8').write(s[:2048])"
row() {  # label, then eval flags
  local label=$1; shift
  local out
  out=$("$BIN" eval --model "$MODEL" --text "$HELD" --context 128 --calibration "$CAL" "$@")
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(f\"| {sys.argv[2]} | {('float' if d['neuron']=='none' else format(d['average_bits'], '.3f'))} | {d['mean_nll']:.4f} | {d['perplexity']:.3f} |\")" "$out" "$label"
}
echo "| weights | activations | bits/activation | mean NLL (nats/char) | perplexity |"
echo "|---|---|---|---|---|"
for W in 16 4; do
  wflag=(); wl="W16"
  if [ "$W" = 4 ]; then wflag=(--wbits 4); wl="W4 (RTN)"; fi
  row "$wl | float" --neuron none "${wflag[@]}"
  row "$wl | A4 uniform (--abits 4 --addbit 0 --low-p 1)" --neuron gif --abits 4 --addbit 0 --low-p 1 "${wflag[@]}"
  row "$wl | SpikeLLM A4, T=2 for 10% (--abits 4 --addbit 1 --low-p 0.9)" --neuron gif --abits 4 --addbit 1 --low-p 0.9 "${wflag[@]}"
  row "$wl | SpikeLLM A4, T=4 for 5% (--abits 4 --addbit 2 --low-p 0.95)" --neuron gif --abits 4 --addbit 2 --low-p 0.95 "${wflag[@]}"
  row "$wl | A3 uniform (--abits 3 --addbit 0 --low-p 1)" --neuron gif --abits 3 --addbit 0 --low-p 1 "${wflag[@]}"
  row "$wl | SpikeLLM A3, T=2 for 10% (--abits 3 --addbit 1 --low-p 0.9)" --neuron gif --abits 3 --addbit 1 --low-p 0.9 "${wflag[@]}"
done
