/**
 * Services tier: the staging layer's container specs, exactly as the planners produce them from a
 * validated staging config, run on a real Docker engine with local stand-in images substituted
 * through the config's `images` key (no registry here). `npm run test:services` builds the images
 * (scripts/standin-images/build.sh) and starts the engine (scripts/docker-engine.sh) first.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { connect } from "node:net";
import { validateStackConfig, type StackConfig } from "../stacks/config";
import { planLayer, type ContainersSlice, type LayerPlan } from "../stacks/layerPlan";
import type { DataServicesPlan } from "./dataServicesPlan";
import type { AppServicesPlan } from "./appServicesPlan";
import { DATA_SERVICES, MCP_SERVERS, SERVICE_NAMES, type ServiceName } from "./serviceCatalog";
import { PRIVATE_IP_PLACEHOLDER, type ContainerSpec, type SecretName } from "./containerSpec";
import { freePorts, uniqueRunId } from "../infra/testing/dockerCli";
import { STANDIN_IMAGES } from "../infra/testing/standinImages";
import { DockerRunner, type ContainerInspect } from "../infra/testing/dockerRunner";

const HEALTH_TIMEOUT_MS = 180_000;
const PRIVATE = "127.0.0.1";
const PUBLIC = "0.0.0.0";

// Per-run secrets with characters that need URL-encoding in DATABASE_URL / REDIS_URL.
const rand = () => Math.random().toString(36).slice(2, 10);
const SECRETS: Record<
  Extract<SecretName, "databasePassword" | "redisPassword" | "weaviateApiKey">,
  string
> = {
  databasePassword: `pg-${rand()}@/:+${rand()}`,
  // A space, a double quote and a backslash: redis.conf needs them quoted and escaped.
  redisPassword: `rd-${rand()}@/:+ "q\\${rand()}`,
  weaviateApiKey: `wv-${rand()}${rand()}`,
};

const runId = uniqueRunId("svc");
const runner = new DockerRunner({
  runId,
  log: (line) => process.stderr.write(`[services ${runId}] ${line}\n`),
});
let config: StackConfig;
let layer: LayerPlan;
let data: DataServicesPlan;
let app: AppServicesPlan;
let all: ContainerSpec[];
let port: Record<ServiceName, number>;

/** The layer's containers slice (the staging layer here always deploys containers). */
function containersOf(plan: LayerPlan): ContainersSlice {
  if (plan.containers === undefined) throw new Error("the staging layer planned no containers");
  return plan.containers;
}

const spec = (service: ServiceName) => {
  const found = all.find((candidate) => candidate.service === service);
  if (found === undefined) throw new Error(`no spec for ${service}`);
  return found;
};
const nameOf = (service: ServiceName) => spec(service).containerName;
const sh = (args: string[]) => execFileSync(args[0], args.slice(1), { encoding: "utf8" });
const docker = (...args: string[]) => runner.run(args);

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

/** Whether a TCP connection to host:port is accepted (false on refusal or timeout). */
function accepts(host: string, tcpPort: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port: tcpPort, timeout: 2000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

beforeAll(async () => {
  // Free host ports for every service (parallel runs and other servers on this machine would
  // collide on the defaults); they reach the specs through the config's `ports` key.
  const ports = await freePorts(SERVICE_NAMES.length);
  // A staging stack whose stores share the app node (no data node), so the app reaches them by
  // service name on one Docker network; MCP servers are the staging policy's default (all six).
  config = validateStackConfig({
    layer: "staging",
    sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIServicesTier services-tier",
    allowedCidrs: ["203.0.113.0/24"],
    nodes: { app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] } },
    monthlyBudgetUsd: 3000,
    images: STANDIN_IMAGES,
    ports: Object.fromEntries(SERVICE_NAMES.map((service, i) => [service, ports[i]])),
    // No bucket here: backups have their own services-tier test.
    backup: { enabled: false },
  });
  port = config.services.ports as Record<ServiceName, number>;
  // Exactly what stacks/layer.ts hands the DataServices and AppServices components.
  layer = planLayer(config, { project: "orchestra", stack: runId });
  const slice = containersOf(layer);
  data = slice.data;
  app = slice.app;
  all = [...data.containers, ...app.containers];
  const secrets = Object.fromEntries(
    config.requiredSecrets.flatMap((key) =>
      key in SECRETS ? [[key, SECRETS[key as keyof typeof SECRETS]]] : [],
    ),
  );
  // The components fill {privateIp} with the node's private address; here the host's loopback.
  const placeholders = { [PRIVATE_IP_PLACEHOLDER]: PRIVATE };
  try {
    await runner.start(data, secrets, placeholders);
    // sameHost: the app joins the stores' network, as layer.ts passes data.networkName.
    await runner.start({ networkName: data.networkName, containers: app.containers }, secrets, placeholders);
  } catch (error) {
    await runner.teardown().catch(() => undefined);
    throw error;
  }
  await runner.waitHealthy(
    all.map((c) => c.containerName),
    HEALTH_TIMEOUT_MS,
  );
}, 300_000);

