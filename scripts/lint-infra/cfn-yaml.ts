import { readFileSync } from 'node:fs';
import { parseDocument, type Tags } from 'yaml';

export type Template = Record<string, unknown>;

// CloudFormation's short forms (`!Ref X`, `!GetAtt A.B`, `!Sub [...]`) turned into the long forms
// the service itself sees (`{ Ref: X }`, `{ 'Fn::GetAtt': [A, B] }`), so everything downstream reads
// one shape. Each tag can carry a scalar, a sequence or a mapping.
const shortForms: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  Base64: 'Fn::Base64',
  Cidr: 'Fn::Cidr',
  FindInMap: 'Fn::FindInMap',
  GetAtt: 'Fn::GetAtt',
  GetAZs: 'Fn::GetAZs',
  ImportValue: 'Fn::ImportValue',
  Join: 'Fn::Join',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  Sub: 'Fn::Sub',
  Transform: 'Fn::Transform',
  And: 'Fn::And',
  Equals: 'Fn::Equals',
  If: 'Fn::If',
  Not: 'Fn::Not',
  Or: 'Fn::Or',
  Length: 'Fn::Length',
  ToJsonString: 'Fn::ToJsonString',
};

function scalarValue(name: string, value: string): unknown {
  // `!GetAtt Resource.Attribute.With.Dots`: only the first dot separates the resource.
  if (name === 'GetAtt') {
    const dot = value.indexOf('.');
    return dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)];
  }
  return value;
}

const cloudFormationTags: Tags = Object.entries(shortForms).flatMap(([name, longForm]) => [
  { tag: `!${name}`, resolve: (value: string) => ({ [longForm]: scalarValue(name, value) }) },
  { tag: `!${name}`, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => ({ [longForm]: seq.toJSON() }) },
  { tag: `!${name}`, collection: 'map' as const, resolve: (map: { toJSON(): unknown }) => ({ [longForm]: map.toJSON() }) },
]);

export class TemplateSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: not a readable CloudFormation template\n  ${problems.join('\n  ')}`);
    this.name = 'TemplateSyntaxError';
  }
}

/** Parses CloudFormation YAML (short-form intrinsics included) into the JSON form. */
function parseTemplate(text: string, file = '<template>'): Template {
  const document = parseDocument(text, { customTags: cloudFormationTags, uniqueKeys: true });
  // An unknown tag such as `!Reff` is only a warning to the YAML library; to CloudFormation it is
  // a broken template.
  const problems = [...document.errors, ...document.warnings].map((issue) => issue.message.split('\n')[0] ?? issue.message);
  if (problems.length > 0) throw new TemplateSyntaxError(file, problems);
  const template: unknown = document.toJS();
  if (template === null || typeof template !== 'object' || Array.isArray(template)) {
    throw new TemplateSyntaxError(file, ['the document is not a mapping']);
  }
  return template as Template;
}

export function readTemplate(file: string): Template {
  return parseTemplate(readFileSync(file, 'utf8'), file);
}
