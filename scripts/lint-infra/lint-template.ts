import { closest } from 'fastest-levenshtein';
import type { CloudFormationSpec, SpecProperty, SpecType } from './cfn-spec';
import type { Template } from './cfn-yaml';

// Checks a parsed template the way CloudFormation would before creating anything: resource types
// and properties against the resource specification, value shapes, and every reference (Ref,
// GetAtt, Sub, ImportValue, FindInMap, conditions, DependsOn). It reports all problems at once.

const pseudoParameters = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
const topLevelSections = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Transform',
  'Resources',
  'Outputs',
]);
const resourceAttributes = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'Metadata',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'CreationPolicy',
  'UpdatePolicy',
]);
const intrinsicFunctions = new Set([
  'Ref',
  'Condition',
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::FindInMap',
  'Fn::GetAtt',
  'Fn::GetAZs',
  'Fn::ImportValue',
  'Fn::Join',
  'Fn::Select',
  'Fn::Split',
  'Fn::Sub',
  'Fn::Transform',
  'Fn::And',
  'Fn::Equals',
  'Fn::If',
  'Fn::Not',
  'Fn::Or',
  'Fn::Length',
  'Fn::ToJsonString',
]);
const parameterTypePattern =
  /^(String|Number|List<Number>|CommaDelimitedList|AWS::[A-Za-z0-9]+::[A-Za-z0-9:]+|List<AWS::[A-Za-z0-9]+::[A-Za-z0-9:]+>|AWS::SSM::Parameter::Name|AWS::SSM::Parameter::Value<[^>]+>+)$/;

/** How `Export: Name: !Sub ${AWS::StackName}:VpcId` and `!ImportValue !Sub ${NetworkStackName}:VpcId` meet: both become `*:VpcId`. */
function exportKey(name: unknown): string | undefined {
  const text = typeof name === 'string' ? name : isIntrinsic(name, 'Fn::Sub') ? subText(name['Fn::Sub']) : undefined;
  return text?.replace(/\$\{[^!}][^}]*\}/g, '*');
}

/** Every export key the given templates declare. */
export function exportsOf(templates: Template[]): Set<string> {
  const keys = new Set<string>();
  for (const template of templates) {
    for (const output of Object.values(asRecord(template.Outputs))) {
      const key = exportKey(asRecord(asRecord(output).Export).Name);
      if (key) keys.add(key);
    }
  }
  return keys;
}

/** A comma-joined list, directly or in every branch of an Fn::If: the shape of a subnet list. */
function isJoinedList(value: unknown): boolean {
  if (isIntrinsic(value, 'Fn::Join')) return Array.isArray(value['Fn::Join']) && value['Fn::Join'][0] === ',';
  if (isIntrinsic(value, 'Fn::If')) {
    const branches = Array.isArray(value['Fn::If']) ? value['Fn::If'].slice(1) : [];
    return branches.length > 0 && branches.every(isJoinedList);
  }
  return false;
}

/**
 * The export keys whose value is a list. CloudFormation refuses to change an export while another
 * stack imports it, and a list (subnets, one per AZ) is exactly what changes: such lists travel
 * through SSM parameters instead, and importing one is refused.
 */
export function listExportsOf(templates: Template[]): Set<string> {
  const keys = new Set<string>();
  for (const template of templates) {
    for (const output of Object.values(asRecord(template.Outputs))) {
      const key = exportKey(asRecord(asRecord(output).Export).Name);
      if (key && isJoinedList(asRecord(output).Value)) keys.add(key);
    }
  }
  return keys;
}

type ValueKind = 'scalar' | 'list' | 'object' | 'any';

type Intrinsic = Record<string, unknown>;

function isIntrinsic(value: unknown, name?: string): value is Intrinsic {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1) return false;
  const key = keys[0] as string;
  return name ? key === name : key === 'Ref' || key === 'Condition' || key.startsWith('Fn::');
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function subText(argument: unknown): string | undefined {
  if (typeof argument === 'string') return argument;
  if (Array.isArray(argument) && typeof argument[0] === 'string') return argument[0];
  return undefined;
}

