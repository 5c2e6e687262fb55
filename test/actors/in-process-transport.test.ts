import { describe, expect, it } from 'vitest';
import { InProcessBus, InProcessTransport } from '../../src/actors/transport-in-process.js';
import { Inbox, runTransportConformance } from './transport-conformance.js';

runTransportConformance('in-process', async () => {
  const bus = new InProcessBus();
  return { connect: async (opts) => bus.connect(opts), teardown: async () => {} };
});

describe('InProcessTransport', () => {
  it('delivers asynchronously: never inside publish()', async () => {
    const t = new InProcessTransport();
    const inbox = new Inbox();
    t.subscribe('a.b', inbox.handler);
    t.publish('a.b', new Uint8Array([1]));
    expect(inbox.messages).toHaveLength(0);
    await t.flush();
    expect(inbox.messages).toHaveLength(1);
    await t.close();
  });

  it('keeps separate buses apart', async () => {
    const [x, y] = [new InProcessBus().connect(), new InProcessBus().connect()];
    const inbox = new Inbox();
    y.subscribe('a.>', inbox.handler);
    x.publish('a.b', new Uint8Array([1]));
    await x.flush();
    await y.flush();
    expect(inbox.messages).toHaveLength(0);
  });

  it('a handler that republishes forever does not starve timers', async () => {
    const bus = new InProcessBus();
    const t = bus.connect();
    let n = 0;
    t.subscribe('loop', () => {
      n++;
      t.publish('loop', new Uint8Array(0));
    });
    t.publish('loop', new Uint8Array(0));
    await new Promise((r) => setTimeout(r, 30));
    expect(n).toBeGreaterThan(10);
    await t.close();
  });
});
