// The hub's ordering rules, with the LISTEN connection replaced by a hand-driven one: what a
// subscriber is sent first, what it is sent when notifications overtake or trail the read
// of the current state, and what it is never sent.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DatabaseListener } from './listener.js';
import { STATUS_CHANNEL, type StatusEvent, StatusHub } from './status-hub.js';

function hubWithHandDrivenListener() {
  let notify: (payload: string) => void = () => undefined;
  let reconnected: (since: Date) => Promise<void> = async () => undefined;
  const listener = {
    on: (channel: string, handler: (payload: string) => void) => {
      if (channel === STATUS_CHANNEL) notify = handler;
    },
    onReconnect: (handler: (since: Date) => Promise<void>) => (reconnected = handler),
    close: async () => undefined,
  } as unknown as DatabaseListener;
  const hub = new StatusHub(pino({ level: 'silent' }), listener);
  return { hub, notify: (payload: unknown) => notify(JSON.stringify(payload)), reconnect: (since: Date) => reconnected(since) };
}

const event = (id: string, status: StatusEvent['status'], second: number): StatusEvent => ({
  id,
  tenantId: 't1',
  recipientId: 'r1',
  status,
  at: `2026-12-03T10:00:${String(second).padStart(2, '0')}.000000Z`,
});

async function take(events: AsyncIterableIterator<StatusEvent>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const { value } = await events.next();
    out.push(`${value.id}:${value.status}`);
  }
  return out;
}

describe('StatusHub', () => {
  it('sends the current state first, then the live events that arrived during the read that are newer than it', async () => {
    const { hub, notify } = hubWithHandDrivenListener();
    const events = await hub.subscribe((e) => e.id === 'm1', {
      current: async () => {
        // While the read runs: a notification committed before it (older) and one after it.
        notify(event('m1', 'SENDING', 2));
        notify(event('m1', 'DELIVERED', 4));
        return [event('m1', 'SENT', 3)];
      },
    });
    expect(await take(events, 2)).toEqual(['m1:SENT', 'm1:DELIVERED']);
  });

  it('drops a notification that trails the read, and a duplicate, but not a later status', async () => {
    const { hub, notify } = hubWithHandDrivenListener();
    const events = await hub.subscribe((e) => e.id === 'm1', { current: async () => [event('m1', 'SENT', 3)] });
    notify(event('m1', 'SENDING', 2));
    notify(event('m1', 'SENT', 3));
    notify(event('m1', 'FAILED', 5));
    expect(await take(events, 2)).toEqual(['m1:SENT', 'm1:FAILED']);
  });

  it('takes the array one insert statement announces as one event per message', async () => {
    const { hub, notify } = hubWithHandDrivenListener();
    const events = await hub.subscribe((e) => e.recipientId === 'r1');
    notify([event('m1', 'QUEUED', 1), { ...event('m2', 'QUEUED', 1), recipientId: 'r2' }, event('m3', 'SCHEDULED', 1)]);
    expect(await take(events, 2)).toEqual(['m1:QUEUED', 'm3:SCHEDULED']);
  });

  it('throws the read error at subscribe time and keeps no subscriber', async () => {
    const { hub, notify } = hubWithHandDrivenListener();
    await expect(
      hub.subscribe(() => true, {
        current: async () => {
          throw new Error('no such message');
        },
      }),
    ).rejects.toThrow('no such message');
    const other = await hub.subscribe(() => true);
    notify(event('m9', 'QUEUED', 1));
    expect(await take(other, 1)).toEqual(['m9:QUEUED']);
  });

  it('after a reconnect, sends the caught-up state once and then only newer live events', async () => {
    const { hub, notify, reconnect } = hubWithHandDrivenListener();
    const current = async () => [event('m1', 'SENDING', 2)];
    const events = await hub.subscribe((e) => e.id === 'm1', {
      current,
      catchUp: async () => {
        // During the catch-up read, notifications trail in: an older one and the same status.
        notify(event('m1', 'SENDING', 2));
        notify(event('m1', 'SENT', 3));
        return [event('m1', 'SENT', 3)];
      },
    });
    await reconnect(new Date());
    notify(event('m1', 'DELIVERED', 4));
    expect(await take(events, 3)).toEqual(['m1:SENDING', 'm1:SENT', 'm1:DELIVERED']);
  });
});
