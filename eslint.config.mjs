import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The product's layering, checked on every lint so that it cannot rot (docs/architecture.md, "Layout").
const productNeverImports = {
  group: ['**/scripts/**', '**/bench/**', '**/test/**', '**/dev/**', '**/dev'],
  message: 'The product (app/) never imports tools, benchmarks, tests or the dev-only services in dev/.',
};
const onlyTheAppMountsRouters = {
  group: ['**/router', '**/api-router'],
  message: 'Only app/app.ts mounts routers: domain and data modules never import one, and a router never imports another.',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.cache/', '.data/', '.lab/', '.scratch/', 'release/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-control-regex': 'off',
    },
  },
  { files: ['app/public/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  {
    files: ['app/**/*.ts'],
    ignores: ['app/app.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [productNeverImports, onlyTheAppMountsRouters] }] },
  },
  { files: ['app/app.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [productNeverImports] }] } },
);
