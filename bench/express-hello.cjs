// The baseline the cloudwiki page views are compared to: a bare Express 5 hello world, measured in
// the same run on the same machine, so the ratio means something on any machine.
'use strict';
const express = require('express');

const app = express();
app.get('/', (_request, response) => {
  response.send('Hello World!');
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