afterAll(async () => {
  await runner.teardown();
  expect(await runner.leftovers()).toEqual({ containers: [], networks: [], volumes: [] });
}, 120_000);

test("the specs are the staging layer's, with the stand-in images substituted through config", () => {
  const slice = containersOf(layer);
  expect([slice.sameHost, slice.data.settings.bindAddress]).toEqual([true, PRIVATE_IP_PLACEHOLDER]);
  expect([slice.app.settings.publicBindAddress, slice.app.settings.privateBindAddress]).toEqual([
    PUBLIC,
    PRIVATE_IP_PLACEHOLDER,
  ]);
  expect(config.requiredSecrets).toEqual([
    "sshPrivateKey",
    "databasePassword",
    "redisPassword",
    "weaviateApiKey",
  ]);
  expect(all.map((c) => [c.service, c.image])).toEqual([
    ["postgres", "orchestra-standin/postgres:15"],
    ["redis", "orchestra-standin/redis:7"],
    ["weaviate", "orchestra-standin/weaviate:1.22.4"],
    ["api", "orchestra-standin/api:test"],
    ["frontend", "orchestra-standin/frontend:test"],
    ...MCP_SERVERS.map((server) => [`mcp-${server}`, "orchestra-standin/mcp:test"]),
  ]);
});

test("every container's health check passes: all eleven are healthy", async () => {
  const states = await runner.inspectAll(all.map((c) => c.containerName));
  expect(states.map((s) => [s.Name, s.State.Status, s.State.Health?.Status, s.RestartCount])).toEqual(
    all.map((c) => [`/${c.containerName}`, "running", "healthy", 0]),
  );
  // The health check Docker runs is the spec's own command.
  expect(states.find((s) => s.Name === `/${nameOf("postgres")}`)?.Config.Healthcheck?.Test).toEqual([
    "CMD-SHELL",
    'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB" -h 127.0.0.1',
  ]);
});

test("the API reaches Postgres, Redis and Weaviate by service name over the private network", async () => {
  const api = nameOf("api");
  const { status, body } = await getJson(`http://127.0.0.1:${port.api}/api/health`);
  expect({ status, body }).toEqual({
    status: 200,
    body: { status: "healthy", checks: { database: "ok", redis: "ok", vector_store: "ok" } },
  });

  // The names resolve, inside the API container, to the stores' addresses on the private network.
  const inspected = await runner.inspectAll([nameOf("postgres"), nameOf("redis"), nameOf("weaviate")]);
  for (const [i, store] of DATA_SERVICES.entries()) {
    const network = inspected[i].NetworkSettings.Networks[data.networkName];
    expect(network.Aliases).toContain(store);
    const resolved = (await docker("exec", api, "getent", "hosts", store)).trim().split(/\s+/);
    expect(resolved).toEqual([network.IPAddress, store]);
  }
  const env = (await runner.inspect(api)).Config.Env;
  expect(env).toEqual(
    expect.arrayContaining([
      "POSTGRES_HOST=postgres",
      "REDIS_HOST=redis",
      `WEAVIATE_URL=http://weaviate:${port.weaviate}`,
      `DATABASE_URL=postgresql://orchestra:${encodeURIComponent(SECRETS.databasePassword)}@postgres:${port.postgres}/orchestra`,
      `REDIS_URL=redis://:${encodeURIComponent(SECRETS.redisPassword)}@redis:${port.redis}/0`,
    ]),
  );

  // The checks really authenticate: the same check with a wrong password fails, and says why.
  const check = (fn: string, variable: string, url: string) =>
    docker(
      "exec",
      "--env",
      `${variable}=${url}`,
      api,
      "python3",
      "-c",
      `import sys; sys.path.insert(0, "/opt/standin"); import server; print(server.${fn}())`,
    );
  const postgresIp = inspected[0].NetworkSettings.Networks[data.networkName].IPAddress;
  expect(
    await check(
      "check_database",
      "DATABASE_URL",
      `postgresql://orchestra:wrong@postgres:${port.postgres}/orchestra`,
    ),
  ).toBe(
    `postgres: psql: error: connection to server at "postgres" (${postgresIp}), port ${port.postgres} failed: ` +
      'FATAL: password authentication failed for user "orchestra"\n',
  );
  expect((await check("check_redis", "REDIS_URL", `redis://:wrong@redis:${port.redis}/0`)).trim()).toBe(
    "redis AUTH: -WRONGPASS invalid username-password pair or user is disabled.",
  );
});

