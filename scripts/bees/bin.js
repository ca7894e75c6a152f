#!/usr/bin/env node
// The `bees` bin: the compiled CLI after `npm run build`, otherwise the TypeScript through tsx.
'use strict';
const path = require('node:path');
const { existsSync } = require('node:fs');

const compiled = path.join(__dirname, '..', '..', 'dist', 'scripts', 'bees', 'cli.js');
if (existsSync(compiled)) {
  require(compiled).main();
} else {
  require('tsx/cjs');
  require('./cli.ts').main();
}
