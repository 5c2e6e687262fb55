// What every client actor listens to: the server's broadcasts of its trial and messages addressed to
// it alone. Subscribed and flushed before the client says hello, so the server's answer cannot be missed.
import type { Subscription, Transport } from './transport.js';
import { subjectPatterns, type TrialScope } from './transport-subjects.js';

export async function subscribeAsClient(
  transport: Transport,
  scope: TrialScope,
  clientId: string,
  post: (subject: string, payload: Uint8Array) => void,
  /** Where the subscriptions go at once (not after the flush), so that a stop meanwhile ends them. */
  into: Subscription[],
): Promise<void> {
  into.push(
    transport.subscribe(subjectPatterns.serverBroadcasts(scope), (msg) => post(msg.subject, msg.payload)),
    transport.subscribe(subjectPatterns.clientDirect(scope, clientId), (msg) => post(msg.subject, msg.payload)),
  );
  await transport.flush();
}
