import { NatsTransport } from '../../src/actors/transport-nats.js';
import { natsServerForTests } from '../helpers/nats-server.js';
import { runTransportConformance } from './transport-conformance.js';

// Its own nats-server (default 1 MiB max payload, so the several-MiB cases are chunked); the shared
// one at 127.0.0.1:4222 when the binary is missing; neither -> every test fails with one clear line.
runTransportConformance('NATS', async () => {
  const server = await natsServerForTests();
  return {
    connect: (opts) => NatsTransport.connect({ ...opts, connection: { servers: [server.url] }, name: 'conformance' }),
    teardown: server.stop,
  };
});
