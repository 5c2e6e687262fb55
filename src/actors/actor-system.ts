// The little of nact the federation uses, typed at our call sites (nact's Ref<T> is not checked):
// a stateful actor whose handler processes one message at a time, returns its state, and never
// throws (a throw would stop the actor under nact's default supervision).
import { type ActorSystemRef, dispatch, query, type Ref, spawn, start, stop } from 'nact';

export type { ActorSystemRef };

/** A typed handle on a spawned actor. */
export interface Mailbox<M> {
  /** Queues `msg`; it is handled after every message queued before it. */
  post(msg: M): void;
  /** Posts the message `make` builds around a reply function and resolves with the reply (rejects after timeoutMs). */
  ask<R>(make: (reply: (r: R) => void) => M, timeoutMs: number): Promise<R>;
  stop(): void;
}

let systems = 0;

/** A new actor system (one per federation run, so runs never share actor names). */
export function startActorSystem(): ActorSystemRef {
  return start(`fedhpo-${++systems}`);
}

/**
 * Spawns a stateful actor over `handle`. Messages are handled one at a time in arrival order; a
 * throw or rejection of `handle` goes to `onFault` and the actor goes on with its state.
 */
export function spawnActor<S, M>(
  parent: ActorSystemRef,
  name: string,
  initial: S,
  handle: (state: S, msg: M) => Promise<S> | S,
  onFault: (e: unknown, msg: M) => void,
): Mailbox<M> {
  const ref: Ref<M> = spawn(
    parent,
    async (state: S, msg: M): Promise<S> => {
      try {
        return await handle(state, msg);
      } catch (e) {
        onFault(e, msg);
        return state;
      }
    },
    name,
    { initialState: initial },
  );
  return {
    post: (msg) => dispatch(ref, msg),
    ask: <R>(make: (reply: (r: R) => void) => M, timeoutMs: number) =>
      query(ref, (tmp: Ref<R>) => make((r) => dispatch(tmp, r)), timeoutMs) as Promise<R>,
    stop: () => stop(ref),
  };
}

export function stopActorSystem(system: ActorSystemRef): void {
  stop(system);
}
