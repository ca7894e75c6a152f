import { attackWithLocalBees } from '../../scripts/bees/local-swarm';
import { planAttack, type AttackOptions } from '../../scripts/bees/plan';
import { buildReport, type AttackReport } from '../../scripts/bees/report';
import { loadScenario } from '../../scripts/bees/scenario';

export interface LoadOptions {
  url: string;
  bees?: number;
  connections: number;
  durationSeconds: number;
  rate?: number;
  scenarioFile?: string;
}

/** A bees attack through its programmatic API (the same modules the CLI uses), no thresholds. */
export async function attack(options: LoadOptions): Promise<AttackReport> {
  const scenario = options.scenarioFile ? loadScenario(options.scenarioFile) : undefined;
  const plan: AttackOptions = {
    url: options.url,
    bees: options.bees ?? 1,
    connections: options.connections,
    durationSeconds: options.durationSeconds,
    rate: options.rate,
    rampUpSeconds: 0,
    timeoutSeconds: 10,
    method: 'GET',
    headers: {},
    routes: scenario?.routes,
    login: scenario?.login,
    timeline: false,
  };
  const specs = planAttack(plan);
  const results = await attackWithLocalBees(specs, () => undefined);
  return buildReport(specs, results, { maxErrorRate: 1, maxP99Ms: Number.MAX_SAFE_INTEGER });
}
