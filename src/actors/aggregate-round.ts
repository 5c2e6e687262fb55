// One round's aggregation as the server runs it: the aggregator's new global from the accepted
// updates, held to the aggregator contract (the global's layout, finite values: AggregatorError
// otherwise, which fails the run with the aggregator's name) and kept in the global's tensor order.
import { type Aggregator, AggregatorError, type ClientUpdate } from '../fl/aggregator.js';
import { checkFinite, checkSameLayout, type NamedTensors, TensorLayoutError } from '../fl/tensors.js';

export interface AcceptedUpdate {
  samples: number;
  /** The client's weights (global + its delta). */
  weights: NamedTensors;
  metrics: Record<string, number>;
}

export async function aggregateRound(
  aggregator: Aggregator,
  global: NamedTensors,
  accepted: readonly { from: string; reply: AcceptedUpdate }[],
  round: number,
): Promise<NamedTensors> {
  const updates: ClientUpdate[] = accepted.map(({ from, reply }) => ({
    clientId: from,
    samples: reply.samples,
    tensors: reply.weights,
    metrics: reply.metrics,
  }));
  const next = await aggregator.aggregate(global, updates, round);
  try {
    checkSameLayout(global, next, `${aggregator.name}: aggregated adapter`);
    checkFinite(next, `${aggregator.name}: aggregated adapter`);
  } catch (e) {
    throw e instanceof TensorLayoutError ? new AggregatorError(e.message) : e;
  }
  return new Map([...global.keys()].map((k) => [k, next.get(k)!]));
}
