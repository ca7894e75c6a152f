import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cloudFormationSpec } from './infra/cfn-spec';
import { readTemplate, TemplateSyntaxError, type Template } from './infra/cfn-yaml';
import { exportsOf, lintTemplate } from './infra/lint-template';

const usage = `Usage: npm run lint:infra [-- template.yaml ...]

Validates CloudFormation templates offline against the CloudFormation resource specification
(@aws-cdk/aws-service-spec): unknown resource types, unknown or misspelled properties, missing
required properties, wrong value types, and dangling Ref / GetAtt / Sub / ImportValue /
FindInMap / condition references. Prints PASS or FAIL per template; exits 1 on any failure.

With no arguments every infra/*.yaml is checked. ImportValue names must match an export of one
of the templates given or of infra/*.yaml.

Options:
  -h, --help   show this help`;

export const infraDirectory = path.join(__dirname, '..', 'infra');

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
  const knownExports = exportsOf([...parsed.values()].filter((entry): entry is Template => !(entry instanceof TemplateSyntaxError)));
  return files.map((file) => {
    const template = parsed.get(file);
    if (template instanceof TemplateSyntaxError) return { file, problems: template.problems };
    return { file, problems: lintTemplate(template as Template, spec, knownExports) };
  });
}

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) {
    console.log(usage);
    return 0;
  }
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
