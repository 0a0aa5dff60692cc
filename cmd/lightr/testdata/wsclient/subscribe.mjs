// subscribe.mjs subscribes to Lightr's events over a WebSocket with a real
// npm client and prints one JSON line per event on stdout.
//
//   node subscribe.mjs ADDR [--after CURSOR] [--legacy] [--timeout SECONDS]
//
// The token comes from LIGHTR_TOKEN and goes in connection_init as
// Authorization: Bearer, as server/httpapi expects. By default the client
// is graphql-ws (the graphql-transport-ws protocol); --legacy uses Apollo's
// subscriptions-transport-ws (the graphql-ws protocol). stderr gets
// "connected" once the server acknowledged connection_init, and
// "error: ..." before a non-zero exit. The script exits 0 when stdin
// closes, 2 after the timeout, and 1 when the subscription fails or ends.

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    after: { type: 'string' },
    legacy: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '120' },
  },
});
if (positionals.length !== 1) {
  fail('usage: node subscribe.mjs ADDR [--after CURSOR] [--legacy] [--timeout SECONDS]');
}

const url = `ws://${positionals[0]}/graphql`;
const connectionParams = { Authorization: `Bearer ${process.env.LIGHTR_TOKEN ?? ''}` };
const after = values.after === undefined ? '' : `(after: ${JSON.stringify(values.after)})`;
const query = `subscription { events${after} { cursor type messageId recipient payload } }`;

// Pipes are written synchronously on Linux, so each line is out before
// the next event (or an exit) comes.
const sink = {
  next(result) {
    if (result.errors) {
      fail(JSON.stringify(result.errors));
    }
    process.stdout.write(JSON.stringify(result.data.events) + '\n');
  },
  error(err) {
    fail(describe(err));
  },
  complete() {
    if (!stopping) {
      fail('the server completed the subscription');
    }
  },
};

// stopping is set once the script itself closes the connection, which
// is then no failure.
let stopping = false;
const stop = values.legacy ? subscribeLegacy() : subscribe();

// The test ends the subscriber by closing stdin; the timeout bounds a
// test that forgets to.
process.stdin.resume();
process.stdin.on('end', () => {
  stopping = true;
  stop();
  process.exit(0);
});
setTimeout(() => fail(`timeout after ${values.timeout}s`, 2), Number(values.timeout) * 1000).unref();

// subscribe uses graphql-ws, which speaks graphql-transport-ws.
function subscribe() {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    on: {
      connected: () => process.stderr.write('connected\n'),
      closed: (ev) => {
        if (!stopping) {
          fail(`closed: ${ev?.code} ${ev?.reason}`);
        }
      },
    },
  });
  const unsubscribe = client.subscribe({ query }, sink);
  return () => {
    unsubscribe();
    client.dispose();
  };
}

// subscribeLegacy uses subscriptions-transport-ws, which speaks the legacy
// graphql-ws protocol. It is CommonJS, hence require.
function subscribeLegacy() {
  const require = createRequire(import.meta.url);
  const { SubscriptionClient } = require('subscriptions-transport-ws');
  const client = new SubscriptionClient(url, { connectionParams, reconnect: false }, WebSocket);
  client.onConnected(() => process.stderr.write('connected\n'));
  client.onDisconnected(() => stopping || fail('disconnected'));
  const sub = client.request({ query }).subscribe(sink);
  return () => {
    sub.unsubscribe();
    client.close();
  };
}

function describe(err) {
  if (Array.isArray(err)) {
    return JSON.stringify(err);
  }
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    return `closed: ${err.code} ${err.reason}`;
  }
  return String(err && err.message ? err.message : err);
}

function fail(message, code = 1) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}
