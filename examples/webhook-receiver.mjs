// Receives Herald's event webhooks and verifies each one (Standard Webhooks).
//   HERALD_WEBHOOK_SECRET=whsec_… PORT=8080 node examples/webhook-receiver.mjs
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(process.env.HERALD_WEBHOOK_SECRET);
// A retried or redelivered event comes again with the same webhook-id.
const seen = new Set();

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let event;
    try {
      // The body exactly as received: JSON parsed and written again would not verify.
      event = webhook.verify(Buffer.concat(chunks).toString('utf8'), req.headers);
    } catch {
      res.writeHead(400).end('bad signature');
      return;
    }
    if (!seen.has(req.headers['webhook-id'])) {
      seen.add(req.headers['webhook-id']);
      console.log(JSON.stringify({ type: event.type, message: event.data.id, status: event.data.status, at: event.timestamp }));
    }
    res.writeHead(204).end();
  });
}).listen(Number(process.env.PORT ?? 8080), () => console.log('listening'));
