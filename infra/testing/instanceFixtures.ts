/**
 * Test fixture: the LambdaInstance provider's inputs for one small node, as the provider tests
 * (lifecycle, faults, check) send them. One copy, so a new required input is added in one place.
 * Short boot timeout and poll interval: the emulator boots in milliseconds under test.
 */
export function instanceInputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "gpu-a",
    launchToken: "0a1b2c3d",
    instanceType: "gpu_1x_a10",
    regions: ["us-west-1", "us-east-1"],
    sshKeyNames: ["ops"],
    fileSystemNames: [],
    tags: { "orchestra-stack": "test" },
    firewallRulesetsByRegion: {},
    bootTimeoutMinutes: 1,
    pollIntervalSeconds: 0.02,
    ...overrides,
  };
}
