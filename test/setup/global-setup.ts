import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

declare global {
  var embeddedServices: ChildProcess | undefined;
}

const root = path.resolve(__dirname, '../..');

/**
 * `npm test` starts the embedded services once for all test files. `npm run test:integration`
 * sets TEST_DATABASE_URL etc. to real servers (PostgreSQL 15, DynamoDB Local, s3rver) instead,
 * and migrates them itself.
 */
export default async function globalSetup(): Promise<void> {
  // Node 20 is what these machines run; the warning about Node 22 is for deployments.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (process.env.TEST_DATABASE_URL) return;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'embedded-services.ts')], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  globalThis.embeddedServices = child;
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`embedded services exited with ${code} before they were ready`)));
  });
  Object.assign(process.env, JSON.parse(firstLine) as Record<string, string>);
}