function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^}]*)\}/g)].map((match) => match[1] as string).filter((name) => !name.startsWith('!'));
}

function didYouMean(name: string, candidates: string[]): string {
  const suggestion = candidates.length > 0 ? closest(name, candidates) : undefined;
  return suggestion ? ` (did you mean ${suggestion}?)` : '';
}

class TemplateLinter {
  readonly problems: string[] = [];
  private readonly parameters: Record<string, unknown>;
  private readonly resources: Record<string, unknown>;
  private readonly conditions: Record<string, unknown>;
  private readonly mappings: Record<string, unknown>;

  constructor(
    private readonly template: Template,
    private readonly spec: CloudFormationSpec,
    private readonly knownExports: Set<string>,
    private readonly listExports: Set<string> = new Set(),
  ) {
    this.parameters = asRecord(template.Parameters);
    this.resources = asRecord(template.Resources);
    this.conditions = asRecord(template.Conditions);
    this.mappings = asRecord(template.Mappings);
  }

  lint(): string[] {
    for (const section of Object.keys(this.template)) {
      if (!topLevelSections.has(section)) this.report(section, `unknown top-level section${didYouMean(section, [...topLevelSections])}`);
    }
    if (Object.keys(this.resources).length === 0) this.report('Resources', 'a template needs at least one resource');
    for (const [name, parameter] of Object.entries(this.parameters)) this.lintParameter(name, asRecord(parameter));
    this.lintInterface(asRecord(asRecord(this.template.Metadata)['AWS::CloudFormation::Interface']));
    for (const [name, resource] of Object.entries(this.resources)) this.lintResource(name, asRecord(resource));
    for (const [name, output] of Object.entries(asRecord(this.template.Outputs))) this.lintOutput(name, asRecord(output));
    this.lintReferences(this.template, '');
    return this.problems;
  }

  private report(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  private lintParameter(name: string, parameter: Record<string, unknown>): void {
    const type = parameter.Type;
    if (typeof type !== 'string' || !parameterTypePattern.test(type)) {
      this.report(`Parameters.${name}.Type`, `unknown parameter type ${JSON.stringify(type)}`);
    }
    if (type === 'Number' && parameter.Default !== undefined && Number.isNaN(Number(parameter.Default))) {
      this.report(`Parameters.${name}.Default`, `${JSON.stringify(parameter.Default)} is not a number`);
    }
  }

  /**
   * The console shows each label's `default` string. In a YAML flow mapping an unquoted comma ends
   * the value (`{ default: a, b }` is `{ default: 'a', b: null }`), which no schema check sees: a
   * label must be exactly one key, `default`, holding one string.
   */
  private lintInterface(face: Record<string, unknown>): void {
    const checkLabel = (label: unknown, path: string) => {
      const keys = Object.keys(asRecord(label));
      const text = asRecord(label).default;
      if (keys.length !== 1 || keys[0] !== 'default' || typeof text !== 'string' || text.trim() === '') {
        this.report(path, `a label is { default: 'one string' }, got ${JSON.stringify(label)} (quote a label that holds a comma)`);
      }
    };
    for (const [name, label] of Object.entries(asRecord(face.ParameterLabels))) {
      if (!(name in this.parameters)) this.report(`Metadata.AWS::CloudFormation::Interface.ParameterLabels.${name}`, 'labels no parameter');
      checkLabel(label, `Metadata.AWS::CloudFormation::Interface.ParameterLabels.${name}`);
    }
    const groups = Array.isArray(face.ParameterGroups) ? face.ParameterGroups : [];
    groups.forEach((group, index) =>
      checkLabel(asRecord(group).Label, `Metadata.AWS::CloudFormation::Interface.ParameterGroups[${index}].Label`),
    );
  }

  private lintResource(name: string, resource: Record<string, unknown>): void {
    const path = `Resources.${name}`;
    for (const attribute of Object.keys(resource)) {
      if (!resourceAttributes.has(attribute))
        this.report(path, `unknown resource attribute ${attribute}${didYouMean(attribute, [...resourceAttributes])}`);
    }
    if (resource.Condition !== undefined) this.checkConditionName(resource.Condition, `${path}.Condition`);
    const dependsOn = typeof resource.DependsOn === 'string' ? [resource.DependsOn] : resource.DependsOn;
    for (const target of Array.isArray(dependsOn) ? dependsOn : []) {
      if (typeof target !== 'string' || !(target in this.resources))
        this.report(`${path}.DependsOn`, `no resource named ${String(target)}`);
    }
    const type = resource.Type;
    if (typeof type !== 'string') return this.report(`${path}.Type`, 'missing resource type');
    if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') return;
    const resourceSpec = this.spec.resource(type);
    if (!resourceSpec) return this.report(`${path}.Type`, `unknown resource type ${type}`);
    this.checkObject(resource.Properties ?? {}, resourceSpec.properties, `${path}.Properties`);
  }

  private lintOutput(name: string, output: Record<string, unknown>): void {
    const path = `Outputs.${name}`;
    if (output.Value === undefined) this.report(path, 'an output needs a Value');
    if (output.Condition !== undefined) this.checkConditionName(output.Condition, `${path}.Condition`);
    if (output.Export !== undefined && asRecord(output.Export).Name === undefined) this.report(`${path}.Export`, 'an export needs a Name');
  }

  private checkObject(value: unknown, properties: Record<string, SpecProperty>, path: string): void {
    if (isIntrinsic(value)) return this.checkIntrinsicShape(value, 'object', path, { type: 'json' });
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return this.report(path, `expects an object, got ${describe(value)}`);
    }
    const given = value as Record<string, unknown>;
    const known = Object.keys(properties);
    for (const [key, propertyValue] of Object.entries(given)) {
      const property = properties[key];
      if (!property) {
        this.report(`${path}.${key}`, `unknown property${didYouMean(key, known)}`);
        continue;
      }
      this.checkValue(propertyValue, property.type, `${path}.${key}`);
    }
    for (const [key, property] of Object.entries(properties)) {
      if (property.required && !(key in given)) this.report(path, `missing required property ${key}`);
    }
  }

