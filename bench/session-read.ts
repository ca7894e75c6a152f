// `npx tsx bench/session-read.ts`: CPU of one session read (DynamoDB GetItem) in this process, with
// the SDK's defaults and with the app's client (app/platform/aws-clients.ts), against dynalite in a child
// process so that only the client's own work is counted. Loopback only, a few seconds.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../app/platform/aws-clients';
import { local } from '../app/contracts';

const calls = 3_000;
const concurrency = 8;
const rounds = 3;
const table = 'session-read-bench';
const key = { id: { S: 'sess:bench' } };

async function startDynalite(): Promise<{ endpoint: string; stop: () => void }> {
  const script = `const s = require('dynalite')({ createTableMs: 0 }); s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', script], { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function cpuPerCall(client: DynamoDBClient): Promise<number> {
  const read = () => client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
  for (let i = 0; i < 300; i += 1) await read(); // warm-up: JIT, sockets
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < calls / concurrency; i += 1) await read();
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / calls;
}

async function main(): Promise<void> {
  const dynalite = await startDynalite();
  try {
    const clients = {
      'SDK defaults': () =>
        new DynamoDBClient({ region: local.region, endpoint: dynalite.endpoint, credentials: local.credentials, maxAttempts: 2 }),
      'app client (aws-clients.ts)': () => createDynamoClient({ region: local.region, endpoint: dynalite.endpoint }),
    };
    const setup = clients['SDK defaults']();
    await setup.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const sess = JSON.stringify({ cookie: { expires: new Date().toISOString() }, userId: '1', username: 'bench' });
    await setup.send(new PutItemCommand({ TableName: table, Item: { ...key, sess: { S: sess }, expires: { N: '2000000000' } } }));
    setup.destroy();
    const figures: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round += 1) {
      for (const [name, make] of Object.entries(clients)) {
        const client = make();
        (figures[name] ??= []).push(await cpuPerCall(client));
        client.destroy();
      }
    }
    for (const [name, values] of Object.entries(figures)) {
      const median = [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      console.log(`${name}: ${median.toFixed(3)} ms CPU per GetItem (median of ${rounds} rounds of ${calls})`);
    }
  } finally {
    dynalite.stop();
  }
}

main().catch((error: Error) => {
  console.error(`session-read bench failed: ${error.message}`);
  process.exit(1);
});
