#!/usr/bin/env bash
# Create or refresh one of the two virtual environments from its committed lock file.
# Idempotent: skipped when the lock (and this script) are unchanged since the last install.
#   scripts/ensure_venv.sh app    -> .venv       (FastAPI, SQLAlchemy, sentence-transformers, rasa-sdk, ...)
#   scripts/ensure_venv.sh rasa   -> .venv-rasa  (Rasa Open Source 3.6.21; see requirements/rasa.lock)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: ensure_venv.sh app|rasa}
PYTHON=${PYTHON:-python3.11}
case "$kind" in
  app)  venv=.venv;      lock=requirements/app.lock ;;
  rasa) venv=.venv-rasa; lock=requirements/rasa.lock ;;
  *) echo "unknown environment: $kind" >&2; exit 2 ;;
esac
# The app env installs the project itself (pyproject.toml); the Rasa env depends on its lock only.
inputs=("$lock" "$0")
[ "$kind" = app ] && inputs+=(pyproject.toml)
want=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)
stamp="$venv/.kefu-lock-sha256"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo ">> setting up $venv from $lock (first run takes a few minutes)"
rm -rf "$venv"
"$PYTHON" -m venv "$venv"
pip="$venv/bin/python -m pip --disable-pip-version-check"
# This machine's pip configuration names index folders that may be absent; its warnings hide the progress.
quiet_warnings() { grep -v --line-buffered "is ignored: it is neither a file nor a directory" || true; }
$pip install --quiet --upgrade "pip==25.3" "setuptools==80.9.0" "wheel==0.45.1"
if [ "$kind" = app ]; then
  # torch first, pinned: the CPU wheel on disk. A loose torch requirement would pull GBs of CUDA.
  $pip install --progress-bar off "torch==2.13.0" 2>&1 | quiet_warnings
  $pip install --progress-bar off --no-deps -r "$lock" 2>&1 | quiet_warnings
  $pip install --quiet --no-deps -e .
else
  # Rasa 3.6.21 declares Requires-Python <3.11; its dependency set (as pinned in the lock) works on 3.11,
  # so the set is installed as locked and rasa / rasa-sdk themselves without the Python check.
  $pip install --progress-bar off --no-deps -r "$lock" 2>&1 | quiet_warnings
  $pip install --progress-bar off --no-deps --ignore-requires-python "rasa==3.6.21" "rasa-sdk==3.6.2" 2>&1 | quiet_warnings
fi
if [ "$kind" = app ]; then
  $pip check
else
  # pip check would flag Rasa's own (too narrow) pins, e.g. matplotlib<3.6; a real start-up is the check.
  SQLALCHEMY_SILENCE_UBER_WARNING=1 "$venv/bin/rasa" --version
fi
echo "$want" > "$stamp"
echo ">> $venv ready"
