/**
 * Mock tier, the local layer: the local Docker engine, a SQLite volume, the API and frontend on
 * loopback and the health gate run locally.
 * Built with stacks/layerMocks.ts from the committed Pulumi.local.yaml plus test secrets; pinned:
 * the (type, name, parent) graph, key inputs, and every secret only inside a secret envelope.
 */
import {
  build,
  declared,
  expectSecretsEnveloped,
  graph,
  HEALTH,
  inputsOf,
  isSecret,
  pythonCheck,
  setLayerMocks,
  value,
} from "./layerMocks";

beforeAll(setLayerMocks);

describe("local", () => {
  test("the graph: the local engine, a SQLite volume, the API and frontend, the gate", async () => {
    await build("local");
    expect(graph()).toEqual(
      [
        "orchestra:stack:Layer orchestra-local <- <stack>",
        "pulumi:providers:docker orchestra-local-docker <- orchestra-local",
        "orchestra:services:DataServices orchestra-local-stores <- orchestra-local",
        "docker:index/network:Network orchestra-local-stores-net <- orchestra-local-stores",
        "docker:index/volume:Volume orchestra-local-stores-sqlite-data <- orchestra-local-stores",
        "orchestra:services:AppServices orchestra-local-apps <- orchestra-local",
        "docker:index/remoteImage:RemoteImage orchestra-local-apps-api-image <- orchestra-local-apps",
        "docker:index/container:Container orchestra-local-apps-api <- orchestra-local-apps",
        "docker:index/remoteImage:RemoteImage orchestra-local-apps-frontend-image <- orchestra-local-apps",
        "docker:index/container:Container orchestra-local-apps-frontend <- orchestra-local-apps",
        "orchestra:services:HealthGate orchestra-local-health <- orchestra-local",
        "command:local:Command orchestra-local-health-check <- orchestra-local-health",
      ].sort(),
    );
  });

  test("key inputs: loopback ports, SQLite wiring, pinned images, restart and health checks", async () => {
    const built = await build("local");
    expect(inputsOf("pulumi:providers:docker", "orchestra-local-docker").host).toBe(
      "unix:///var/run/docker.sock",
    );
    expect(inputsOf("docker:index/remoteImage:RemoteImage", "orchestra-local-apps-api-image")).toEqual({
      name: "ghcr.io/ai-cherry/orchestra-api:2025.06.1",
      keepLocally: true,
    });
    const api = inputsOf("docker:index/container:Container", "orchestra-local-apps-api");
    expect(api).toMatchObject({
      name: "orchestra-local-apps-api",
      image: "sha256:orchestra-local-apps-api-image",
      ports: [{ internal: 8000, external: 8000, ip: "127.0.0.1", protocol: "tcp" }],
      envs: [
        "ENVIRONMENT=local",
        "ORCHESTRA_AI_ENV=local",
        "DATABASE_URL=sqlite:////data/orchestra.db",
        "PORT=8000",
      ],
      restart: "unless-stopped",
      memory: 2048,
      memorySwap: 2048,
      cpus: "2.0",
      volumes: [{ volumeName: "orchestra-local-stores-sqlite-data", containerPath: "/data" }],
      networksAdvanced: [{ name: "orchestra-local-stores-net", aliases: ["api"] }],
      healthcheck: HEALTH(pythonCheck("http://127.0.0.1:8000/api/health"), "20s"),
    });
    const frontend = inputsOf("docker:index/container:Container", "orchestra-local-apps-frontend");
    expect(frontend.ports).toEqual([{ internal: 3000, external: 3000, ip: "127.0.0.1", protocol: "tcp" }]);
    expect(frontend.envs).toEqual([
      "ENVIRONMENT=local",
      "ORCHESTRA_AI_ENV=local",
      "VITE_API_URL=http://api:8000",
      "PORT=3000",
    ]);
    const gate = inputsOf("command:local:Command", "orchestra-local-health-check");
    expect(gate.create).toContain("pending='api=http://127.0.0.1:8000/api/health'");
    expect(gate.triggers).toEqual(["orchestra-local-apps-api-id", "orchestra-local-apps-frontend-id"]);
    expect(await value(built.apiUrl)).toBe("http://127.0.0.1:8000");
    expect(await value(built.frontendUrl)).toBe("http://127.0.0.1:3000");
    expect(await value(built.mcpEndpoints)).toEqual({});
    expect(await value(built.databaseUrl)).toBe("sqlite:////data/orchestra.db");
    expect(await isSecret(built.databaseUrl)).toBe(true);
    expect(declared.find((resource) => resource.type === "docker:index/volume:Volume")).toMatchObject({
      protect: false,
      retainOnDelete: false,
    });
    expectSecretsEnveloped([]);
  });
});
