#!/usr/bin/env bash
# The whole test suite: the Swift tests, then the Python conformance suite (the official
# openai SDK against the gateway in front of a fake upstream).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> swift build"
swift build
echo "==> swift test"
swift test

echo "==> conformance suite (conformance/: the official SDKs against the gateway)"
venv=.build/conformance-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r conformance/requirements.txt
SWITCHBOARD_BIN="$(swift build --show-bin-path)/switchboard" "$venv/bin/python" -m pytest conformance -q
