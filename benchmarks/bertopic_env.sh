#!/usr/bin/env bash
# The BERTopic comparison's own environment: benchmarks/work/bertopic-venv (CPU torch first, then BERTopic).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/work/bertopic-venv"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import bertopic" 2>/dev/null; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "torch==2.13.0"
  "$venv/bin/pip" install --quiet --disable-pip-version-check bertopic polars pyarrow
fi
echo "$venv/bin/python"
