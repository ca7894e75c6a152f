// One cloudwiki web instance for the benchmarks: the compiled production server (npm run build),
// configured from the environment like `node dist/app/server.js`, but bound to 127.0.0.1 only.
'use strict';
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist', 'app');
const { loadConfig } = require(path.join(dist, 'config.js'));
const { startServer, runUntilSignalled } = require(path.join(dist, 'server.js'));

startServer(loadConfig(process.env), { host: '127.0.0.1' }).then(runUntilSignalled, (error) => {
  console.error('cloudwiki failed to start:', error);
  process.exit(1);
});
