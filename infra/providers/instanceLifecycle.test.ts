/** Pure tier: the poll schedule of a booting instance ramps up to the configured interval. */
import { pollDelayMs } from "./instanceLifecycle";

test("polls after 1, 2, 4, 8 s, then every pollIntervalSeconds", () => {
  expect([0, 1, 2, 3, 4, 5, 20].map((polls) => pollDelayMs(polls, 10_000))).toEqual([
    1000, 2000, 4000, 8000, 10_000, 10_000, 10_000,
  ]);
  expect([0, 1].map((polls) => pollDelayMs(polls, 20))).toEqual([20, 20]);
});
