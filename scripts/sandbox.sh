#!/usr/bin/env bash
# `npm run sandbox`: GAN Workbench in a browser VS Code (the code-server the e2e tests use), on a
# copy of examples/, without installing anything into your own editor.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
port="${PORT:-8080}"
bash scripts/install-code-server.sh
npm run package --silent
sandbox="$root/.e2e/sandbox"
mkdir -p "$sandbox/user-data/User" "$sandbox/extensions" "$sandbox/workspace"
cp -rn examples/. "$sandbox/workspace/"
[ -f "$sandbox/user-data/User/settings.json" ] || cat > "$sandbox/user-data/User/settings.json" <<'JSON'
{ "workbench.startupEditor": "none", "security.workspace.trust.enabled": false, "telemetry.telemetryLevel": "off" }
JSON
code_server="$root/.e2e/code-server/node_modules/.bin/code-server"
"$code_server" --user-data-dir "$sandbox/user-data" --extensions-dir "$sandbox/extensions" --install-extension "$root/gan-workbench.vsix" --force >/dev/null
echo
echo "GAN Workbench sandbox: open http://127.0.0.1:$port/?folder=$sandbox/workspace"
echo "Then open ring8.gan.json and run \"GAN: Start GAN run\" from the command palette (Ctrl+Shift+P). Ctrl-C here to quit."
exec "$code_server" --bind-addr "127.0.0.1:$port" --auth none --disable-telemetry --disable-update-check \
  --user-data-dir "$sandbox/user-data" --extensions-dir "$sandbox/extensions" "$sandbox/workspace"
