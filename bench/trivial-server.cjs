// The trivial loopback target for measuring load generators: a raw TCP server that answers every
// request with the same canned keep-alive response, without parsing HTTP. It does as little work
// per request as Node can, so the generator, not the target, is what runs out of CPU first.
'use strict';
const net = require('node:net');

const response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n\r\nok');
const endOfHeaders = '\r\n\r\n';

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = '';
  socket.on('data', (chunk) => {
    // GET requests only: count header terminators, keep a partial one for the next chunk.
    pending += chunk.toString('latin1');
    let index;
    let answers = 0;
    while ((index = pending.indexOf(endOfHeaders)) !== -1) {
      answers++;
      pending = pending.slice(index + endOfHeaders.length);
    }
    if (answers === 1) socket.write(response);
    else if (answers > 1) socket.write(Buffer.concat(Array(answers).fill(response)));
  });
  socket.on('error', () => socket.destroy());
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));
