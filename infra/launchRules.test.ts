/** Pure tier: where a node may launch and when it has a TTL, as the plan, the price and the provider judge it. */
import { mountedFilesystem, pinnedRegions, regionsForNode, ttlOrNone } from "./launchRules";

const filesystem = { name: "orchestra-data", region: "us-west-1" };

test("a node mounts the fleet filesystem only when it asks and there is one", () => {
  expect(mountedFilesystem(true, filesystem)).toBe(filesystem);
  expect(mountedFilesystem(false, filesystem)).toBeUndefined();
  expect(mountedFilesystem(undefined, filesystem)).toBeUndefined();
  expect(mountedFilesystem(true, undefined)).toBeUndefined();
});

test("a filesystem pins the region; without one the regions keep their order", () => {
  expect(pinnedRegions(["us-east-1", "us-west-1"], undefined)).toEqual(["us-east-1", "us-west-1"]);
  expect(pinnedRegions(["us-east-1", "us-west-1"], "us-west-1")).toEqual(["us-west-1"]);
  expect(pinnedRegions(["us-east-1", "us-west-1", "us-west-1"], "us-west-1")).toEqual(["us-west-1"]);
  expect(pinnedRegions(["us-east-1"], "us-west-1")).toEqual([]);
  const regions = ["us-east-1"];
  expect(pinnedRegions(regions)).not.toBe(regions);
});

test("a node's regions come from its settings and the fleet's filesystem", () => {
  const node = { regions: ["us-east-1", "us-west-1"], mountFilesystem: true };
  expect(regionsForNode(node, filesystem)).toEqual(["us-west-1"]);
  expect(regionsForNode({ ...node, mountFilesystem: false }, filesystem)).toEqual(["us-east-1", "us-west-1"]);
  expect(regionsForNode(node, undefined)).toEqual(["us-east-1", "us-west-1"]);
  expect(regionsForNode({ regions: ["us-south-1"], mountFilesystem: true }, filesystem)).toEqual([]);
});

test("TTL 0, negative, NaN or absent means none; any positive number of hours is kept as is", () => {
  expect(ttlOrNone(undefined)).toBeUndefined();
  expect(ttlOrNone(0)).toBeUndefined();
  expect(ttlOrNone(-1)).toBeUndefined();
  expect(ttlOrNone(NaN)).toBeUndefined();
  expect(ttlOrNone(0.5)).toBe(0.5);
  expect(ttlOrNone(72)).toBe(72);
  expect(ttlOrNone(744)).toBe(744);
});
