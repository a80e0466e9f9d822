/** Pure tier: the launch order a capacity list and recent refusals give a node's regions. */
import { planLaunchOrder } from "./launchOrder";

const REGIONS = ["us-west-1", "us-east-1", "us-south-1", "europe-central-1"];

test("regions listed with capacity come first, in the node's order; unlisted ones follow in its order", () => {
  expect(
    planLaunchOrder({
      regions: REGIONS,
      listedWithCapacity: ["europe-central-1", "us-east-1"],
      refusedRecently: [],
    }),
  ).toEqual(["us-east-1", "europe-central-1", "us-west-1", "us-south-1"]);
});

test("the first region full in the list: the node starts in the second (today's 32-node benchmark)", () => {
  expect(
    planLaunchOrder({
      regions: REGIONS,
      listedWithCapacity: ["us-east-1", "us-south-1", "europe-central-1", "asia-south-1"],
      refusedRecently: [],
    }),
  ).toEqual(["us-east-1", "us-south-1", "europe-central-1", "us-west-1"]);
});

test("a refusal moves the region back: last of all, or last of the listed regions while the list names it", () => {
  expect(
    planLaunchOrder({ regions: REGIONS, listedWithCapacity: REGIONS, refusedRecently: ["us-west-1"] }),
  ).toEqual(["us-east-1", "us-south-1", "europe-central-1", "us-west-1"]);
  expect(
    planLaunchOrder({
      regions: REGIONS,
      listedWithCapacity: ["us-west-1", "us-east-1"],
      refusedRecently: ["us-west-1", "us-south-1"],
    }),
  ).toEqual(["us-east-1", "us-west-1", "europe-central-1", "us-south-1"]);
});

test("a region refused but still listed goes before any region listed without capacity", () => {
  expect(
    planLaunchOrder({
      regions: ["us-west-1", "us-east-1", "us-south-1"],
      listedWithCapacity: ["us-west-1"],
      refusedRecently: ["us-west-1"],
    }),
  ).toEqual(["us-west-1", "us-east-1", "us-south-1"]);
});

test("without a list (it could not be read) refusals alone reorder; nothing listed: the node's order", () => {
  expect(planLaunchOrder({ regions: REGIONS, refusedRecently: ["us-east-1", "us-west-1"] })).toEqual([
    "us-south-1",
    "europe-central-1",
    "us-west-1",
    "us-east-1",
  ]);
  expect(planLaunchOrder({ regions: REGIONS, listedWithCapacity: [], refusedRecently: [] })).toEqual(REGIONS);
});

test("no region is dropped, none added, and a single region is tried whatever the list says", () => {
  expect(
    planLaunchOrder({
      regions: ["us-west-1"],
      listedWithCapacity: ["us-east-1"],
      refusedRecently: ["us-west-1"],
    }),
  ).toEqual(["us-west-1"]);
  expect(planLaunchOrder({ regions: [], listedWithCapacity: REGIONS, refusedRecently: REGIONS })).toEqual([]);
});
