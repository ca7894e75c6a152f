import { buildSync } from 'esbuild';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** EC2 refuses user data over 16 KB; the bundled agent is compressed to fit well inside. */
export const userDataLimitBytes = 16 * 1024;

/** The engine and histogram packages are installed on the bee from npm; only our code is bundled. */
const agentPackages = ['autocannon@9', 'hdr-histogram-js@3'];

/** The bee agent as one CommonJS file, bundled from the TypeScript the queen itself runs. */
export function bundleAgent(): string {
  const entry = path.join(__dirname, `agent${path.extname(__filename)}`);
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    write: false,
    external: ['autocannon', 'hdr-histogram-js'],
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no agent bundle');
  return output.text;
}

export interface UserDataOptions {
  maxLifetimeMinutes: number;
  agentSource: string;
}

/**
 * Boot script for Amazon Linux 2023: schedule the bee's own termination first (the instance is
 * launched with shutdown behaviour "terminate"), so a bee never outlives its lifetime even when
 * `bees down` is never run or this script fails half-way; then install Node.js 22 and the agent.
 */
export function renderUserData({ maxLifetimeMinutes, agentSource }: UserDataOptions): string {
  if (!Number.isInteger(maxLifetimeMinutes) || maxLifetimeMinutes < 5) {
    throw new Error(`--max-lifetime must be a whole number of minutes, at least 5 (got ${maxLifetimeMinutes})`);
  }
  const agentGzipBase64 = gzipSync(agentSource, { level: 9 })
    .toString('base64')
    .replace(/(.{76})/g, '$1\n');
  const script = `#!/usr/bin/env bash
set -euo pipefail

MAX_LIFETIME_MINUTES="\${MAX_LIFETIME_MINUTES:-${maxLifetimeMinutes}}"
BEES_HOME="\${BEES_HOME:-/opt/bees}"

# Whatever happens below, the bee ends itself: shutdown terminates it (InstanceInitiatedShutdownBehavior).
shutdown -h "+\${MAX_LIFETIME_MINUTES}" "bees: maximum lifetime reached"

on_error() {
  local line="$1"
  echo "bees bootstrap failed at line \${line}; terminating this bee" >&2
  shutdown -h now "bees: bootstrap failed"
}
trap 'on_error "$LINENO"' ERR

install_node() {
  local attempt
  for attempt in 1 2 3; do
    if dnf install -y nodejs22 nodejs22-npm; then return 0; fi
    echo "dnf install failed (attempt \${attempt}); retrying" >&2
    sleep $((attempt * 5))
  done
  return 1
}

install_node
# Amazon Linux names the versioned binaries node-22 and npm-22.
NODE_BIN="$(command -v node-22 || command -v node)"
NPM_BIN="$(command -v npm-22 || command -v npm)"

mkdir -p "\${BEES_HOME}"
cd "\${BEES_HOME}"
"\${NPM_BIN}" init -y >/dev/null
"\${NPM_BIN}" install --omit=dev --no-audit --no-fund ${agentPackages.join(' ')}
base64 -d > agent.js.gz <<'AGENT'
${agentGzipBase64}
AGENT
gunzip -f agent.js.gz
printf '#!/usr/bin/env bash\\nexec "%s" "%s/agent.js" "$@"\\n' "\${NODE_BIN}" "\${BEES_HOME}" > agent
chmod +x agent
touch ready
echo "bee ready"
`;
  const bytes = Buffer.byteLength(script);
  if (bytes > userDataLimitBytes) {
    throw new Error(`user data is ${bytes} bytes, over EC2's ${userDataLimitBytes}-byte limit: the agent bundle grew`);
  }
  return script;
}
