import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { LoginPlan, Route } from './spec';

const routeSchema = z.object({
  method: z
    .string()
    .regex(/^[A-Z]+$/, 'an upper-case HTTP method')
    .default('GET'),
  path: z.string().startsWith('/', 'a path starting with /'),
  weight: z.number().positive().default(1),
  headers: z.record(z.string(), z.string()).optional(),
  /** A JSON body is sent as JSON with its content type; a string is sent as it is. */
  body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  bodyFile: z.string().optional(),
});

const scenarioSchema = z.object({
  description: z.string().optional(),
  url: z.url().optional(),
  login: z
    .object({
      mode: z.enum(['signup', 'login']).default('signup'),
      password: z.string().min(8, 'cloudwiki passwords are at least 8 characters'),
      users: z.array(z.string()).optional(),
    })
    .optional(),
  requests: z.array(routeSchema).min(1, 'list at least one request'),
});

interface Scenario {
  url?: string;
  login?: LoginPlan;
  routes: Route[];
}

/**
 * Reads a scenario file: weighted requests against one origin, optionally as logged-in users.
 * Bodies are resolved here, on the queen, so bees receive self-contained specs.
 */
export function loadScenario(file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read scenario ${file}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(top)'}: ${issue.message}`);
    throw new Error(`scenario ${file} is not valid:\n${problems.join('\n')}`);
  }
  const scenario = parsed.data;
  const routes = scenario.requests.map((request): Route => {
    const headers = { ...request.headers };
    let body: string | undefined;
    if (request.bodyFile) body = readFileSync(path.resolve(path.dirname(file), request.bodyFile), 'utf8');
    else if (typeof request.body === 'string') body = request.body;
    else if (request.body) {
      body = JSON.stringify(request.body);
      headers['content-type'] ??= 'application/json';
    }
    return { method: request.method, path: request.path, weight: request.weight, headers, ...(body === undefined ? {} : { body }) };
  });
  return { url: scenario.url, login: scenario.login, routes };
}
