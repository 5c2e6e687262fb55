// configs/nats-server.conf for real: the server actor's user may do anything under fedhpo.>, each
// client may publish only on its own update subject. A client publishing as another client is refused
// by the nats-server (the client hears of it through onError) and the message reaches nobody.

import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransportErrorEvent } from '../../src/actors/transport-errors.js';
import { NatsTransport } from '../../src/actors/transport-nats.js';
import {
  clientDirectSubject,
  clientUpdateSubject,
  parseSubject,
  serverSubject,
  subjectPatterns,
} from '../../src/actors/transport-subjects.js';
import { NatsServer } from '../helpers/nats-server.js';
import { Inbox } from './transport-conformance.js';

const PASSWORDS = { server: 'pw-server', c0: 'pw-c0', c1: 'pw-c1', c2: 'pw-c2', c3: 'pw-c3' };
const scope = { study: 'perm', trial: 't1' };
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('per-client NATS permissions (configs/nats-server.conf)', () => {
  let server: NatsServer;
  let serverActor: NatsTransport;
  let c1: NatsTransport;
  let c2: NatsTransport;
  const c1Errors: TransportErrorEvent[] = [];
  const open: NatsTransport[] = [];

  const as = async (user: string, password: string, onError?: (e: TransportErrorEvent) => void): Promise<NatsTransport> => {
    const t = await NatsTransport.connect({ connection: { servers: [server.url], user, password }, name: user, onError });
    open.push(t);
    return t;
  };

  beforeAll(async () => {
    server = await NatsServer.start({
      config: await readFile(new URL('../../configs/nats-server.conf', import.meta.url), 'utf8'),
      env: {
        FEDHPO_NATS_SERVER_PASSWORD: PASSWORDS.server,
        FEDHPO_NATS_C0_PASSWORD: PASSWORDS.c0,
        FEDHPO_NATS_C1_PASSWORD: PASSWORDS.c1,
        FEDHPO_NATS_C2_PASSWORD: PASSWORDS.c2,
        FEDHPO_NATS_C3_PASSWORD: PASSWORDS.c3,
      },
    });
    serverActor = await as('server', PASSWORDS.server);
    c1 = await as('client-c1', PASSWORDS.c1, (e) => c1Errors.push(e));
    c2 = await as('client-c2', PASSWORDS.c2);
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    await server?.dispose();
  });

  it('refuses client c1 publishing on client c2’s update subject; allows its own', async () => {
    const updates = new Inbox();
    serverActor.subscribe(subjectPatterns.clientUpdates(scope), updates.handler);
    await serverActor.flush();

    c1.publish(clientUpdateSubject(scope, 'c2'), bytes('forged update from c1'));
    c1.publish(clientUpdateSubject(scope, 'c1'), bytes('own update'));
    c2.publish(clientUpdateSubject(scope, 'c2'), bytes('c2 update'));
    await Promise.all([c1.flush(), c2.flush()]);
    await updates.waitFor(2);
    await serverActor.flush();
    await new Promise((r) => setTimeout(r, 50));

    expect(updates.messages.map((m) => [parseSubject(m.subject), text(m.payload)])).toEqual(
      expect.arrayContaining([
        [{ kind: 'client-update', study: 'perm', trial: 't1', clientId: 'c1' }, 'own update'],
        [{ kind: 'client-update', study: 'perm', trial: 't1', clientId: 'c2' }, 'c2 update'],
      ]),
    );
    expect(updates.messages).toHaveLength(2);
    expect(c1Errors).toEqual([
      expect.objectContaining({
        kind: 'permission',
        subject: clientUpdateSubject(scope, 'c2'),
        message: `server refused publish on ${clientUpdateSubject(scope, 'c2')}`,
      }),
    ]);
    expect(c1.isClosed).toBe(false); // the connection stays up
  });

  it('refuses a client impersonating the server, or reading another client’s direct subject', async () => {
    c1Errors.length = 0;
    const atC2 = new Inbox();
    c2.subscribe(subjectPatterns.serverBroadcasts(scope), atC2.handler);
    c2.subscribe(subjectPatterns.clientDirect(scope, 'c2'), atC2.handler);
    const spy = new Inbox();
    c1.subscribe(subjectPatterns.clientDirect(scope, 'c2'), spy.handler); // not c1's
    await Promise.all([c1.flush(), c2.flush()]);

    c1.publish(serverSubject(scope, 'round'), bytes('fake round from c1'));
    await c1.flush();
    serverActor.publish(clientDirectSubject(scope, 'c2', 'task'), bytes('for c2 only'));
    serverActor.publish(serverSubject(scope, 'round'), bytes('real round'));
    await atC2.waitFor(2);
    await new Promise((r) => setTimeout(r, 50));

    expect(atC2.messages.map((m) => text(m.payload))).toEqual(['for c2 only', 'real round']);
    expect(spy.messages).toHaveLength(0);
    expect(c1Errors.map((e) => `${e.kind} ${e.message}`).sort()).toEqual(
      [
        `permission server refused publish on ${serverSubject(scope, 'round')}`,
        `permission server refused subscription on ${subjectPatterns.clientDirect(scope, 'c2')}`,
      ].sort(),
    );
  });

  it('rejects a wrong password at connect with a one-line UserError', async () => {
    await expect(NatsTransport.connect({ connection: { servers: [server.url], user: 'client-c1', password: 'wrong' } })).rejects.toThrow(
      /^NATS at nats:\/\/127\.0\.0\.1:\d+: cannot connect: .*[Aa]uthorization/,
    );
  });
});
