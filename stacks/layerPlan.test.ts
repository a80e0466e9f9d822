/**
 * Pure tier: planLayer from the committed stack files. The plan is complete (the Layer derives
 * nothing again), so these pin what each layer's slices say: hosts, targets, data directories,
 * URL templates, tags and child names.
 */
import { validateStackConfig } from "./config";
import { stackValues } from "./configFiles";
import { dockerOverSsh, planLayer, type ContainersSlice, type LayerPlan } from "./layerPlan";

const plan = (layer: string, edit: (values: Record<string, unknown>) => Record<string, unknown> = (v) => v) =>
  planLayer(validateStackConfig(edit(stackValues(layer))), { project: "orchestra", stack: layer });

function containersOf(layerPlan: LayerPlan): ContainersSlice {
  if (layerPlan.containers === undefined) throw new Error("no containers planned");
  return layerPlan.containers;
}

test("staging: stores on the data node, apps and the gate on the app node, over SSH", () => {
  const staging = plan("staging");
  const slice = containersOf(staging);
  expect(dockerOverSsh(staging)).toBe(true);
  expect([slice.dataHost, slice.appHost, slice.sameHost]).toEqual(["data", "app", false]);
  expect(slice.dockerHosts.data).toEqual({
    providerName: "orchestra-staging-data-docker",
    engine: { kind: "ssh", node: "data", user: "ubuntu", port: 22 },
  });
  expect(Object.keys(slice.dockerHosts)).toEqual(["app", "data", "gpu-a"]);
  expect(slice.dataTarget).toEqual({
    kind: "ssh",
    node: "data",
    runner: "pulumi-command",
    user: "ubuntu",
    port: 22,
  });
  expect(slice.appTarget).toEqual({
    kind: "ssh",
    node: "app",
    runner: "pulumi-command",
    user: "ubuntu",
    port: 22,
  });
  expect(slice.dataDirectories).toEqual({
    name: "orchestra-staging-stores-dirs",
    script:
      "mkdir -p '/lambda/nfs/orchestra-staging-data/postgres' '/lambda/nfs/orchestra-staging-data/redis' '/lambda/nfs/orchestra-staging-data/weaviate'",
  });
  expect(slice.app.publicUrls).toEqual({ api: "http://{publicIp}:8000", frontend: "http://{publicIp}:3000" });
  expect(slice.app.mcpEndpoints.git).toBe("http://{privateIp}:8008");
  expect(slice.containerNames.data).toEqual([
    "orchestra-staging-stores-postgres",
    "orchestra-staging-stores-redis",
    "orchestra-staging-stores-weaviate",
    // The backup job runs beside the stores.
    "orchestra-staging-backups-data",
  ]);
  expect(slice.containerNames.app.slice(0, 2)).toEqual([
    "orchestra-staging-apps-api",
    "orchestra-staging-apps-frontend",
  ]);
  expect(slice.app.containers.find((spec) => spec.service === "api")?.secretEnvTemplates).toEqual({
    DATABASE_URL: "postgresql://orchestra:{databasePassword}@{dataHost}:5432/orchestra",
    REDIS_URL: "redis://:{redisPassword}@{dataHost}:6379/0",
  });
  expect([slice.gateName, slice.protect, slice.retainOnDelete]).toEqual([
    "orchestra-staging-health",
    false,
    false,
  ]);
  expect(staging.fleet?.tags).toEqual({ "orchestra-layer": "staging" });
  expect([staging.fleet?.stackTag, staging.fleet?.launchScope, staging.fleet?.ttlHours]).toEqual([
    "orchestra/staging",
    { project: "orchestra", stack: "staging" },
    72,
  ]);
  expect(staging.plannedDatabaseUrl).toBeUndefined();
});

test("local: everything on the operator's engine, nothing over SSH", () => {
  const local = plan("local");
  const slice = containersOf(local);
  expect(local.fleet).toBeUndefined();
  expect(dockerOverSsh(local)).toBe(false);
  expect(slice.dockerHosts).toEqual({
    local: {
      providerName: "orchestra-local-docker",
      engine: { kind: "local", host: "unix:///var/run/docker.sock" },
    },
  });
  expect([slice.dataTarget, slice.appTarget, slice.dataDirectories]).toEqual([
    { kind: "local" },
    { kind: "local" },
    undefined,
  ]);
  expect(slice.app.publicUrls).toEqual({ api: "http://127.0.0.1:8000", frontend: "http://127.0.0.1:3000" });
  expect(slice.containerNames).toEqual({
    local: ["orchestra-local-apps-api", "orchestra-local-apps-frontend"],
  });
});

test("production: the policy protects and retains, no TTL", () => {
  const production = plan("production");
  expect([production.fleet?.protect, production.fleet?.retainOnDelete, production.fleet?.ttlHours]).toEqual([
    true,
    true,
    undefined,
  ]);
  expect([containersOf(production).protect, containersOf(production).retainOnDelete]).toEqual([true, true]);
});

test("fleet only: no containers, the database URL the data node will serve is still planned", () => {
  // No store runs, so the bucket settings go too (they would do nothing).
  const fleetOnly = plan("staging", (values) => ({ ...values, deployContainers: false, backup: {} }));
  expect(fleetOnly.containers).toBeUndefined();
  expect(dockerOverSsh(fleetOnly)).toBe(false);
  expect(fleetOnly.plannedDatabaseUrl).toEqual({
    template: "postgresql://orchestra:{databasePassword}@{privateIp}:5432/orchestra",
    secret: "databasePassword",
    node: "data",
  });
});
