// s3rver checks signatures against its built-in S3RVER/S3RVER key; DynamoDB Local accepts any.
// One fixed pair keeps every process (services, lab, app instances, tests) on the same data.
// They are not secrets and unlock nothing on AWS.
export const localRegion = 'us-east-1';
export const localCredentials = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
};

/** Names shared by the local services, the lab and the scripts that publish to them. */
export const localBuckets = {
  assets: 'cloudwiki-assets',
  uploads: 'cloudwiki-uploads',
} as const;
export const localSessionTable = 'cloudwiki-sessions';
