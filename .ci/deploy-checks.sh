#!/usr/bin/env bash
# Static checks of the deployment files: Dockerfile, docker-compose.yml, deploy/, kubernetes/.
#
#   bash .ci/deploy-checks.sh
#
# Installs its Python tools into a virtualenv (target/deploy-checks-venv, or $DEPLOY_CHECKS_VENV):
# yamllint, kubernetes-validate (Kubernetes JSON schemas, offline), check-jsonschema (which
# bundles the Compose specification's schema), and tomli on Pythons older than 3.11 (the checks
# read the rendered weaver.toml and gateway.toml to tell weaver's local mode from cluster mode). Needs python3; uses kubectl (Kustomize) when it is
# installed and says so when it is not. Nothing is fetched but those PyPI packages; no Docker
# engine is needed.
#
# The checks themselves are in .ci/deploy_checks.py; the last line is
# `deploy-checks: N passed, M failed[, K skipped]` and the exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${DEPLOY_CHECKS_VENV:-target/deploy-checks-venv}"
stamp="$venv/.installed-v2"
if [ ! -f "$stamp" ]; then
    echo "== deploy-checks: installing yamllint, kubernetes-validate, check-jsonschema into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "yamllint==1.38.0" "kubernetes-validate==1.37.0" "check-jsonschema==0.39.0" "PyYAML>=6" \
        "tomli>=2; python_version < '3.11'"
    touch "$stamp"
fi

exec "$venv/bin/python" .ci/deploy_checks.py "$@"
