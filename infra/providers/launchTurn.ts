/**
 * The launches of one provider process take turns: one node at a time, in the order they asked.
 *
 * Why: a node chooses its region from `/instance-types` as Lambda reports it right before its
 * launch (see launchOrder.ts). Lambda's one launch per 12 s serializes launches anyway, so taking
 * turns costs nothing; what it buys is that each node chooses only after the previous node's
 * launch was answered, from a list that already counts that launch. Without turns, the 8 creates
 * the engine runs at once chose together from one list and all aimed at the region the first of
 * them was about to fill.
 *
 * A turn ends when its work settles, failed or not. The queue is process-wide (see
 * infra/processWide.ts): every serialized provider of the program shares it.
 */
import { processWide } from "../processWide";

const TURN_KEY = "__orchestraLambdaLaunchTurn";

export function inLaunchTurn<T>(work: () => Promise<T>): Promise<T> {
  const queue = processWide(TURN_KEY, () => ({ tail: Promise.resolve() as Promise<unknown> }));
  const turn = queue.tail.then(() => work());
  queue.tail = turn.catch(() => undefined);
  return turn;
}
