// Preloaded into services the stand-in systemctl starts (NODE_OPTIONS=--require): the test host
// is loopback only, so a server that asks for every interface (as the production app does, for
// the load balancer) listens on 127.0.0.1 instead.
'use strict';
const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const [first, second] = args;
  const isPort = typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first));
  if (isPort && typeof second !== 'string') args.splice(1, 0, '127.0.0.1');
  else if (first && typeof first === 'object' && first.host === undefined && first.path === undefined)
    args[0] = { ...first, host: '127.0.0.1' };
  return listen.apply(this, args);
};
