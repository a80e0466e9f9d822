/** Pure tier: fleet planning. */
import { FleetSettings, planFirewallRules, planFleet, planNodeTags, totalHourlyUsd } from "./gpuFleetPlan";

const settings: FleetSettings = {
  nodes: [
    {
      key: "app",
      role: "app",
      instanceType: "gpu_1x_a10",
      regions: ["us-west-1", "us-east-1"],
      mountFilesystem: false,
    },
    {
      key: "data",
      role: "data",
      instanceType: "cpu_4x_general",
      regions: ["us-east-1", "us-west-1"],
      mountFilesystem: true,
    },
  ],
  allowedCidrs: ["203.0.113.0/24"],
  publicPorts: [3000, 8000],
  filesystem: { name: "orchestra-data", region: "us-west-1" },
  bootTimeoutMinutes: 30,
  pollIntervalSeconds: 10,
};

test("nodes are named from their keys; a filesystem pins the node's region", () => {
  const plan = planFleet("orchestra-staging", settings, 22);
  expect(
    plan.nodes.map((node) => [node.resourceName, node.regions, node.fileSystemNames, node.isGpu]),
  ).toEqual([
    ["orchestra-staging-app", ["us-west-1", "us-east-1"], [], true],
    ["orchestra-staging-data", ["us-west-1"], ["orchestra-data"], false],
  ]);
  expect(plan.rulesets.map((ruleset) => ruleset.resourceName)).toEqual([
    "orchestra-staging-fw-us-east-1",
    "orchestra-staging-fw-us-west-1",
  ]);
});

test("removing a node from the middle renames nothing else", () => {
  const three = planFleet(
    "f",
    {
      ...settings,
      nodes: [settings.nodes[0], { ...settings.nodes[0], key: "gpu-a" }, settings.nodes[1]],
    },
    22,
  );
  const two = planFleet("f", { ...settings, nodes: [settings.nodes[0], settings.nodes[1]] }, 22);
  expect(three.nodes.map((node) => node.resourceName)).toEqual(["f-app", "f-gpu-a", "f-data"]);
  expect(two.nodes.map((node) => node.resourceName)).toEqual(["f-app", "f-data"]);
});

test("the firewall opens SSH and the public ports to the allowed CIDRs only", () => {
  expect(planFirewallRules(["203.0.113.0/24"], [8000])).toEqual([
    {
      protocol: "tcp",
      port_range: [22, 22],
      source_network: "203.0.113.0/24",
      description: "ssh from 203.0.113.0/24",
    },
    {
      protocol: "tcp",
      port_range: [8000, 8000],
      source_network: "203.0.113.0/24",
      description: "port 8000 from 203.0.113.0/24",
    },
    { protocol: "icmp", source_network: "0.0.0.0/0", description: "ping" },
  ]);
});

test("the SSH rule opens the configured sshPort, not 22", () => {
  const plan = planFleet("f", settings, 2222);
  expect(plan.rulesets[0].rules[0]).toEqual({
    protocol: "tcp",
    port_range: [2222, 2222],
    source_network: "203.0.113.0/24",
    description: "ssh from 203.0.113.0/24",
  });
  expect(plan.rulesets[0].rules.map((rule) => rule.port_range?.[0])).toEqual([2222, 3000, 8000, undefined]);
  expect(planFirewallRules(["198.51.100.0/24"], [], 2200)[0].port_range).toEqual([2200, 2200]);
  // Without one, SSH stays on 22.
  expect(planFleet("f", settings, 22).rulesets[0].rules[0].port_range).toEqual([22, 22]);
});

test("node tags: the caller's, the stack tag, then the node's own key and role, which win", () => {
  const node = { key: "gpu-a", role: "gpu" } as const;
  expect(
    planNodeTags(node, { "orchestra-layer": "staging", "orchestra-node": "spoofed" }, "orchestra/staging"),
  ).toEqual({
    "orchestra-layer": "staging",
    "orchestra-node": "gpu-a",
    "orchestra-stack": "orchestra/staging",
    "orchestra-role": "gpu",
  });
  expect(planNodeTags(node)).toEqual({ "orchestra-node": "gpu-a", "orchestra-role": "gpu" });
});

test("the fleet's hourly price is summed in whole cents", () => {
  expect(totalHourlyUsd([1.29, 1.1, 1.09])).toBe(3.48);
  expect(totalHourlyUsd(Array.from({ length: 10 }, () => 0.1))).toBe(1);
  expect(totalHourlyUsd(Array.from({ length: 8 }, () => 14.32))).toBe(114.56);
  // Each node counts in whole cents: sub-cent parts never add up to a cent nobody is billed.
  expect(totalHourlyUsd([0.004, 0.004, 0.004])).toBe(0);
  expect(totalHourlyUsd([])).toBe(0);
});
