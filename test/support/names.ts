export const testSessionTable = 'cloudwiki-sessions';
export const testBuckets = { assets: 'cloudwiki-assets', uploads: 'cloudwiki-uploads' };
export const testSecret = 'test-secret-that-is-at-least-32-characters-long';
