export const testSecret = 'test-secret-that-is-at-least-32-characters-long';
