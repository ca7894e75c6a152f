import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { local } from './contracts';

export interface AwsClientOptions {
  region: string;
  /** A local stand-in (dynalite, DynamoDB Local, s3rver); unset on AWS. */
  endpoint?: string;
}

// The SDK insists on credentials to sign with: local stand-ins get the fixed local pair. On AWS
// the default chain finds the instance profile's role.
const localCredentials = local.credentials;

// Short timeouts: a request that waits on a dead dependency holds a connection the ALB needs.
const requestHandler = { connectionTimeout: 1_000, requestTimeout: 3_000 };
// The session read sits on every logged-in request, so it lives inside the request budget
// (docs/architecture.md): two attempts of at most 800 ms each, plus the SDK's short backoff.
const sessionRequestHandler = { connectionTimeout: 500, requestTimeout: 800 };

export function createDynamoClient({ region, endpoint }: AwsClientOptions): DynamoDBClient {
  return new DynamoDBClient({
    region,
    endpoint,
    requestHandler: sessionRequestHandler,
    maxAttempts: 2,
    ...(endpoint ? { credentials: localCredentials } : {}),
  });
}

export function createS3Client({ region, endpoint }: AwsClientOptions): S3Client {
  return new S3Client({
    region,
    endpoint,
    requestHandler,
    maxAttempts: 2,
    // s3rver serves buckets by path, not by virtual host.
    forcePathStyle: Boolean(endpoint),
    ...(endpoint ? { credentials: localCredentials } : {}),
  });
}
