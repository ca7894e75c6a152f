import { buildSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { deployNodeMajor } from '../../app/contracts';

/** EC2 refuses user data over 16 KB; the bundled agent is compressed to fit well inside. */
export const userDataLimitBytes = 16 * 1024;

/** The engine and histogram packages are installed on the bee from npm; only our code is bundled. */
const agentPackages = ['autocannon@9', 'hdr-histogram-js@3', 'tough-cookie@6', 'p-limit@3'];

/** The boot script proper: a real file, so shellcheck reads it (test/scripts/shellcheck.integration.test.ts). */
const bootScriptPath = path.join(__dirname, 'agent-boot.sh');

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
    external: agentPackages.map((spec) => spec.slice(0, spec.lastIndexOf('@'))),
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no agent bundle');
  return output.text;
}

/** One word for bash, whatever it holds: single quotes, with each `'` closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

interface UserDataOptions {
  maxLifetimeMinutes: number;
  agentSource: string;
}

/**
 * The boot script (scripts/bees/agent-boot.sh) with its values set in a header after the shebang.
 * The values are quoted as data, never spliced into the script's own text, so nothing in them
 * (the agent bundle included) can change what the script does.
 */
export function renderUserData({ maxLifetimeMinutes, agentSource }: UserDataOptions): string {
  if (!Number.isInteger(maxLifetimeMinutes) || maxLifetimeMinutes < 5) {
    throw new Error(`--max-lifetime must be a whole number of minutes, at least 5 (got ${maxLifetimeMinutes})`);
  }
  const values: Record<string, string> = {
    MAX_LIFETIME_MINUTES: String(maxLifetimeMinutes),
    NODE_MAJOR: String(deployNodeMajor),
    AGENT_PACKAGES: agentPackages.join(' '),
    AGENT_GZIP_BASE64: gzipSync(agentSource, { level: 9 })
      .toString('base64')
      .replace(/(.{76})/g, '$1\n'),
  };
  const [shebang, ...body] = readFileSync(bootScriptPath, 'utf8').split('\n');
  const header = Object.entries(values).map(([name, value]) => `${name}=${shellQuote(value)}`);
  const script = [shebang, '# Set by `bees up`:', ...header, ...body].join('\n');
  const bytes = Buffer.byteLength(script);
  if (bytes > userDataLimitBytes) {
    throw new Error(`user data is ${bytes} bytes, over EC2's ${userDataLimitBytes}-byte limit: the agent bundle grew`);
  }
  return script;
}
