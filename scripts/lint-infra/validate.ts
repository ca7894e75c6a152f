import path from 'node:path';
import type { Template } from './cfn-yaml';

// AWS's own offline validator, @aws/cloudformation-validate: the cfn-lint rules on current
// resource schemas, compiled to WebAssembly. aws-cdk-lib ships it as its own dependency, so it is
// loaded from there rather than installed a second time. Its FATAL, ERROR and WARN findings fail
// lint:infra unless the template says why, next to the finding, in the same shape cdk-nag's
// suppressions take:
//
//   Metadata:
//     cloudformation_validate:
//       rules_to_suppress:
//         - id: W1001
//           reason: the reference sits inside the Fn::If branch of the same condition
//
// on the resource the finding names, or at the template's top level (which also covers outputs
// and parameters, since they cannot carry Metadata). INFO findings (style advice) are not reported.

interface Diagnostic {
  ruleId: string;
  severity: string;
  message: string;
  entity?: { logicalId: string };
  propertyPath?: string;
}

interface Engine {
  validateTemplate(template: unknown): { diagnostics: Diagnostic[] };
}

interface ValidateModule {
  CompositeEngine: new () => Engine;
  TemplateFile: new (path: string) => unknown;
}

const reported = new Set(['FATAL', 'ERROR', 'WARN']);
const minimumReasonLength = 10;

let loaded: { module: ValidateModule; engine: Engine } | undefined;

function validator() {
  if (!loaded) {
    const cdk = path.dirname(require.resolve('aws-cdk-lib/package.json'));
    const module = require(path.join(cdk, 'node_modules', '@aws', 'cloudformation-validate')) as ValidateModule;
    loaded = { module, engine: new module.CompositeEngine() };
  }
  return loaded;
}

interface Suppression {
  id?: unknown;
  reason?: unknown;
}

function suppressionsOf(node: unknown): Suppression[] {
  const rules = (node as { Metadata?: { cloudformation_validate?: { rules_to_suppress?: unknown } } } | undefined)?.Metadata
    ?.cloudformation_validate?.rules_to_suppress;
  return Array.isArray(rules) ? (rules as Suppression[]) : [];
}

/** Where a finding's entity lives in the template, and that entity's own node. */
function locate(template: Template, logicalId: string | undefined): { where: string; node: unknown } {
  if (logicalId) {
    for (const section of ['Resources', 'Outputs', 'Parameters'] as const) {
      const entries = (template[section] ?? {}) as Record<string, unknown>;
      if (logicalId in entries) return { where: `${section}.${logicalId}`, node: entries[logicalId] };
    }
  }
  return { where: 'template', node: template };
}

/** The validator's findings on one template file that no suppression with a reason covers. */
export function validateWithAwsValidator(file: string, template: Template): string[] {
  const { module, engine } = validator();
  const report = engine.validateTemplate(new module.TemplateFile(file));
  const problems: string[] = [];
  for (const diagnostic of report.diagnostics) {
    if (!reported.has(diagnostic.severity)) continue;
    const { where, node } = locate(template, diagnostic.entity?.logicalId);
    // Outputs and parameters cannot carry Metadata: their suppressions sit at the top level.
    const suppression = [...suppressionsOf(node), ...(node === template ? [] : suppressionsOf(template))].find(
      (s) => s.id === diagnostic.ruleId,
    );
    if (suppression && typeof suppression.reason === 'string' && suppression.reason.trim().length >= minimumReasonLength) continue;
    const unexplained = suppression ? ` (suppressed without a reason of at least ${minimumReasonLength} characters)` : '';
    problems.push(`${where}: ${diagnostic.ruleId} ${diagnostic.message}${unexplained}`);
  }
  return [...new Set(problems)];
}
