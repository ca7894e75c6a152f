import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { local } from '../contracts';

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

// A logged-in page view is one GetItem, and the SDK spent more CPU on it than the rest of the view.
// Measured with bench/session-read.ts: most of it is the middleware stack (rebuilt and sorted for
// every command unless cached) and endpoint resolution. Cutting what the session table never uses
// took about a quarter off each call:
// - cacheMiddleware: the stack is resolved once per command type. Middleware added to the client
//   after its first request is then ignored; nothing in the app does that.
// - accountIdEndpointMode 'disabled': no account-based endpoint, so no credential lookup while
//   resolving the endpoint; the regional endpoint is what the VPC endpoint serves anyway.
// - checksums only where an operation requires them: DynamoDB's GetItem and PutItem do not.
const dynamoCpuSavers = {
  cacheMiddleware: true,
  accountIdEndpointMode: 'disabled',
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
} as const;

export function createDynamoClient({ region, endpoint }: AwsClientOptions): DynamoDBClient {
  return new DynamoDBClient({
    region,
    endpoint,
    requestHandler: sessionRequestHandler,
    maxAttempts: 2,
    ...dynamoCpuSavers,
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
