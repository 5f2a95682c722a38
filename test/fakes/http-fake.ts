// The plumbing the vendor fakes share: a node:http server on 127.0.0.1 and a free port,
// each request's body collected before it is answered, answers sent late on timers, and
// a close() that does not wait for anyone. What a request gets is each fake's own business.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a fake answers to one request. */
export interface FakeAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Added to the fake's own delay for this answer. */
  delayMs?: number;
}

export interface HttpFakeServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Drops pending late answers and open connections, then closes the server. */
  close(): Promise<void>;
}

export interface HttpFakeOptions {
  /** The fake's delay before every answer (ms), read per request. */
  delayMs(): number;
  /** Writes an answer in the vendor's format; not called once the client went away. */
  send(res: ServerResponse, answer: FakeAnswer): void;
}

/** Starts a server that hands each request, with its whole body as text, to `handle`. */
export async function startHttpFake(
  handle: (req: IncomingMessage, body: string) => FakeAnswer,
  options: HttpFakeOptions,
): Promise<HttpFakeServer> {
  const timers = new Set<NodeJS.Timeout>();
  const send = (res: ServerResponse, answer: FakeAnswer) => {
    if (!res.destroyed) options.send(res, answer);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = handle(req, Buffer.concat(chunks).toString('utf8'));
      const delay = options.delayMs() + (answer.delayMs ?? 0);
      if (delay <= 0) return send(res, answer);
      const timer = setTimeout(() => {
        timers.delete(timer);
        send(res, answer);
      }, delay);
      timers.add(timer);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      // Keep-alive sockets of the SDKs' HTTP agents would otherwise hold close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
