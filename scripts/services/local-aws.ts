// Local emulators accept any credentials; fixed ones keep every process (services, lab, app
// instances, tests) pointing at the same data. They are not secrets and unlock nothing on AWS.
export const localRegion = "us-east-1";
export const localCredentials = {
  accessKeyId: "local",
  secretAccessKey: "local-secret",
};

/** Names shared by the local services, the lab and the scripts that publish to them. */
export const localBuckets = {
  assets: "cloudwiki-assets",
  uploads: "cloudwiki-uploads",
} as const;
export const localSessionTable = "cloudwiki-sessions";
