/** Pure tier: the benchmark's floor and the engine's overhead, from observed moments. */
import { callsBetween, engineOverhead, fleetFloor, formatCalls } from "./benchAccount";

test("the floor: set-up writes at 1/s, (N - 1) launch gaps of 12 s, one boot, one final poll", () => {
  const upCalls = {
    addSSHKey: 1,
    createFirewallRuleset: 4,
    listSSHKeys: 1,
    launchInstance: 32,
    getInstance: 60,
  };
  expect(fleetFloor(32, upCalls, 5)).toEqual({
    setUpRequests: 5,
    setUpSeconds: 5,
    launchSpacingSeconds: 372,
    bootSeconds: 5,
    finalPollSeconds: 1,
    totalSeconds: 383,
  });
  expect(fleetFloor(8, { addSSHKey: 1, createFirewallRuleset: 4, createFilesystem: 1 }, 5).totalSeconds).toBe(
    96,
  );
  expect(fleetFloor(1, {}, 5).totalSeconds).toBe(6);
});

test("the engine's overhead is split where the program, the cost gate and the provider were seen", () => {
  const overhead = engineOverhead({
    startedAt: 10_000,
    programSeenAt: 11_500,
    providerSeenAt: 16_000,
    endedAt: 130_000,
    requests: [
      { at: 15_000, operation: "listInstanceTypes" },
      { at: 17_250, operation: "listSSHKeys" },
      { at: 18_400, operation: "addSSHKey" },
      { at: 127_000, operation: "getInstance" },
    ],
  });
  expect(overhead).toEqual({
    startUpSeconds: 1.5,
    programSeconds: 3.5,
    costGateSeconds: 1,
    providerStartSeconds: 1.25,
    windDownSeconds: 3,
    totalSeconds: 10.25,
  });
});

test("a moment not observed counts as 0, not as a negative or NaN", () => {
  expect(engineOverhead({ startedAt: 0, endedAt: 5_000, requests: [] })).toEqual({
    startUpSeconds: 0,
    programSeconds: 0,
    costGateSeconds: 0,
    providerStartSeconds: 0,
    windDownSeconds: 0,
    totalSeconds: 0,
  });
});

test("calls are counted between two snapshots and printed largest first", () => {
  const calls = callsBetween(
    { getInstance: 2, listInstances: 1 },
    { getInstance: 10, listInstances: 1, launchInstance: 8 },
  );
  expect(calls).toEqual({ getInstance: 8, launchInstance: 8 });
  expect(formatCalls({ ...calls, addSSHKey: 1, unused: 0 })).toBe(
    "getInstance=8 launchInstance=8 addSSHKey=1",
  );
});
