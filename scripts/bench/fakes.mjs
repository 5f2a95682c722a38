// Vendor fakes for the benchmarks, run as a child process of their own (so
// neither side of a measurement shares an event loop with them), on one port, answering
// as the vendors do:
//   Twilio  POST /2010-04-01/Accounts/{sid}/Messages.json → 201 with a sid
//   SendGrid POST /v3/mail/send → 202, empty body, X-Message-Id
//   X       GET /2/users/by/username/:username → 200 { data: { id, name, username } }
//           POST /2/dm_conversations/with/:participant_id/messages → 201 { data: { dm_conversation_id, dm_event_id } }
// Auth headers must be there (Basic, Bearer, OAuth) but signatures are not checked.
// They answer at once unless told a latency (`latencyMs`, or `setLatency(ms)` while running):
// then every answer is held that long, as a real vendor's round trip would be.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

export function startFakeChild({ latencyMs = 0 } = {}) {
  const child = fork(self, ['--vendor-fakes', `--latency-ms=${latencyMs}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = [];
  const latencySet = [];
  child.on('message', (m) => {
    if (m && m.counts) pending.shift()?.(m.counts);
    if (m && m.latencyMs !== undefined) latencySet.shift()?.();
  });
  const counts = () =>
    new Promise((r) => {
      pending.push(r);
      child.send('counts');
    });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      if (!m?.port) return reject(new Error('the vendor fakes did not start'));
      resolve({
        child,
        url: `http://127.0.0.1:${m.port}`,
        /** Twilio Messages POSTs so far. */
        count: async () => (await counts()).twilio,
        /** { twilio, sendgrid, lookup, dm } so far. */
        counts,
        /** Every answer from now on is held `ms` (0: at once). */
        setLatency: (ms) =>
          new Promise((r) => {
            latencySet.push(r);
            child.send({ latencyMs: ms });
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`the vendor fakes exited with ${code}`)));
  });
}

function runVendorFakes() {
  const TWILIO = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
  const X_USER = /^\/2\/users\/by\/username\/([^/]+)$/;
  const X_DM = /^\/2\/dm_conversations\/with\/([^/]+)\/messages$/;
  // inFlight: requests received and not yet answered.
  const counts = { twilio: 0, sendgrid: 0, lookup: 0, dm: 0, inFlight: 0 };
  let latencyMs = Number((process.argv.find((a) => a.startsWith('--latency-ms=')) ?? '=0').split('=')[1]) || 0;
  const userIds = new Map();
  let nextUserId = 1_000_000;
  let nextEvent = 1_800_000_000_000_000_000n;
  const json = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      counts.inFlight++;
      res.once('finish', () => counts.inFlight--);
      if (latencyMs > 0) setTimeout(answer, latencyMs);
      else answer();
    });
    function answer() {
      const url = (req.url ?? '/').split('?')[0];
      const auth = req.headers.authorization ?? '';
      let match;
      if ((match = TWILIO.exec(url))) return twilio(req, res, match, auth, Buffer.concat(chunks).toString('utf8'));
      if (url === '/v3/mail/send' && req.method === 'POST') {
        if (!/^Bearer \S+/.test(auth))
          return json(res, 401, {
            errors: [{ message: 'The provided authorization grant is invalid, expired, or revoked', field: null, help: null }],
          });
        counts.sendgrid++;
        res.writeHead(202, { 'x-message-id': randomBytes(16).toString('base64url'), 'content-length': '0' });
        return res.end();
      }
      if ((match = X_USER.exec(url)) || (match = X_DM.exec(url))) {
        if (!/^OAuth /.test(auth))
          return json(res, 401, { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' });
        if (req.method === 'GET' && X_USER.test(url)) {
          counts.lookup++;
          const username = decodeURIComponent(match[1]);
          if (!userIds.has(username.toLowerCase())) userIds.set(username.toLowerCase(), String(nextUserId++));
          return json(res, 200, { data: { id: userIds.get(username.toLowerCase()), name: username, username } });
        }
        if (req.method === 'POST' && X_DM.test(url)) {
          counts.dm++;
          const eventId = String(nextEvent++);
          return json(res, 201, { data: { dm_conversation_id: `${match[1]}-1`, dm_event_id: eventId } });
        }
      }
      json(res, 404, { error: `no route ${req.method} ${url}` });
    }
  });

  function twilio(req, res, match, auth, text) {
    const form = new URLSearchParams(text);
    if (req.method !== 'POST' || !/^Basic /.test(auth)) {
      return json(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
    }
    counts.twilio++;
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const accountSid = decodeURIComponent(match[1]);
    const date = new Date().toUTCString().replace('GMT', '+0000');
    json(res, 201, {
      account_sid: accountSid,
      api_version: '2010-04-01',
      body: form.get('Body'),
      date_created: date,
      date_sent: null,
      date_updated: date,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: form.get('From'),
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: 'queued',
      subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
      to: form.get('To'),
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
    });
  }

  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'counts') process.send({ counts });
    if (m && typeof m.latencyMs === 'number') {
      latencyMs = m.latencyMs;
      process.send({ latencyMs });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv.includes('--vendor-fakes')) runVendorFakes();
