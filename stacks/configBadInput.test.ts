/**
 * Pure tier: bad stack config is refused at preview, in the user's words (key, value, what is
 * allowed, how to fix it), and every problem is reported at once. Issue 10, item 7.
 */
import { isPinnedImage } from "../components/serviceCatalog";
import { StackConfigError, validateStackConfig } from "./config";
import { validStagingConfig } from "./configFixtures";
import type { SecretKey } from "./configSchema";

const valid = validStagingConfig;

/** The problems a config is refused with; fails the test when it is accepted. */
function problemsOf(
  raw: Record<string, unknown>,
  otherKeys: readonly string[] = [],
  presentSecrets?: readonly SecretKey[],
): string[] {
  let thrown: unknown;
  try {
    validateStackConfig(raw, presentSecrets, otherKeys);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StackConfigError);
  return (thrown as StackConfigError).problems;
}

/** The secrets a staging stack with containers and backups needs, without monitoring's webhook. */
const STORE_SECRETS: readonly SecretKey[] = [
  "sshPrivateKey",
  "databasePassword",
  "redisPassword",
  "weaviateApiKey",
  "backupAccessKeyId",
  "backupSecretAccessKey",
  "backupEncryptionKey",
];

const fixWith = (path: string) => `; fix with \`pulumi config set --path '${path}' <value>\``;

describe("publicPorts: only the frontend and API ports face the allowed CIDRs", () => {
  test("an MCP port and the Docker daemon port opened to 0.0.0.0/0 are refused", () => {
    expect(problemsOf({ ...valid, allowedCidrs: ["0.0.0.0/0"], publicPorts: [3000, 8003, 2375] })).toEqual([
      "orchestra:publicPorts contains 8003, the mcp-memory port: MCP servers serve the API on the node, not the internet, and orchestra:allowedCidrs includes 0.0.0.0/0, which would open it to the whole internet; only the frontend (3000) and API (8000) ports may face orchestra:allowedCidrs: remove 8003 from orchestra:publicPorts",
      "orchestra:publicPorts contains 2375, the Docker daemon port: whoever reaches it controls every container on the node, and orchestra:allowedCidrs includes 0.0.0.0/0, which would open it to the whole internet; only the frontend (3000) and API (8000) ports may face orchestra:allowedCidrs: remove 2375 from orchestra:publicPorts (Docker is reached over SSH)",
    ]);
  });

  test("the SSH port in publicPorts duplicates the SSH rule, also on a moved sshPort", () => {
    expect(problemsOf({ ...valid, publicPorts: [22, 8000] })).toEqual([
      "orchestra:publicPorts contains 22, the SSH port (orchestra:sshPort): the firewall already opens SSH to orchestra:allowedCidrs in its own rule; remove 22 from orchestra:publicPorts",
    ]);
    expect(problemsOf({ ...valid, sshPort: 2222, publicPorts: [2222] })).toEqual([
      "orchestra:publicPorts contains 2222, the SSH port (orchestra:sshPort): the firewall already opens SSH to orchestra:allowedCidrs in its own rule; remove 2222 from orchestra:publicPorts",
    ]);
  });

  test("a port no public service uses is refused; the API's own port follows orchestra:ports", () => {
    expect(problemsOf({ ...valid, publicPorts: [9999] })).toEqual([
      "orchestra:publicPorts contains 9999, which is neither the frontend nor the API port; only the frontend (3000) and API (8000) ports may face orchestra:allowedCidrs: remove 9999 from orchestra:publicPorts",
    ]);
    // Prometheus and the exporters stay private; the message says how they are reached instead.
    expect(problemsOf({ ...valid, publicPorts: [9090] })).toEqual([
      "orchestra:publicPorts contains 9090, the prometheus port: monitoring listens on the nodes' private side only (where it runs, the monitoring output prints the SSH tunnel that reaches it); only the frontend (3000) and API (8000) ports may face orchestra:allowedCidrs: remove 9090 from orchestra:publicPorts",
    ]);
    // A list written for the API's old port is refused once the API moves; unset follows the move.
    expect(problemsOf({ ...valid, ports: { api: 9000 }, publicPorts: [3000, 8000] })).toEqual([
      "orchestra:publicPorts contains 8000, which is neither the frontend nor the API port; only the frontend (3000) and API (9000) ports may face orchestra:allowedCidrs: remove 8000 from orchestra:publicPorts",
    ]);
    expect(validateStackConfig({ ...valid, ports: { api: 9000 } }).fleet.publicPorts).toEqual([3000, 9000]);
    expect(validateStackConfig({ ...valid, publicPorts: [] }).fleet.publicPorts).toEqual([]);
  });
});