test("the API's /api/health names the store that fails: Redis frozen, then back", async () => {
  const redis = nameOf("redis");
  await docker("pause", redis);
  try {
    expect(await getJson(`http://127.0.0.1:${port.api}/api/health`)).toEqual({
      status: 503,
      body: {
        status: "unhealthy",
        checks: { database: "ok", redis: "redis: timed out", vector_store: "ok" },
      },
    });
  } finally {
    await docker("unpause", redis);
  }
  expect(await getJson(`http://127.0.0.1:${port.api}/api/health`)).toEqual({
    status: 200,
    body: { status: "healthy", checks: { database: "ok", redis: "ok", vector_store: "ok" } },
  });
});

test("Postgres, Redis and Weaviate publish only on the private address, never 0.0.0.0", async () => {
  const stores = await runner.inspectAll(DATA_SERVICES.map((store) => nameOf(store)));
  // Ports lists the image's EXPOSEd ports too (with null bindings); only published ones matter.
  const bindings = (s: ContainerInspect) => ({
    declared: s.HostConfig.PortBindings,
    actual: Object.fromEntries(
      Object.entries(s.NetworkSettings.Ports ?? {}).filter(([, list]) => list !== null),
    ),
  });
  expect(stores.map(bindings)).toEqual(
    DATA_SERVICES.map((store) => {
      const published = { [`${port[store]}/tcp`]: [{ HostIp: PRIVATE, HostPort: String(port[store]) }] };
      return { declared: published, actual: published };
    }),
  );
  for (const s of stores) {
    for (const list of Object.values(s.NetworkSettings.Ports ?? {})) {
      for (const binding of list ?? []) expect(["", "0.0.0.0", "::"]).not.toContain(binding.HostIp);
    }
  }
  // Weaviate takes its (moved) port from its command, as the real image does.
  expect(stores[2].Config.Cmd).toEqual([
    "--host",
    "0.0.0.0",
    "--port",
    String(port.weaviate),
    "--scheme",
    "http",
  ]);
  // The public side, by contrast, is what the staging firewall guards.
  expect((await runner.inspect(nameOf("api"))).HostConfig.PortBindings).toEqual({
    [`${port.api}/tcp`]: [{ HostIp: PUBLIC, HostPort: String(port.api) }],
  });

  // On the wire: the stores answer on loopback, and refuse on this host's other addresses.
  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === "IPv4" && !address.internal)?.address;
  for (const store of DATA_SERVICES) {
    expect([store, await accepts(PRIVATE, port[store])]).toEqual([store, true]);
    if (external !== undefined)
      expect([store, external, await accepts(external, port[store])]).toEqual([store, external, false]);
  }
  if (external !== undefined) expect(await accepts(external, port.api)).toBe(true);
});