  private checkValue(value: unknown, type: SpecType, path: string): void {
    if (isIntrinsic(value)) return this.checkIntrinsicShape(value, kindOf(type), path, type);
    switch (type.type) {
      case 'string':
        if (!['string', 'number', 'boolean'].includes(typeof value)) return this.report(path, `expects a string, got ${describe(value)}`);
        if (type.allowedValues && !type.allowedValues.includes(String(value))) {
          this.report(
            path,
            `${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}${didYouMean(String(value), type.allowedValues)}`,
          );
        }
        return;
      case 'date-time':
        if (!['string', 'number', 'boolean'].includes(typeof value)) this.report(path, `expects a string, got ${describe(value)}`);
        return;
      case 'number':
        if (!(typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))))) {
          this.report(path, `expects a number, got ${describe(value)}`);
        }
        return;
      case 'integer': {
        const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (!Number.isInteger(number)) return this.report(path, `expects an integer, got ${describe(value)}`);
        if (type.allowedValues && !type.allowedValues.includes(number as number))
          this.report(path, `${String(value)} is not one of ${type.allowedValues.join(', ')}`);
        return;
      }
      case 'boolean':
        if (!(typeof value === 'boolean' || value === 'true' || value === 'false'))
          this.report(path, `expects true or false, got ${describe(value)}`);
        return;
      case 'json':
      case 'null':
        return;
      case 'tag':
        return this.checkObject(
          value,
          { Key: { type: { type: 'string' }, required: true }, Value: { type: { type: 'string' }, required: true } },
          path,
        );
      case 'array':
        if (!Array.isArray(value)) return this.report(path, `expects a list, got ${describe(value)}`);
        value.forEach((element, index) => this.checkValue(element, type.element, `${path}[${index}]`));
        return;
      case 'map':
        if (value === null || typeof value !== 'object' || Array.isArray(value))
          return this.report(path, `expects a map, got ${describe(value)}`);
        for (const [key, element] of Object.entries(value)) this.checkValue(element, type.element, `${path}.${key}`);
        return;
      case 'ref': {
        const objectType = this.spec.objectType(type.reference);
        return this.checkObject(value, objectType.properties, path);
      }
      case 'union': {
        const attempts = type.types.map((alternative) => {
          const trial = new TemplateLinter(this.template, this.spec, this.knownExports, this.listExports);
          trial.checkValue(value, alternative, path);
          return trial.problems;
        });
        if (attempts.some((problems) => problems.length === 0)) return;
        this.problems.push(...(attempts.sort((a, b) => a.length - b.length)[0] ?? []));
        return;
      }
    }
  }

  /** An intrinsic's result must have the shape the property expects (a list is no string). */
  private checkIntrinsicShape(value: Intrinsic, expected: ValueKind, path: string, type: SpecType): void {
    const [name, argument] = Object.entries(value)[0] as [string, unknown];
    if (name === 'Fn::If') {
      const branches = Array.isArray(argument) ? argument.slice(1) : [];
      branches.forEach((branch, index) => {
        if (!isIntrinsic(branch, 'Ref') || branch.Ref !== 'AWS::NoValue') this.checkValue(branch, type, `${path}.Fn::If[${index + 1}]`);
      });
      return;
    }
    const produced = this.kindProducedBy(name, argument);
    if (produced === 'any' || expected === 'any' || produced === expected) return;
    this.report(
      path,
      `expects ${expected === 'list' ? 'a list' : expected === 'object' ? 'an object' : 'a single value'}, but ${name} gives ${produced === 'list' ? 'a list' : 'a single value'}`,
    );
  }

  private kindProducedBy(name: string, argument: unknown): ValueKind {
    switch (name) {
      case 'Ref': {
        if (argument === 'AWS::NoValue') return 'any';
        if (argument === 'AWS::NotificationARNs') return 'list';
        const parameterType = asRecord(this.parameters[String(argument)]).Type;
        return typeof parameterType === 'string' && /List<|CommaDelimitedList/.test(parameterType) ? 'list' : 'scalar';
      }
      case 'Fn::GetAZs':
      case 'Fn::Split':
      case 'Fn::Cidr':
        return 'list';
      case 'Fn::GetAtt': {
        const [resourceName, attribute] = Array.isArray(argument) ? argument : [];
        const resourceType = asRecord(this.resources[String(resourceName)]).Type;
        const attributeSpec =
          typeof resourceType === 'string' ? this.spec.resource(resourceType)?.attributes[String(attribute)] : undefined;
        return attributeSpec ? kindOf(attributeSpec.type) : 'any';
      }
      case 'Fn::FindInMap':
      case 'Fn::Transform':
        return 'any';
      default:
        return 'scalar';
    }
  }

  private checkConditionName(name: unknown, path: string): void {
    if (typeof name !== 'string' || !(name in this.conditions)) {
      this.report(path, `no condition named ${String(name)}${didYouMean(String(name), Object.keys(this.conditions))}`);
    }
  }

  private checkRef(name: unknown, path: string, subVariableNames: string[] = []): void {
    if (typeof name !== 'string') return this.report(path, 'Ref takes a name');
    if (pseudoParameters.has(name) || name in this.parameters || name in this.resources || subVariableNames.includes(name)) return;
    const candidates = [...Object.keys(this.parameters), ...Object.keys(this.resources), ...subVariableNames];
    this.report(path, `${name} is neither a parameter nor a resource${didYouMean(name, candidates)}`);
  }

  private checkGetAtt(resourceName: unknown, attribute: unknown, path: string): void {
    if (typeof resourceName !== 'string' || !(resourceName in this.resources)) {
      return this.report(
        path,
        `GetAtt of ${String(resourceName)}, which is not a resource${didYouMean(String(resourceName), Object.keys(this.resources))}`,
      );
    }
    const resourceType = asRecord(this.resources[resourceName]).Type;
    if (typeof resourceType !== 'string' || typeof attribute !== 'string') return;
    const resourceSpec = this.spec.resource(resourceType);
    if (!resourceSpec || attribute in resourceSpec.attributes) return;
    this.report(path, `${resourceType} has no attribute ${attribute}${didYouMean(attribute, Object.keys(resourceSpec.attributes))}`);
  }

  /** Walks the whole template and checks what every intrinsic function points at. */
  private lintReferences(node: unknown, path: string): void {
    if (Array.isArray(node)) {
      node.forEach((element, index) => this.lintReferences(element, `${path}[${index}]`));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (isIntrinsic(record)) {
      const [name, argument] = Object.entries(record)[0] as [string, unknown];
      const here = path ? `${path}.${name}` : name;
      this.checkIntrinsicReferences(name, argument, here);
      // Condition names are keys of their own section, and DependsOn/Condition attributes are
      // checked with the resource, so only intrinsic arguments need walking further.
      if (name !== 'Ref' && name !== 'Condition') this.lintReferences(argument, here);
      return;
    }
    for (const [key, value] of Object.entries(record)) {
      if (key.startsWith('Fn::') || key === 'Ref')
        this.report(`${path}.${key}`, 'an intrinsic function must be the only key of its object');
      this.lintReferences(value, path ? `${path}.${key}` : key);
    }
  }

  private checkIntrinsicReferences(name: string, argument: unknown, path: string): void {
    if (!intrinsicFunctions.has(name)) return this.report(path, `unknown intrinsic function${didYouMean(name, [...intrinsicFunctions])}`);
    switch (name) {
      case 'Ref':
        return this.checkRef(argument, path);
      case 'Condition':
        return this.checkConditionName(argument, path);
      case 'Fn::If':
        return this.checkConditionName(Array.isArray(argument) ? argument[0] : undefined, path);
      case 'Fn::GetAtt': {
        if (!Array.isArray(argument) || argument.length !== 2) return this.report(path, 'GetAtt takes [resource, attribute]');
        return this.checkGetAtt(argument[0], argument[1], path);
      }
      case 'Fn::Sub': {
        const text = subText(argument);
        if (text === undefined) return this.report(path, 'Sub takes a string or [string, {variables}]');
        const variables = Array.isArray(argument) ? Object.keys(asRecord(argument[1])) : [];
        for (const variable of subVariables(text)) {
          const dot = variable.indexOf('.');
          if (dot > 0 && !variables.includes(variable)) this.checkGetAtt(variable.slice(0, dot), variable.slice(dot + 1), path);
          else this.checkRef(variable, path, variables);
        }
        return;
      }
      case 'Fn::ImportValue': {
        const key = exportKey(argument);
        if (key !== undefined && !this.knownExports.has(key)) {
          this.report(path, `nothing exports ${key}${didYouMean(key, [...this.knownExports])}`);
        }
        if (key !== undefined && this.listExports.has(key)) {
          this.report(
            path,
            `${key} is a list export: it could never change while imported (another AZ); read its SSM parameter instead (AWS::SSM::Parameter::Value<List<...>>)`,
          );
        }
        return;
      }
      case 'Fn::FindInMap': {
        const mapName = Array.isArray(argument) ? argument[0] : undefined;
        if (typeof mapName === 'string' && !(mapName in this.mappings)) this.report(path, `no mapping named ${mapName}`);
        return;
      }
    }
  }
}

function kindOf(type: SpecType): ValueKind {
  switch (type.type) {
    case 'array':
      return 'list';
    case 'ref':
    case 'map':
    case 'tag':
      return 'object';
    case 'json':
    case 'union':
    case 'null':
      return 'any';
    default:
      return 'scalar';
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Lints one template. `knownExports` are the export keys (see exportKey) of the stacks this one
 * may import from: an ImportValue that matches none of them would fail at deploy time.
 */
export function lintTemplate(
  template: Template,
  spec: CloudFormationSpec,
  knownExports: Set<string>,
  listExports: Set<string> = new Set(),
): string[] {
  return new TemplateLinter(template, spec, knownExports, listExports).lint();
}