describe("images: pinned means a version tag or a real sha256 digest", () => {
  const digest = "0123456789abcdef".repeat(4);
  test.each([
    ["postgres:15.8", true],
    [`postgres@sha256:${digest}`, true],
    [`postgres:15.8@sha256:${digest}`, true],
    ["localhost:5000/team/api:1.2", true],
    ["ghcr.io/ai-cherry/orchestra-api:2025.06.1", true],
    ["postgres:LATEST", false],
    ["postgres:Latest", false],
    ["postgres:stable", false],
    ["postgres", false],
    ["localhost:5000/postgres", false],
    ["postgres@sha256:abc", false],
    [`postgres@sha256:${digest.toUpperCase()}`, false],
    [`postgres@md5:${digest}`, false],
    ["Postgres:15.8", false],
    ["postgres:15.8 ", false],
    ["postgres:15;rm", false],
  ])("isPinnedImage(%j) is %s", (image, pinned) => {
    expect(isPinnedImage(image)).toBe(pinned);
  });

  test("a moving tag, a short digest and a malformed reference are each refused with a fix", () => {
    expect(
      problemsOf({
        ...valid,
        images: { postgres: "postgres:LATEST", redis: "redis@sha256:abc", api: "Orchestra/API:1" },
      }),
    ).toEqual([
      'orchestra:images.api = "Orchestra/API:1": not an image reference: [registry[:port]/]repository in lowercase letters, digits, ".", "_", "-" and "/", then :tag and/or @sha256:<digest>; set e.g. `pulumi config set --path \'images.api\' ghcr.io/ai-cherry/orchestra-api:2025.06.1`',
      "orchestra:images.postgres = \"postgres:LATEST\": images must be pinned by a version tag (not latest, stable, edge, nightly, main or master, in any case: they move) or by a digest, so a deployment is repeatable; set e.g. `pulumi config set --path 'images.postgres' postgres:<version>`",
      "orchestra:images.redis = \"redis@sha256:abc\": a digest is sha256: and 64 lowercase hex digits (`docker buildx imagetools inspect <image>` shows it); set e.g. `pulumi config set --path 'images.redis' redis@sha256:<64 hex digits>`",
    ]);
  });
});

describe("numbers have sane bounds, refused at preview instead of failing at create", () => {
  test("ttlHours 1e12 and a budget beyond a million dollars are refused", () => {
    expect(problemsOf({ ...valid, ttlHours: 1e12, monthlyBudgetUsd: 1e9 })).toEqual([
      "orchestra:monthlyBudgetUsd = 1000000000: must be from 0 to 1000000 US dollars a month (0 takes the layer's default)" +
        fixWith("monthlyBudgetUsd"),
      "orchestra:ttlHours = 1000000000000: must be from 0 to 744 hours (31 days; 0 takes the layer's default, 24 on integration and 72 on staging)" +
        fixWith("ttlHours"),
    ]);
    expect(validateStackConfig({ ...valid, ttlHours: 744, monthlyBudgetUsd: 1_000_000 }).cost).toMatchObject({
      ttlHours: 744,
      budget: { monthlyBudgetUsd: 1_000_000 },
    });
  });

  test("intervals, timeouts, prices, percents, ports and sizes are bounded too", () => {
    expect(
      problemsOf({
        ...valid,
        publicPorts: [3000, 70000],
        bootTimeoutMinutes: 1e12,
        pollIntervalSeconds: 0.001,
        budgetWarnPercent: 0,
        hoursPerMonth: 800,
        prices: { gpu_1x_a10: 1e9 },
        filesystemEstimateGiB: 1e12,
        filesystemUsdPerGiBMonth: 1e6,
      }),
    ).toEqual([
      "orchestra:publicPorts[1] = 70000: must be a whole port number from 1 to 65535" +
        fixWith("publicPorts[1]"),
      "orchestra:bootTimeoutMinutes = 1000000000000: must be a whole number of minutes from 1 to 240 (8-GPU types boot in about 20)" +
        fixWith("bootTimeoutMinutes"),
      "orchestra:pollIntervalSeconds = 0.001: must be a whole number of seconds from 1 to 300" +
        fixWith("pollIntervalSeconds"),
      "orchestra:budgetWarnPercent = 0: must be a whole percent from 1 to 1000" +
        fixWith("budgetWarnPercent"),
      "orchestra:hoursPerMonth = 800: must be a whole number of hours from 1 to 744 (a 31-day month)" +
        fixWith("hoursPerMonth"),
      "orchestra:prices.gpu_1x_a10 = 1000000000: must be more than 0 and at most 1000 US dollars per hour" +
        fixWith("prices.gpu_1x_a10"),
      "orchestra:filesystemEstimateGiB = 1000000000000: must be from 0 to 1048576 GiB (1 PiB)" +
        fixWith("filesystemEstimateGiB"),
      "orchestra:filesystemUsdPerGiBMonth = 1000000: must be from 0 to 10 US dollars per GiB-month (Lambda charges 0.2)" +
        fixWith("filesystemUsdPerGiBMonth"),
    ]);
  });

  test("an infinite budget prints as Infinity, not null", () => {
    expect(problemsOf({ ...valid, monthlyBudgetUsd: Infinity, ttlHours: -Infinity })).toEqual([
      "orchestra:monthlyBudgetUsd = Infinity: Invalid input: expected number, received Infinity" +
        fixWith("monthlyBudgetUsd"),
      "orchestra:ttlHours = -Infinity: Invalid input: expected number, received -Infinity" +
        fixWith("ttlHours"),
    ]);
  });
});

