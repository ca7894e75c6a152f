import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Template } from './cfn-yaml';

// cdk-nag's AwsSolutions pack, run offline on our plain CloudFormation templates: CfnInclude turns
// each resource into a CDK L1 construct, the pack's rules inspect them, and no account, network or
// synthesis is involved. A finding is acceptable only when the template says why, next to the
// resource, in the metadata format cdk-nag itself writes:
//
//   Metadata:
//     cdk_nag:
//       rules_to_suppress:
//         - id: AwsSolutions-EC23
//           reason: the load balancer is the public entry point of the wiki
//
// cdk-nag 3 records acknowledgements with CDK's Validations API rather than reading that block,
// so this module reads it and acknowledges each rule on its resource.

/** cdk-nag asks for at least this much reason; so do we. */
const minimumReasonLength = 10;

export interface NagFinding {
  rule: string;
  resource: string;
  description: string;
}

interface Suppression {
  id?: unknown;
  reason?: unknown;
}

function suppressionsOf(resource: unknown): Suppression[] {
  const metadata = (resource as { Metadata?: { cdk_nag?: { rules_to_suppress?: unknown } } }).Metadata;
  const rules = metadata?.cdk_nag?.rules_to_suppress;
  return Array.isArray(rules) ? (rules as Suppression[]) : [];
}

/**
 * Runs the AwsSolutions pack over one template file (`template` is the same file parsed by
 * cfn-yaml, for its metadata). Returns every finding that is neither fixed nor suppressed with a
 * reason, plus a finding for each suppression that gives no reason.
 */
export function nagTemplate(templateFile: string, template: Template): NagFinding[] {
  const app = new App();
  const stack = new Stack(app, 'Template');
  const included = new CfnInclude(stack, 'Included', { templateFile });
  const findings: NagFinding[] = [];
  for (const [logicalId, resource] of Object.entries((template.Resources ?? {}) as Record<string, unknown>)) {
    const construct: CfnResource = included.getResource(logicalId);
    for (const { id, reason } of suppressionsOf(resource)) {
      if (typeof id !== 'string' || typeof reason !== 'string' || reason.trim().length < minimumReasonLength) {
        findings.push({
          rule: typeof id === 'string' ? id : '(no id)',
          resource: logicalId,
          description: `suppressed without a reason of at least ${minimumReasonLength} characters: say why in Metadata.cdk_nag.rules_to_suppress`,
        });
        continue;
      }
      Validations.of(construct).acknowledge({ id, reason });
    }
  }
  const report = new AwsSolutionsChecks(app).validateScope(stack);
  for (const violation of report.violations) {
    for (const resource of violation.violatingResources) {
      // cdk-nag names the construct path (Template/Included/<LogicalId>); the last part is ours.
      const where = resource.constructPath ?? resource.resourceLogicalId ?? '';
      const logicalId = where.split('/').at(-1) ?? where;
      findings.push({ rule: violation.ruleName, resource: logicalId, description: violation.description });
    }
  }
  return findings.sort((a, b) => a.resource.localeCompare(b.resource) || a.rule.localeCompare(b.rule));
}

/** One line per finding, as lint:infra prints it. */
export function formatNagFinding({ rule, resource, description }: NagFinding): string {
  return `Resources.${resource}: ${rule} ${description}`;
}
