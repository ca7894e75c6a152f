import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';

// The parts of @aws-cdk/aws-service-spec's database the linter reads: every CloudFormation
// resource type with its properties (name, type, required) and its GetAtt attributes.
export type SpecType =
  | { type: 'string'; allowedValues?: string[] }
  | { type: 'integer'; allowedValues?: number[] }
  | { type: 'number' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { type: 'array' | 'map'; element: SpecType }
  | { type: 'union'; types: SpecType[] }
  | { type: 'ref'; reference: { $ref: string } };

export interface SpecProperty {
  type: SpecType;
  required?: boolean;
}

interface SpecResource {
  cloudFormationType: string;
  properties: Record<string, SpecProperty>;
  attributes: Record<string, { type: SpecType }>;
}

interface SpecObjectType {
  name: string;
  properties: Record<string, SpecProperty>;
}

export interface CloudFormationSpec {
  resource(cloudFormationType: string): SpecResource | undefined;
  objectType(reference: { $ref: string }): SpecObjectType;
}

let loaded: CloudFormationSpec | undefined;

/** Loads the specification once per process (about half a second: a 2.6 MB gzipped database). */
export function cloudFormationSpec(): CloudFormationSpec {
  if (loaded) return loaded;
  const db = loadAwsServiceSpecSync();
  loaded = {
    resource: (cloudFormationType) =>
      db.lookup('resource', 'cloudFormationType', 'equals', cloudFormationType)[0] as SpecResource | undefined,
    objectType: (reference) => db.get('typeDefinition', reference.$ref) as SpecObjectType,
  };
  return loaded;
}
