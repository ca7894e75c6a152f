// A drill's bad build. Loaded with `node --require` in front of a good build, it makes the instance
// fail the way broken releases do, with no second code base to keep in step with the app:
//   LAB_RELEASE_FAULT=unhealthy  /health answers 503: the instance never passes its checks
//   LAB_RELEASE_FAULT=5xx        /health answers as usual, every other request 500
//   LAB_RELEASE_FAULT=slow       /health answers as usual, every other request waits
//                                LAB_RELEASE_DELAY_MS (default 1500) first
// It patches http.Server's request event, so it works in front of any Node HTTP server.
'use strict';
const http = require('node:http');

const fault = process.env.LAB_RELEASE_FAULT;
const delayMs = Number(process.env.LAB_RELEASE_DELAY_MS ?? 1500);
const servedBy = `${process.env.INSTANCE_ID ?? 'unknown'}/${process.env.INSTANCE_AZ ?? 'unknown'}`;
const emit = http.Server.prototype.emit;

function refuse(request, response, status) {
  request.resume();
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Served-By': servedBy });
  response.end(`a bad release (LAB_RELEASE_FAULT=${fault})\n`);
}

http.Server.prototype.emit = function (event, ...args) {
  if (event !== 'request') return emit.call(this, event, ...args);
  const [request, response] = args;
  const health = request.url === '/health';
  if (fault === 'unhealthy' && health) return (refuse(request, response, 503), true);
  if (fault === '5xx' && !health) return (refuse(request, response, 500), true);
  if (fault === 'slow' && !health) {
    setTimeout(() => emit.call(this, event, ...args), delayMs);
    return true;
  }
  return emit.call(this, event, ...args);
};