describe("values that reach a shell, a URL or the network", () => {
  test("sshUser must be a POSIX user name (it is in the Docker host URL and the ssh output)", () => {
    const rule =
      'must be a POSIX user name: a lowercase letter or "_" first, then lowercase letters, digits, "_" or "-", at most 32 characters (Lambda\'s images use ubuntu)';
    for (const user of [
      "ubuntu;touch /tmp/p",
      "-oProxyCommand=touch",
      "ubuntu@203.0.113.9",
      "a".repeat(33),
    ]) {
      expect(problemsOf({ ...valid, sshUser: user })).toEqual([
        `orchestra:sshUser = ${JSON.stringify(user)}: ${rule}${fixWith("sshUser")}`,
      ]);
    }
    expect(validateStackConfig({ ...valid, sshUser: "orchestra-sandbox" }).ssh.user).toBe(
      "orchestra-sandbox",
    );
  });

  test("lambdaApiUrl: https, or plain http to loopback only; no credentials, no query", () => {
    const inClear =
      "plain http:// would send the Lambda API key in clear text; use https://, or http:// only to a loopback address (127.0.0.0/8, localhost, [::1]) such as the local emulator";
    expect(problemsOf({ ...valid, lambdaApiUrl: "http://cloud.lambda.ai" })).toEqual([
      `orchestra:lambdaApiUrl = "http://cloud.lambda.ai": ${inClear}${fixWith("lambdaApiUrl")}`,
    ]);
    expect(problemsOf({ ...valid, lambdaApiUrl: "http://10.0.0.5:8080" })).toEqual([
      `orchestra:lambdaApiUrl = "http://10.0.0.5:8080": ${inClear}${fixWith("lambdaApiUrl")}`,
    ]);
    expect(problemsOf({ ...valid, lambdaApiUrl: "https://ops:hunter2@cloud.lambda.ai" })).toEqual([
      'orchestra:lambdaApiUrl = "https://***@cloud.lambda.ai": must not carry a user name or password (URLs are stored and logged in plain text); the API key goes in `pulumi config set --secret lambdaApiKey <key>`' +
        fixWith("lambdaApiUrl"),
    ]);
    expect(problemsOf({ ...valid, lambdaApiUrl: "ftp://cloud.lambda.ai" })).toEqual([
      `orchestra:lambdaApiUrl = "ftp://cloud.lambda.ai": must be an https:// URL such as https://cloud.lambda.ai, without a query or fragment${fixWith("lambdaApiUrl")}`,
    ]);
    for (const url of [
      "https://cloud.lambda.ai",
      "http://127.0.0.1:18787",
      "http://localhost:1",
      "http://[::1]:8080",
    ])
      expect(validateStackConfig({ ...valid, lambdaApiUrl: url }).lambdaApiUrl).toBe(url);
  });
});

