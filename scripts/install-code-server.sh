#!/usr/bin/env bash
# Installs code-server (a real VS Code in the browser) for the end-to-end tests and the sandbox,
# into .e2e/code-server, plus the Debian packages it and the tests need. Idempotent and quiet;
# npm's full log is in .e2e/install.log.
#
# code-server 4.100.x is the last line for Node 20. Its install builds native modules and
# downloads ripgrep; on machines that only reach the npm registry and Debian:
#   - npm_config_unsafe_perm=true when root (its postinstall refuses otherwise);
#   - libkrb5-dev for the kerberos module; npm_config_yes=true because node-pty runs npx;
#   - @vscode/ripgrep's download is answered from its cache folder with Debian's rg.
set -euo pipefail
VERSION=4.100.3
# @vscode/ripgrep as pinned by code-server 4.100.3's npm-shrinkwrap.json, and the ripgrep
# release tag that version downloads.
RIPGREP_PACKAGE=1.15.11
RIPGREP_TAG=v13.0.0-10

root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.e2e/code-server"
bin="$prefix/node_modules/.bin/code-server"
log="$root/.e2e/install.log"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^$VERSION "; then
  echo "code-server $VERSION already installed"
  exit 0
fi

missing=()
for pkg in chromium ripgrep libkrb5-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

tmp="${TMPDIR:-/tmp}"
cache="$tmp/vscode-ripgrep-cache-$RIPGREP_PACKAGE"
asset="$cache/ripgrep-$RIPGREP_TAG-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$asset" ]; then
  mkdir -p "$cache"
  staging="$(mktemp -d)"
  cp "$(command -v rg)" "$staging/rg"
  tar czf "$asset" -C "$staging" rg
  rm -rf "$staging"
fi

mkdir -p "$prefix"
[ -f "$prefix/package.json" ] || echo '{ "name": "gan-workbench-e2e-code-server", "private": true }' > "$prefix/package.json"
echo "installing code-server $VERSION (a few minutes the first time; log: $log)"
start=$(date +%s)
if ! (cd "$prefix" && npm_config_unsafe_perm=true npm_config_yes=true npm install --no-audit --no-fund --no-save \
  --foreground-scripts "code-server@$VERSION" >"$log" 2>&1); then
  echo "code-server install failed; the end of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
"$bin" --version | head -n 1
echo "installed in $(( $(date +%s) - start )) s"
