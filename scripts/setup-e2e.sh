#!/usr/bin/env bash
# Installs what the end-to-end tests (and `npm run editor`) need to run a real VS Code on this machine:
# Debian's chromium (driven by playwright-core) and code-server from the npm registry, into a cache folder.
# Idempotent: a second run only checks. See ../shared/notes/real-vscode-tests.md for why each fix is here.
#
#   METABIONER_E2E_CACHE   where code-server goes (default: <repo>/.cache/e2e)
#   CODE_SERVER_VERSION    default 4.100.3 (VS Code 1.100.3, the newest whose engines.node is 20)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${METABIONER_E2E_CACHE:-$PWD/.cache/e2e}"
VERSION="${CODE_SERVER_VERSION:-4.100.3}"
PREFIX="$CACHE/code-server-$VERSION"
BIN="$PREFIX/node_modules/code-server/out/node/entry.js"

log() { echo "[setup-e2e] $*" >&2; }

# shellcheck source=lib/apt-install.sh
source scripts/lib/apt-install.sh

# The browser: Debian's chromium (playwright's own download does not work here). libkrb5-dev: the `kerberos`
# module of code-server compiles against gssapi; ripgrep: its `rg` stands in for @vscode/ripgrep's download.
apt_install chromium libkrb5-dev ripgrep

if [ -f "$PREFIX/.complete" ] && [ -f "$BIN" ]; then
  echo "$BIN"
  exit 0
fi

log "installing code-server@$VERSION into $PREFIX (about a minute)"
rm -rf "$PREFIX"
mkdir -p "$PREFIX/tmp"
echo '{"private":true}' > "$PREFIX/package.json"
export npm_config_unsafe_perm=true npm_config_yes=true npm_config_audit=false npm_config_fund=false
export TMPDIR="$PREFIX/tmp"
# First without install scripts, to learn which @vscode/ripgrep versions it ships, then seed their download
# cache with Debian's rg, then run the install scripts (native modules are built against Node 20 here).
npm install --prefix "$PREFIX" --ignore-scripts --no-save "code-server@$VERSION" >&2
RG_TGZ="$PREFIX/tmp/rg.tar.gz"
tar -C "$(dirname "$(command -v rg)")" -czf "$RG_TGZ" rg
# The versions come from the shrinkwraps: lib/vscode installs its own dependencies in code-server's postinstall.
node -e '
  const fs = require("fs"), path = require("path"), seen = new Set();
  (function walk(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== "node_modules") walk(p);
      else if (e.name === "npm-shrinkwrap.json" || e.name === "package-lock.json")
        for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(p, "utf8")).packages ?? {}))
          if (k.endsWith("node_modules/@vscode/ripgrep")) seen.add(v.version);
    }
  })(process.argv[1]);
  console.log([...seen].join(" "));
' "$PREFIX/node_modules/code-server" |
  tr " " "\n" | while read -r v; do
    d="$TMPDIR/vscode-ripgrep-cache-$v"
    mkdir -p "$d"
    for rgv in v13.0.0-10 v13.0.0-13 v13.0.0-4; do cp "$RG_TGZ" "$d/ripgrep-$rgv-x86_64-unknown-linux-musl.tar.gz"; done
    log "seeded $d with Debian's rg"
  done
(cd "$PREFIX" && npm rebuild --foreground-scripts >&2)
[ -f "$BIN" ] || { log "code-server did not install: $BIN is missing"; exit 1; }
touch "$PREFIX/.complete"
echo "$BIN"
