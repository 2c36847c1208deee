#!/bin/bash
# Check the Kubernetes manifests against the Kubernetes API schema, offline: the schemas come
# bundled in PyPI's kubernetes-validate (pinned), installed into a virtual environment under
# target/. Strict: an unknown or misspelt field fails. Checked against the oldest version the
# manifests need (1.27: Indexed Jobs and JOB_COMPLETION_INDEX are stable since 1.24) and the
# newest the tool knows. Run by .ci/run.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$repo/target/kubernetes-validate"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'kubernetes-validate==1.37.0'
fi
for version in 1.27.0 1.37.0; do
    "$venv/bin/kubernetes-validate" --strict --no-warn -k "$version" "$repo"/deploy/k8s/*.yaml
done
