// A local endpoint for event webhooks: records every request it gets (headers and body as
// received) and answers as the test programs it: a status, late, never, or not at all
// (down: the port refuses connections until it is brought back, on the same port).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver answers to one request: a status (and body), after `delayMs`; `hang` never answers. */
export interface ReceiverAnswer {
  status?: number;
  body?: string;
  delayMs?: number;
  hang?: boolean;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:<port>/hook */
  url: string;
  received: ReceivedWebhook[];
  /** Requests open now (received, not yet answered or dropped by the client). */
  readonly inFlight: number;
  /** How each request is answered from now on (default: 200). */
  answer(how: (request: ReceivedWebhook) => ReceiverAnswer): void;
  /** Stops listening: connections are refused until `up`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let how: (request: ReceivedWebhook) => ReceiverAnswer = () => ({ status: 200 });
  const pending = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let port = 0;
  let server: Server | undefined;
  let inFlight = 0;

  const listen = async () => {
    const next = createServer((req, res) => {
      inFlight += 1;
      res.once('close', () => (inFlight -= 1));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        received.push(request);
        const answer = how(request);
        if (answer.hang) {
          pending.add(res);
          return;
        }
        const send = () => {
          timers.delete(timer);
          if (!res.destroyed) res.writeHead(answer.status ?? 200, { 'content-type': 'text/plain' }).end(answer.body ?? 'ok');
        };
        const timer = setTimeout(send, answer.delayMs ?? 0);
        timers.add(timer);
      });
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  const stop = async () => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const res of pending) res.destroy();
    pending.clear();
    const closing = server;
    server = undefined;
    if (!closing) return;
    closing.closeAllConnections();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  };

  await listen();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    get inFlight() {
      return inFlight;
    },
    answer(next) {
      how = next;
    },
    down: stop,
    up: listen,
    close: stop,
  };
}
