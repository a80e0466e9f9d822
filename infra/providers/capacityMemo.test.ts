/** Pure tier: the process-wide capacity memo reorders regions, and forgets after its window. */
import { NO_CAPACITY_MEMORY_MS, orderByRecentCapacity, rememberNoCapacity } from "./capacityMemo";

const API = "http://capacity-memo.test";
const REGIONS = ["us-west-1", "us-east-1", "us-south-1"];

test("a region refused recently moves to the back; preference order is kept otherwise", () => {
  expect(orderByRecentCapacity(API, "gpu_1x_a10", REGIONS, 1_000)).toEqual(REGIONS);
  rememberNoCapacity(API, "gpu_1x_a10", "us-west-1", 1_000);
  rememberNoCapacity(API, "gpu_1x_a10", "us-east-1", 2_000);
  expect(orderByRecentCapacity(API, "gpu_1x_a10", REGIONS, 3_000)).toEqual([
    "us-south-1",
    "us-west-1",
    "us-east-1",
  ]);
});

test("the memo is per instance type and per API, and expires", () => {
  rememberNoCapacity(API, "gpu_1x_h100_pcie", "us-west-1", 10_000);
  expect(orderByRecentCapacity(API, "gpu_1x_a6000", REGIONS, 10_001)).toEqual(REGIONS);
  expect(orderByRecentCapacity("http://other.test", "gpu_1x_h100_pcie", REGIONS, 10_001)).toEqual(REGIONS);
  expect(orderByRecentCapacity(API, "gpu_1x_h100_pcie", REGIONS, 10_000 + NO_CAPACITY_MEMORY_MS - 1)).toEqual(
    ["us-east-1", "us-south-1", "us-west-1"],
  );
  expect(orderByRecentCapacity(API, "gpu_1x_h100_pcie", REGIONS, 10_000 + NO_CAPACITY_MEMORY_MS)).toEqual(
    REGIONS,
  );
});