describe("every problem at once, each in the user's words", () => {
  test("a type error no longer hides the cross-key rules: 1.295 is reported beside a 0", () => {
    expect(
      problemsOf({
        ...valid,
        sshPort: "twenty-two",
        prices: { gpu_1x_a10: 1.295, gpu_1x_a100: 0 },
        budgetWarnPercent: 120,
        budgetFailPercent: 100,
      }),
    ).toEqual([
      'orchestra:sshPort = "twenty-two": Invalid input: expected number, received string' +
        fixWith("sshPort"),
      "orchestra:prices.gpu_1x_a100 = 0: must be more than 0 and at most 1000 US dollars per hour" +
        fixWith("prices.gpu_1x_a100"),
      "orchestra:budgetWarnPercent = 120 is above orchestra:budgetFailPercent = 100; the warning must come first: lower budgetWarnPercent or raise budgetFailPercent",
      "orchestra:prices.gpu_1x_a10 = 1.295: prices are US dollars per hour with at most two decimals (whole cents), e.g. 1.29",
    ]);
  });

  test("a broken layer skips only the rules that need the layer", () => {
    expect(
      problemsOf({
        ...valid,
        layer: "prod",
        allowedCidrs: ["10.0.0.300/8"],
        nodes: { Gpu: valid.nodes.app },
      }),
    ).toEqual([
      'orchestra:layer = "prod": Invalid option: expected one of "local"|"integration"|"staging"|"production"' +
        fixWith("layer"),
      'orchestra:allowedCidrs contains "10.0.0.300/8": not an IPv4 CIDR; write e.g. 203.0.113.0/24 (a single address is /32)',
      'orchestra:nodes.Gpu: the node key "Gpu" must be a valid hostname part (lowercase letter first, then lowercase letters, digits, "-"; at most 21); rename it, e.g. "gpu"',
    ]);
  });

  test("a filesystem without region names the missing key, not an unrecognized one", () => {
    const both =
      "a filesystem needs both name and region (it attaches only to instances in its region), e.g. { name: orchestra-data, region: us-west-1 }, or set orchestra:filesystem to {} for none";
    expect(problemsOf({ ...valid, filesystem: { name: "orchestra-data" } })).toEqual([
      `orchestra:filesystem.region = (not set): ${both}${fixWith("filesystem.region")}`,
    ]);
    expect(problemsOf({ ...valid, filesystem: { region: "us-west-1" } })).toEqual([
      `orchestra:filesystem.name = (not set): ${both}${fixWith("filesystem.name")}`,
    ]);
  });

  test("an unknown nested key (a typo) is refused instead of silently dropped", () => {
    expect(
      problemsOf({
        ...valid,
        nodes: { app: { ...valid.nodes.app, mountFileSystem: true } },
        filesystem: { name: "orchestra-data", region: "us-west-1", sizeGiB: 100 },
      }),
    ).toEqual([
      "orchestra:nodes.app.mountFileSystem = true: not a node setting (a node has role, instanceType, regions, mountFilesystem and name); remove it with `pulumi config rm --path 'nodes.app.mountFileSystem'`",
      "orchestra:filesystem.sizeGiB = 100: not a filesystem setting (a filesystem has name and region); remove it with `pulumi config rm --path 'filesystem.sizeGiB'`",
    ]);
  });

  test("an unknown top-level key is refused by name only (it may hold a secret)", () => {
    expect(problemsOf(valid, ["sshuser", "lambdaApiKy", "color"])).toEqual([
      "orchestra:sshuser is not a config key of this project (did you mean sshUser?); Pulumi.yaml lists them all: remove it with `pulumi config rm sshuser`",
      "orchestra:lambdaApiKy is not a config key of this project (did you mean lambdaApiKey?); Pulumi.yaml lists them all: remove it with `pulumi config rm lambdaApiKy`",
      "orchestra:color is not a config key of this project; Pulumi.yaml lists them all: remove it with `pulumi config rm color`",
    ]);
  });
});

test("a private key pasted as sshPublicKey is one problem that never repeats the key", () => {
  const pasted =
    "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA -----END OPENSSH PRIVATE KEY-----";
  const problems = problemsOf({ ...valid, sshPublicKey: pasted });
  expect(problems).toEqual([
    "orchestra:sshPublicKey = (a private key, not shown): a private key does not belong in plain config; give the public key line (the .pub file) here and the private key only as the secret sshPrivateKey; fix with `pulumi config set --path 'sshPublicKey' \"$(cat key.pub)\"`",
  ]);
  expect(problems.join("\n")).not.toContain("b3BlbnNzaC1rZXktdjEAAAAA");
});

