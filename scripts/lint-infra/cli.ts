import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { cloudFormationSpec } from './cfn-spec';
import { readTemplate, TemplateSyntaxError, type Template } from './cfn-yaml';
import { exportsOf, lintTemplate, listExportsOf } from './lint-template';
import { formatNagFinding, nagTemplate } from './nag';
import { validateWithAwsValidator } from './validate';

const description = `In two passes:
1. against the CloudFormation resource specification (@aws-cdk/aws-service-spec): unknown resource
   types, unknown or misspelled properties, missing required properties, wrong value types, and
   dangling Ref / GetAtt / Sub / ImportValue / FindInMap / condition references;
2. against cdk-nag's AwsSolutions rule pack (through aws-cdk-lib/cloudformation-include). A finding
   passes only when the resource's Metadata.cdk_nag.rules_to_suppress names the rule with a reason.
Prints PASS or FAIL per template; exits 1 on any failure. No network and no AWS account are used.

With no arguments every infra/*.yaml is checked. ImportValue names must match an export of one of
the templates given or of infra/*.yaml.`;

export const infraDirectory = path.join(__dirname, '..', '..', 'infra');

export function defaultTemplates(): string[] {
  return readdirSync(infraDirectory)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(infraDirectory, name));
}

export interface LintResult {
  file: string;
  problems: string[];
}

/** Lints the files as a set: each may import what any of them (or infra/) exports. */
export function lintFiles(files: string[]): LintResult[] {
  const spec = cloudFormationSpec();
  const parsed = new Map<string, Template | TemplateSyntaxError>();
  for (const file of new Set([...files, ...defaultTemplates()])) {
    try {
      parsed.set(file, readTemplate(file));
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      parsed.set(file, error);
    }
  }
  const readable = [...parsed.values()].filter((entry): entry is Template => !(entry instanceof TemplateSyntaxError));
  const knownExports = exportsOf(readable);
  const listExports = listExportsOf(readable);
  return files.map((file) => {
    const template = parsed.get(file);
    if (template instanceof TemplateSyntaxError) return { file, problems: template.problems };
    const specProblems = lintTemplate(template as Template, spec, knownExports, listExports);
    // The rule pack reads resources through CDK, which needs a template the spec check accepts.
    if (specProblems.length > 0) return { file, problems: specProblems };
    return {
      file,
      problems: [...validateWithAwsValidator(file, template as Template), ...nagTemplate(file, template as Template).map(formatNagFinding)],
    };
  });
}

function main(argv: string[]): number {
  const program = new Command('npm run lint:infra')
    .description('Checks CloudFormation templates offline: the resource specification, then cdk-nag.')
    .argument('[templates...]', 'templates to check (default: infra/*.yaml)')
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', `\n${description}`)
    .parse(argv, { from: 'user' });
  const positionals = program.args;
  const files = positionals.length > 0 ? positionals.map((file) => path.resolve(file)) : defaultTemplates();
  const results = lintFiles(files);
  for (const { file, problems } of results) {
    const name = path.relative(process.cwd(), file);
    console.log(`${problems.length === 0 ? 'PASS' : 'FAIL'} ${name}`);
    for (const problem of problems) console.log(`  ${problem}`);
  }
  const failed = results.filter((result) => result.problems.length > 0).length;
  console.log(failed === 0 ? `${results.length} template(s) valid` : `${failed} of ${results.length} template(s) invalid`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
