/**
 * Mock tier, the production layer: protected, retained stateful resources, nodes that never
 * expire, and child names that survive removing a node from the middle of the config.
 * Built with stacks/layerMocks.ts from the committed Pulumi.production.yaml plus test secrets; pinned:
 * the (type, name, parent) graph, key inputs, and every secret only inside a secret envelope.
 */
import {
  ALL_MCP,
  backupsGraph,
  build,
  declared,
  expectSecretsEnveloped,
  fleetGraph,
  fleetProtection,
  graph,
  inputsOf,
  monitoringGraph,
  servicesGraph,
  setLayerMocks,
  STAGING_STORES,
  usedSecrets,
} from "./layerMocks";

beforeAll(setLayerMocks);

describe("production", () => {
  const regions = ["us-east-1", "us-south-1", "us-west-1"];

  test("the graph, with protected, retained store volumes, filesystem and protected instances", async () => {
    await build("production");
    expect(graph()).toEqual(
      [
        ...fleetGraph("orchestra-production", ["app", "data", "gpu-a", "gpu-b"], regions),
        ...servicesGraph("orchestra-production", ALL_MCP),
        // Production runs monitoring by default.
        ...monitoringGraph("orchestra-production", ["app", "data", "gpu-a", "gpu-b"]),
        // Production keeps backups by default, Postgres with WAL archiving.
        ...backupsGraph("orchestra-production", true),
      ].sort(),
    );
    const volumes = declared.filter((resource) => resource.type === "docker:index/volume:Volume");
    expect(volumes.map((volume) => [volume.name, volume.protect, volume.retainOnDelete])).toEqual([
      ...STAGING_STORES.map((store) => [`orchestra-production-stores-${store}-data`, true, true]),
      // Unsent WAL segments are kept like the data (the socket directory just follows the stores).
      ["orchestra-production-backups-wal-spool-data", true, true],
      ["orchestra-production-backups-postgres-socket", true, true],
      // Metrics history and Alertmanager's silences are kept like the stores' data.
      ["orchestra-production-monitoring-prometheus-data", true, true],
      ["orchestra-production-monitoring-alertmanager-data", true, true],
    ]);
    // The fleet is protected too; the filesystem is retained, instances never (they would bill on).
    expect(fleetProtection()).toEqual([
      ["orchestra-production-fs", true, true],
      ["orchestra-production-app", true, undefined],
      ["orchestra-production-data", true, undefined],
      ["orchestra-production-gpu-a", true, undefined],
      ["orchestra-production-gpu-b", true, undefined],
    ]);
    expectSecretsEnveloped(usedSecrets());
  });

  test("production nodes never expire", async () => {
    await build("production");
    const app = inputsOf("pulumi-nodejs:dynamic/lambda:Instance", "orchestra-production-app");
    expect(app.ttlHours).toBeUndefined();
    expect(app.tags).toMatchObject({ "orchestra-stack": "orchestra/production" });
  });

  test("removing a node from the middle of the config renames nothing else", async () => {
    await build("production");
    const before = graph().filter((line) => !line.includes("-gpu-a"));
    await build("production", (values) => {
      const { "gpu-a": _removed, ...nodes } = values.nodes as Record<string, unknown>;
      return { ...values, nodes };
    });
    expect(graph()).toEqual(before);
    expect(inputsOf("pulumi:providers:docker", "orchestra-production-gpu-b-docker").host).toBe(
      "ssh://ubuntu@203.0.113.13",
    );
  });
});