describe("monitoring: the environment policy decides where it may run", () => {
  test("local and integration refuse it; without containers it cannot run; bad values name the key", () => {
    expect(
      problemsOf({
        layer: "local",
        allowedCidrs: ["127.0.0.1/32"],
        nodes: {},
        sshPublicKey: valid.sshPublicKey,
        monitoring: { enabled: true },
      }),
    ).toEqual([
      "orchestra:monitoring.enabled = true: the local layer runs no monitoring (production runs it by default, staging when enabled); remove it with `pulumi config rm --path 'monitoring.enabled'`",
    ]);
    expect(
      problemsOf({ ...valid, deployContainers: false, backup: {}, monitoring: { enabled: true } }),
    ).toEqual([
      "orchestra:monitoring.enabled = true but orchestra:deployContainers = false: monitoring runs in containers on the nodes; set deployContainers to true or remove monitoring.enabled with `pulumi config rm --path 'monitoring.enabled'`",
    ]);
    expect(
      problemsOf({
        ...valid,
        monitoring: {
          enabled: "yes",
          thresholdPercent: 0,
          probeIntervalSeconds: 2,
          receiver: "pagerduty",
          retention: 7,
        },
      }),
    ).toEqual([
      `orchestra:monitoring.enabled = "yes": Invalid input: expected boolean, received string${fixWith("monitoring.enabled")}`,
      `orchestra:monitoring.thresholdPercent = 0: must be a whole percent from 1 to 100${fixWith("monitoring.thresholdPercent")}`,
      `orchestra:monitoring.probeIntervalSeconds = 2: must be a whole number of seconds from 5 to 300${fixWith("monitoring.probeIntervalSeconds")}`,
      `orchestra:monitoring.receiver = "pagerduty": Invalid option: expected one of "webhook"|"slack"${fixWith("monitoring.receiver")}`,
      "orchestra:monitoring.retention = 7: not a monitoring setting (a monitoring has enabled, thresholdPercent, apiLatencyMs, probeIntervalSeconds, retentionDays, receiver, groupWaitSeconds, groupIntervalSeconds and repeatIntervalMinutes); remove it with `pulumi config rm --path 'monitoring.retention'`",
    ]);
  });

  test("settings for a monitoring that does not run are refused, not ignored; apiLatencyMs stays under the probe timeout", () => {
    expect(problemsOf({ ...valid, monitoring: { thresholdPercent: 50, retentionDays: 7 } })).toEqual([
      "orchestra:monitoring sets thresholdPercent, retentionDays but the staging layer runs monitoring only with monitoring.enabled true, so they do nothing: set monitoring.enabled true where the layer allows it, or remove them with `pulumi config rm --path 'monitoring.thresholdPercent'`",
    ]);
    expect(problemsOf({ ...valid, monitoring: { enabled: false, apiLatencyMs: 100 } })).toEqual([
      "orchestra:monitoring sets apiLatencyMs but monitoring is off here, so it does nothing: set monitoring.enabled true where the layer allows it, or remove it with `pulumi config rm --path 'monitoring.apiLatencyMs'`",
    ]);
    expect(problemsOf({ ...valid, monitoring: { enabled: true, apiLatencyMs: 5000 } })).toEqual([
      `orchestra:monitoring.apiLatencyMs = 5000: must be a whole number of milliseconds from 1 to 4999 (a probe gives up at 5 s and counts as down)${fixWith("monitoring.apiLatencyMs")}`,
    ]);
  });

  test("a mistake inside monitoring hides neither its port clashes nor the secrets it needs", () => {
    expect(
      problemsOf({ ...valid, monitoring: { enabled: true, treshold: 80 }, ports: { prometheus: 8000 } }),
    ).toEqual([
      "orchestra:monitoring.treshold = 80: not a monitoring setting (a monitoring has enabled, thresholdPercent, apiLatencyMs, probeIntervalSeconds, retentionDays, receiver, groupWaitSeconds, groupIntervalSeconds and repeatIntervalMinutes); remove it with `pulumi config rm --path 'monitoring.treshold'`",
      "orchestra:ports: api and prometheus both claim port 8000; every service needs its own port: set another with `pulumi config set --path 'ports.prometheus' <port>`",
    ]);
    // Every secret but the webhook's set.
    expect(
      problemsOf({ ...valid, monitoring: { enabled: true, treshold: 80 } }, [], STORE_SECRETS).slice(1),
    ).toEqual([
      "orchestra:alertWebhookUrl is not set; the staging layer needs it: set it with `pulumi config set --secret alertWebhookUrl <value>` (a secret: never commit it in plain text)",
    ]);
  });

  test("enabled on staging, its ports join the port map's clash check and its webhook is required", () => {
    expect(problemsOf({ ...valid, monitoring: { enabled: true }, ports: { prometheus: 8000 } }, [])).toEqual([
      "orchestra:ports: api and prometheus both claim port 8000; every service needs its own port: set another with `pulumi config set --path 'ports.prometheus' <port>`",
    ]);
    // Every secret but the webhook's set.
    expect(problemsOf({ ...valid, monitoring: { enabled: true } }, [], STORE_SECRETS)).toEqual([
      "orchestra:alertWebhookUrl is not set; the staging layer needs it: set it with `pulumi config set --secret alertWebhookUrl <value>` (a secret: never commit it in plain text)",
    ]);
  });
});
