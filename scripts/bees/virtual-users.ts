import pLimit from 'p-limit';
import { WikiClient } from '../wiki-client/client';
import type { LoginPlan } from './spec';

/** One virtual user: a logged-in visitor of the target, whose cookies go with each of its requests. */
export interface VirtualUser {
  number: number;
  username: string;
  client: WikiClient;
}

/**
 * Signs up or logs in through the wiki's form flow (app/contracts.ts' form token and who-am-I
 * routes), so the attack's requests carry a real, logged-in session that the store has to look up.
 */
export async function logIn(baseUrl: string, mode: LoginPlan['mode'], username: string, password: string): Promise<WikiClient> {
  const client = new WikiClient(baseUrl);
  await client.logIn(mode, username, password);
  return client;
}

/** Usernames stay within the contract: 3–32 of letters, digits, `_` and `-`. */
function signupName(runId: string, bee: number, number: number): string {
  return `bee${bee}-${runId}-${number}`.slice(0, 32);
}

/** Sign-ups at once during setup, so that setup is not itself a spike. */
const setupConcurrency = 8;

/** Signs up (or logs in) one user per connection, a few at a time. */
export async function prepareVirtualUsers(
  baseUrl: string,
  plan: LoginPlan,
  count: number,
  runId: string,
  bee: number,
): Promise<VirtualUser[]> {
  const limit = pLimit(setupConcurrency);
  return Promise.all(
    Array.from({ length: count }, (_, number) =>
      limit(async () => {
        const username = plan.mode === 'signup' ? signupName(runId, bee, number) : pickListed(plan.users ?? [], bee, number, count);
        return { number, username, client: await logIn(baseUrl, plan.mode, username, plan.password) };
      }),
    ),
  );
}

function pickListed(users: readonly string[], bee: number, number: number, perBee: number): string {
  if (users.length === 0) throw new Error('login mode needs a list of existing usernames (scenario "login.users")');
  return users[(bee * perBee + number) % users.length] as string;
}
