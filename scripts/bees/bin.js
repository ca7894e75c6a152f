#!/usr/bin/env node
// The `bees` bin: the TypeScript source through tsx in a development checkout (so it never runs a
// stale build), the compiled CLI from `npm run build` where tsx is not installed.
'use strict';
const path = require('node:path');

function tsxAvailable() {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
}

if (tsxAvailable()) {
  require('tsx/cjs');
  require('./cli.ts').main();
} else {
  require(path.join(__dirname, '..', '..', 'dist', 'scripts', 'bees', 'cli.js')).main();
}