test("a crashed MCP server is restarted by Docker and becomes healthy again", async () => {
  const mcp = nameOf("mcp-memory");
  const before = await runner.inspect(mcp);
  expect([before.HostConfig.RestartPolicy.Name, before.Config.User, before.RestartCount]).toEqual([
    "unless-stopped",
    "1000:1000",
    0,
  ]);
  expect(await getJson(`http://127.0.0.1:${port["mcp-memory"]}/mcp/status`)).toEqual({
    status: 200,
    body: { status: "running", server: "memory management", uid: 1000, tools: [] },
  });

  // A crash, not a stop: SIGKILL the server's process from the host (PID 1 of a container
  // ignores SIGKILL sent from inside it; `docker kill`/`stop` count as manual stops).
  const since = Math.floor(Date.now() / 1000) - 1;
  process.kill(before.State.Pid, "SIGKILL");

  const deadline = Date.now() + 60_000;
  let after = await runner.inspect(mcp);
  while (after.RestartCount === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    after = await runner.inspect(mcp);
  }
  expect(after.RestartCount).toBe(1);
  expect(after.State.Pid).not.toBe(before.State.Pid);
  const until = Math.floor(Date.now() / 1000) + 1;
  const died = (
    await docker(
      "events",
      "--since",
      String(since),
      "--until",
      String(until),
      "--filter",
      `container=${mcp}`,
      "--filter",
      "event=die",
      "--format",
      "{{.Actor.Attributes.exitCode}}",
    )
  )
    .trim()
    .split("\n");
  expect(died).toEqual(["137"]);

  await runner.waitHealthy([mcp], HEALTH_TIMEOUT_MS);
  const healed = await runner.inspect(mcp);
  expect([healed.State.Health?.Status, healed.RestartCount]).toEqual(["healthy", 1]);
  expect(await getJson(`http://127.0.0.1:${port["mcp-memory"]}/health`)).toEqual({
    status: 200,
    body: { status: "ok", server: "memory management" },
  });
}, 240_000);

test("secrets never appear on a command line: docker's argv, the containers' Cmd/Args, or the process list", async () => {
  const secretForms = Object.values(SECRETS).flatMap((value) => [value, encodeURIComponent(value)]);
  const leaks = (text: string) => secretForms.filter((secret) => text.includes(secret));

  expect(runner.commands.length).toBeGreaterThan(all.length);
  expect(leaks(JSON.stringify(runner.commands))).toEqual([]);
  expect(
    runner.commands
      .filter((argv) => argv[0] === "run" || argv[0] === "create")
      .every((argv) => !argv.includes("POSTGRES_PASSWORD")),
  ).toBe(true);

  const states = await runner.inspectAll(all.map((c) => c.containerName));
  for (const s of states) {
    expect([
      s.Name,
      leaks(JSON.stringify([s.Path, s.Args, s.Config.Cmd, s.Config.Entrypoint, s.Config.Healthcheck])),
    ]).toEqual([s.Name, []]);
  }
  // Env is where Docker keeps them, as it would with @pulumi/docker: they did arrive.
  const postgresEnv = states.find((s) => s.Name === `/${nameOf("postgres")}`)?.Config.Env ?? [];
  expect(postgresEnv).toContain(`POSTGRES_PASSWORD=${SECRETS.databasePassword}`);

  // Every process on this host, the containers' included (postgres, redis-server, psql, health checks).
  expect(leaks(sh(["ps", "-eo", "args"]))).toEqual([]);
  // The env files are gone once `docker run` has read them.
  expect(runner.envFileDirectory).toBeUndefined();
  expect(readdirSync(tmpdir()).filter((entry) => entry.startsWith(`orchestra-${runId}-env-`))).toEqual([]);
});

test("the frontend serves its page and the weaviate stand-in reports ready on the private side", async () => {
  const page = await fetch(`http://127.0.0.1:${port.frontend}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain(`<code id="api-url">http://api:${port.api}</code>`);
  const ready = await fetch(`http://127.0.0.1:${port.weaviate}/v1/.well-known/ready`);
  expect(ready.status).toBe(200);
  // Weaviate requires the API key the API was given.
  const meta = await fetch(`http://127.0.0.1:${port.weaviate}/v1/meta`);
  expect(meta.status).toBe(401);
});
