/**
 * Mock tier, the integration layer: one node hosting Postgres, the API, frontend and the basic MCP
 * servers; the node's TTL and stack tag, the firewall rules, a non-default sshPort, and the error
 * for a fleet without the SSH private key.
 * Built with stacks/layerMocks.ts from the committed Pulumi.integration.yaml plus test secrets; pinned:
 * the (type, name, parent) graph, key inputs, and every secret only inside a secret envelope.
 */
import {
  build,
  containerGraph,
  expectSecretsEnveloped,
  graph,
  HEALTH,
  inputsOf,
  isSecret,
  pythonCheck,
  secretValue,
  setLayerMocks,
  value,
} from "./layerMocks";

beforeAll(setLayerMocks);

describe("integration", () => {
  test("the graph: one node hosting Postgres, the API, frontend and the basic MCP servers", async () => {
    await build("integration");
    expect(graph()).toEqual(
      [
        "orchestra:stack:Layer orchestra-integration <- <stack>",
        "orchestra:fleet:GpuFleet orchestra-integration <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:SshKey orchestra-integration-ssh <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:FirewallRuleset orchestra-integration-fw-us-east-1 <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:FirewallRuleset orchestra-integration-fw-us-south-1 <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:FirewallRuleset orchestra-integration-fw-us-west-1 <- orchestra-integration",
        "pulumi-nodejs:dynamic/lambda:Instance orchestra-integration-app <- orchestra-integration",
        "command:remote:Command orchestra-integration-app-ready <- orchestra-integration",
        "pulumi:providers:docker orchestra-integration-app-docker <- orchestra-integration",
        "orchestra:services:DataServices orchestra-integration-stores <- orchestra-integration",
        "docker:index/network:Network orchestra-integration-stores-net <- orchestra-integration-stores",
        "docker:index/volume:Volume orchestra-integration-stores-postgres-data <- orchestra-integration-stores",
        ...containerGraph("orchestra-integration-stores", ["postgres"]),
        "orchestra:services:AppServices orchestra-integration-apps <- orchestra-integration",
        ...containerGraph("orchestra-integration-apps", ["api", "frontend", "mcp-memory", "mcp-tools"]),
        "orchestra:services:HealthGate orchestra-integration-health <- orchestra-integration",
        "command:remote:Command orchestra-integration-health-check <- orchestra-integration-health",
      ].sort(),
    );
  });

  test("key inputs: Postgres on the private address, the API wired to it by name, the gate over SSH", async () => {
    const built = await build("integration");
    expect(inputsOf("pulumi:providers:docker", "orchestra-integration-app-docker")).toMatchObject({
      host: "ssh://ubuntu@203.0.113.10",
      sshOpts: JSON.stringify(["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]),
    });
    const postgres = inputsOf("docker:index/container:Container", "orchestra-integration-stores-postgres");
    expect(postgres).toMatchObject({
      ports: [{ internal: 5432, external: 5432, ip: "10.0.0.10", protocol: "tcp" }],
      // One secret entry makes the whole list a secret on its way to the engine.
      envs: secretValue([
        "POSTGRES_USER=orchestra",
        "POSTGRES_DB=orchestra",
        "PGPORT=5432",
        "POSTGRES_PASSWORD=test-databasePassword",
      ]),
      restart: "unless-stopped",
      volumes: [
        {
          volumeName: "orchestra-integration-stores-postgres-data",
          containerPath: "/var/lib/postgresql/data",
        },
      ],
      healthcheck: HEALTH(
        ["CMD-SHELL", 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB" -h 127.0.0.1'],
        "30s",
      ),
    });
    const api = inputsOf("docker:index/container:Container", "orchestra-integration-apps-api");
    expect(api.ports).toEqual([{ internal: 8000, external: 8000, ip: "0.0.0.0", protocol: "tcp" }]);
    expect(api.envs).toEqual(
      secretValue([
        "ENVIRONMENT=integration",
        "ORCHESTRA_AI_ENV=integration",
        "POSTGRES_HOST=postgres",
        "PORT=8000",
        "DATABASE_URL=postgresql://orchestra:test-databasePassword@postgres:5432/orchestra",
      ]),
    );
    expect(api.networksAdvanced).toEqual([{ name: "orchestra-integration-stores-net", aliases: ["api"] }]);
    const memory = inputsOf("docker:index/container:Container", "orchestra-integration-apps-mcp-memory");
    expect(memory).toMatchObject({
      ports: [{ internal: 8003, external: 8003, ip: "10.0.0.10", protocol: "tcp" }],
      restart: "unless-stopped",
      user: "1000:1000",
      memory: 512,
      memorySwap: 512,
      cpus: "0.5",
      healthcheck: HEALTH(pythonCheck("http://127.0.0.1:8003/health"), "20s"),
    });
    const gate = inputsOf("command:remote:Command", "orchestra-integration-health-check");
    expect(gate.create).toContain(
      "pending='api=http://127.0.0.1:8000/api/health mcp-memory=http://10.0.0.10:8003/health mcp-tools=http://10.0.0.10:8006/health'",
    );
    expect(gate.connection).toEqual(
      secretValue({
        host: "203.0.113.10",
        port: 22,
        user: "ubuntu",
        privateKey: "test-sshPrivateKey",
        dialErrorLimit: 120,
        perDialTimeout: 5,
      }),
    );
    expect(await value(built.apiUrl)).toBe("http://203.0.113.10:8000");
    expect(await value(built.mcpEndpoints)).toEqual({
      memory: "http://10.0.0.10:8003",
      tools: "http://10.0.0.10:8006",
    });
    expect(await value(built.databaseUrl)).toBe(
      "postgresql://orchestra:test-databasePassword@postgres:5432/orchestra",
    );
    expect(await isSecret(built.databaseUrl)).toBe(true);
    expect(built.redisUrl).toBeUndefined();
    expectSecretsEnveloped(["test-sshPrivateKey", "test-databasePassword"]);
  });

  test("the node carries the layer's TTL and the stack tag the reaper selects by", async () => {
    await build("integration");
    const app = inputsOf("pulumi-nodejs:dynamic/lambda:Instance", "orchestra-integration-app");
    expect(app.ttlHours).toBe(24);
    expect(app.tags).toMatchObject({
      "orchestra-stack": "orchestra/integration",
      "orchestra-layer": "integration",
    });
  });

  test("firewall rules open SSH and the public ports to the allowed CIDRs only", async () => {
    await build("integration");
    expect(
      inputsOf("pulumi-nodejs:dynamic/lambda:FirewallRuleset", "orchestra-integration-fw-us-west-1").rules,
    ).toEqual([
      {
        protocol: "tcp",
        port_range: [22, 22],
        source_network: "203.0.113.0/24",
        description: "ssh from 203.0.113.0/24",
      },
      {
        protocol: "tcp",
        port_range: [3000, 3000],
        source_network: "203.0.113.0/24",
        description: "port 3000 from 203.0.113.0/24",
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

  test("a non-default sshPort is the port the firewall opens and the readiness step dials", async () => {
    await build("integration", (values) => ({ ...values, sshPort: 2222 }));
    const rules = inputsOf(
      "pulumi-nodejs:dynamic/lambda:FirewallRuleset",
      "orchestra-integration-fw-us-west-1",
    ).rules as { port_range?: number[]; description: string }[];
    expect(rules.map((rule) => [rule.description, rule.port_range])).toEqual([
      ["ssh from 203.0.113.0/24", [2222, 2222]],
      ["port 3000 from 203.0.113.0/24", [3000, 3000]],
      ["port 8000 from 203.0.113.0/24", [8000, 8000]],
      ["ping", undefined],
    ]);
    const ready = inputsOf("command:remote:Command", "orchestra-integration-app-ready");
    expect((ready.connection as { value: { port: number } }).value.port).toBe(2222);
  });

  test("a fleet layer without the SSH private key fails with how to set it", async () => {
    const { validateStackConfig } = await import("./config");
    const { stackValues } = await import("./configFiles");
    const { Layer } = await import("./layer");
    const { planLayer } = await import("./layerPlan");
    const config = validateStackConfig(stackValues("integration"));
    const plan = planLayer(config, { project: "orchestra", stack: "integration" });
    expect(() => new Layer(plan.names.layer, { plan, secrets: {} })).toThrow(
      "layer integration: the SSH private key is missing though the layer has nodes; set it with `pulumi config set --secret sshPrivateKey < key-file`",
    );
  });
});
