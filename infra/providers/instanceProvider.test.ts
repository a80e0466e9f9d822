/**
 * Provider tier: the serialized LambdaInstance provider against the emulator over real HTTP,
 * fault by fault.
 */
import { LambdaClient } from "../lambda/client";
import type { RunningEmulator } from "../emulator/server";
import { SerializedProvider, providerProcessStats, serializeProvider } from "../testing/serializedProvider";
import {
  TEST_API_KEY,
  pointClientAt,
  setFaults,
  startTestEmulator,
  unsetEnv,
} from "../testing/emulatorHarness";
import { lambdaInstanceProvider } from "./instanceProvider";
import { instanceLaunchToken, launchTokenFor } from "./lambdaInstance";
import { instanceInputs } from "../testing/instanceFixtures";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq9 ops@example.com";

let emulator: RunningEmulator;
let provider: SerializedProvider["provider"];
let serializedText: string;
let client: LambdaClient;

function inputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return instanceInputs({ ...overrides });
}

async function liveInstances() {
  return (await client.listInstances()).filter((instance) =>
    ["booting", "active", "unhealthy"].includes(instance.status),
  );
}

beforeAll(async () => {
  ({ text: serializedText, provider } = await serializeProvider(lambdaInstanceProvider));
});

beforeEach(async () => {
  emulator = await startTestEmulator();
  client = new LambdaClient();
  await client.addSshKey("ops", PUBLIC_KEY);
});

afterEach(async () => {
  await emulator.close();
});

describe("LambdaInstance provider", () => {
  test("the serialized provider holds no API key, even serialized after a key was configured and used", async () => {
    // Serialized before any key existed it could not hold one; what counts is after use, as in a
    // program that registers resources once the provider has run.
    expect(serializedText).not.toContain(TEST_API_KEY);
    await lambdaInstanceProvider.configure!({
      config: {
        get: (key: string) => (key === "orchestra:lambdaApiKey" ? TEST_API_KEY : undefined),
        require: () => "",
      },
    });
    const created = await lambdaInstanceProvider.create(inputs());
    expect(created.outs).toMatchObject({ status: "active" });
    const { text } = await serializeProvider(lambdaInstanceProvider);
    expect(text).toContain("exports.handler");
    expect(text).not.toContain(TEST_API_KEY);
  });

  test("create waits for active and reports every output", async () => {
    const result = await provider.create(inputs());
    const instance = await client.getInstance(result.id);
    expect(instance.status).toBe("active");
    expect(instance.name).toBe("gpu-a-0a1b2c3d");
    expect(result.outs).toMatchObject({
      instanceId: result.id,
      launchedName: "gpu-a-0a1b2c3d",
      status: "active",
      ip: instance.ip,
      privateIp: instance.private_ip,
      region: "us-west-1",
      instanceType: "gpu_1x_a10",
      priceCentsPerHour: 129,
      hourlyPriceUsd: 1.29,
    });
    expect(instance.ip).toMatch(/^203\.0\.113\.\d+$/);
    expect(instance.tags).toEqual([{ key: "orchestra-stack", value: "test" }]);
  });

  test("rename is an in-place update; type, region and user data are replacements", async () => {
    const created = await provider.create(inputs());
    const olds = created.outs as Record<string, unknown>;
    expect(await provider.diff(created.id, olds, inputs({ name: "gpu-b" }))).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: undefined,
      stables: undefined,
    });
    const typeDiff = await provider.diff(created.id, olds, inputs({ instanceType: "gpu_1x_a100" }));
    expect(typeDiff.replaces).toEqual(["instanceType"]);
    expect(typeDiff.deleteBeforeReplace).toBe(true);
    expect((await provider.diff(created.id, olds, inputs({ regions: ["us-east-1"] }))).replaces).toEqual([
      "regions",
    ]);
    expect(
      (await provider.diff(created.id, olds, inputs({ regions: ["us-east-1", "us-west-1"] }))).changes,
    ).toBe(false);
    expect((await provider.diff(created.id, olds, inputs({ userData: "#cloud-config\n" }))).replaces).toEqual(
      ["userData"],
    );
    expect((await provider.diff(created.id, olds, { ...inputs(), __provider: "changed code" })).changes).toBe(
      false,
    );

    const updated = await provider.update!(created.id, olds, inputs({ name: "gpu-b" }));
    expect(updated.outs).toMatchObject({
      instanceId: created.id,
      launchedName: "gpu-b-0a1b2c3d",
      status: "active",
      region: "us-west-1",
    });
    expect((await client.getInstance(created.id)).name).toBe("gpu-b-0a1b2c3d");
  });

  test("with the token LambdaInstance builds: a fallback region is no replacement, dropping the current one is", async () => {
    const tokenFor = (regions: string[]) =>
      instanceLaunchToken("orchestra", "staging", "gpu-a", {
        instanceType: "gpu_1x_a10",
        sshKeyNames: ["ops"],
        fileSystemNames: [],
        tags: { "orchestra-stack": "test" },
        regions,
      });
    const created = await provider.create(
      inputs({ regions: ["us-west-1"], launchToken: tokenFor(["us-west-1"]) }),
    );
    const olds = created.outs as Record<string, unknown>;
    expect(olds.region).toBe("us-west-1");
    const withFallback = ["us-west-1", "us-east-1"];
    expect(
      await provider.diff(
        created.id,
        olds,
        inputs({ regions: withFallback, launchToken: tokenFor(withFallback) }),
      ),
    ).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: undefined,
      stables: expect.arrayContaining(["launchToken", "instanceType"]),
    });
    const moved = ["us-east-1"];
    expect(
      await provider.diff(created.id, olds, inputs({ regions: moved, launchToken: tokenFor(moved) })),
    ).toEqual({ changes: true, replaces: ["regions"], deleteBeforeReplace: true });
  });

  test("a token that changed only by formula (the old one hashed regions) is recorded in place, not a replacement", async () => {
    const oldToken = launchTokenFor([
      "orchestra",
      "staging",
      "gpu-a",
      "gpu_1x_a10",
      ["us-west-1", "us-east-1"],
    ]);
    const created = await provider.create(inputs({ launchToken: oldToken }));
    const olds = created.outs as Record<string, unknown>;
    const news = inputs({ launchToken: "feedf00d" });
    expect(await provider.diff(created.id, olds, news)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: undefined,
      stables: undefined,
    });
    const updated = await provider.update!(created.id, olds, news);
    expect(updated.outs).toMatchObject({
      instanceId: created.id,
      launchToken: "feedf00d",
      // The running instance keeps the name it was launched with.
      launchedName: `gpu-a-${oldToken}`,
      status: "active",
    });
    expect((await liveInstances()).map((instance) => instance.id)).toEqual([created.id]);
  });

  test("a 429 storm is retried until it passes", async () => {
    await setFaults(emulator, { fail429: 4, retryAfterSeconds: 0 });
    const result = await provider.create(inputs());
    expect(result.outs).toMatchObject({ status: "active" });
    expect(emulator.stats().rateLimited).toBe(4);
    expect(providerProcessStats().rateLimited).toBe(4);
    expect(await liveInstances()).toHaveLength(1);
  });

  test("a 5xx burst on reads is retried", async () => {
    const created = await provider.create(inputs());
    await setFaults(emulator, { fail5xx: 3 });
    const read = await provider.read(created.id, created.outs);
    expect(read.props).toMatchObject({ instanceId: created.id, status: "active" });
    expect(providerProcessStats().retries).toBe(3);
  });

  test("a launch Lambda carried out but answered with HTTP 500 is found by name, not launched again", async () => {
    await setFaults(emulator, { launchThen5xx: 1 });
    const result = await provider.create(inputs());
    expect(result.outs).toMatchObject({ status: "active", launchedName: "gpu-a-0a1b2c3d" });
    expect(emulator.stats().byOperation.launchInstance).toBe(1);
    expect(emulator.stats().launchesAccepted).toBe(1);
    expect((await liveInstances()).map((instance) => instance.id)).toEqual([result.id]);
  });

  test.each([
    ["HTTP 500", { failLaunch5xx: 1 }],
    ["provider/internal-unavailable", { failLaunchProvider: 1 }],
  ])(
    "a launch answered with %s that launched nothing is looked up by name, then launched exactly once",
    async (_label, fault) => {
      await setFaults(emulator, fault);
      const result = await provider.create(inputs());
      expect(result.outs).toMatchObject({ status: "active" });
      // The adoption check before the launch, then the lookup after the ambiguous answer.
      expect(emulator.stats().byOperation.listInstances).toBe(2);
      expect(emulator.stats().byOperation.launchInstance).toBe(2);
      expect(emulator.stats().launchesAccepted).toBe(1);
      expect((await liveInstances()).map((instance) => instance.id)).toEqual([result.id]);
    },
  );

  test("a region /instance-types lists without capacity gets no launch while a listed one remains", async () => {
    await setFaults(emulator, { capacity: { "gpu_1x_a10@us-west-1": 0 } });
    const result = await provider.create(inputs());
    expect(result.outs).toMatchObject({ region: "us-east-1", status: "active" });
    expect(emulator.stats().byOperation.launchInstance).toBe(1);
  });

  test("creates started together take launch turns, each choosing from a list that counts the launch before", async () => {
    // One unit in the first region: the engine's concurrent creates must not all aim at it.
    await setFaults(emulator, { capacity: { "gpu_1x_a10@us-west-1": 1 } });
    const results = await Promise.all(
      ["gpu-a", "gpu-b", "gpu-c"].map((name, index) =>
        provider.create(inputs({ name, launchToken: `0000000${index + 1}` })),
      ),
    );
    expect(results.map((result) => result.outs.region)).toEqual(["us-west-1", "us-east-1", "us-east-1"]);
    expect(emulator.stats().byOperation.launchInstance).toBe(3);
    expect(emulator.stats().byOperation.listInstanceTypes).toBe(3);
  });

  test("when /instance-types cannot be read, a refusal for capacity moves that region last for the run", async () => {
    await setFaults(emulator, {
      capacity: { "gpu_1x_a10@us-west-1": 1 },
      unparsableOn: { listInstanceTypes: 10 },
    });
    const first = await provider.create(inputs({ name: "gpu-a", launchToken: "00000001" }));
    const second = await provider.create(inputs({ name: "gpu-b", launchToken: "00000002" }));
    const third = await provider.create(inputs({ name: "gpu-c", launchToken: "00000003" }));
    expect([first, second, third].map((result) => result.outs.region)).toEqual([
      "us-west-1",
      "us-east-1",
      "us-east-1",
    ]);
    // One refused launch (the second node's, in us-west-1), not two: the third went to us-east-1 first.
    expect(emulator.stats().byOperation.launchInstance).toBe(4);
    expect(emulator.stats().launchesAccepted).toBe(3);
  });

  test("no capacity anywhere names the regions tried and where capacity is", async () => {
    await setFaults(emulator, { capacity: { "gpu_1x_a10@us-west-1": 0, "gpu_1x_a10@us-east-1": 0 } });
    await expect(provider.create(inputs())).rejects.toThrow(
      "No capacity for gpu_1x_a10 in us-west-1, us-east-1 (tried in that order; Lambda answered insufficient-capacity). " +
        "Lambda lists capacity now in: europe-central-1, us-south-1; add one of them to regions, or run again later.",
    );
    expect(await liveInstances()).toHaveLength(0);
  });

  test("a dropped launch response is reconciled by name: exactly one instance", async () => {
    await setFaults(emulator, { dropLaunchResponses: 1 });
    const result = await provider.create(inputs());
    expect(emulator.stats().launchesAccepted).toBe(1);
    const live = await liveInstances();
    expect(live.map((instance) => instance.id)).toEqual([result.id]);
  });

  test("re-running create after an interrupted run adopts the instance instead of paying twice", async () => {
    const first = await provider.create(inputs());
    const second = await provider.create(inputs());
    expect(second.id).toBe(first.id);
    expect(emulator.stats().launchesAccepted).toBe(1);
  });

  test("a boot timeout terminates what was launched", async () => {
    await setFaults(emulator, { bootDelayMs: 60_000 });
    await expect(provider.create(inputs({ bootTimeoutMinutes: 0.005 }))).rejects.toThrow(
      /^Instance gpu-a-0a1b2c3d \(id [0-9a-f]{32}, gpu_1x_a10\) was still booting after 0\.005 minutes \(bootTimeoutMinutes\); it has been terminated so that it does not bill\. Run the deployment again to launch a new one\.$/,
    );
    expect(await liveInstances()).toHaveLength(0);
    expect((await client.listInstances()).map((instance) => instance.status)).toEqual(["terminated"]);
  });

  test("an instance that turns unhealthy while booting is terminated", async () => {
    await setFaults(emulator, { bootOutcome: "unhealthy" });
    await expect(provider.create(inputs())).rejects.toThrow(
      /^Instance gpu-a-0a1b2c3d \(id [0-9a-f]{32}, gpu_1x_a10\) became unhealthy while booting; it has been terminated/,
    );
    expect(await liveInstances()).toHaveLength(0);
  });

  test("read reports an instance terminated out of band as gone", async () => {
    const created = await provider.create(inputs());
    const before = await provider.read(created.id, created.outs);
    expect(before.id).toBe(created.id);
    expect(before.props).toMatchObject({ status: "active", instanceId: created.id });
    const response = await fetch(`${emulator.url}/_emulator/instances/${created.id}/terminate`, {
      method: "POST",
    });
    expect(response.status).toBe(200);
    expect(await provider.read(created.id, created.outs)).toEqual({});
  });

  test("delete terminates and confirms; deleting an already-terminated or unknown instance succeeds", async () => {
    const created = await provider.create(inputs());
    await provider.delete(created.id, created.outs);
    expect((await client.getInstance(created.id)).status).toBe("terminated");
    await provider.delete(created.id, created.outs);
    await provider.delete("0".repeat(32), created.outs);
    expect(await liveInstances()).toHaveLength(0);
  });
});

describe("TTL: the expiry is stamped at launch, by the provider", () => {
  test("create stamps Lambda's now + ttlHours as a tag and the expiresAt output", async () => {
    const before = Date.now();
    const result = await provider.create(inputs({ ttlHours: 72 }));
    const after = Date.now();
    const outs = result.outs as Record<string, unknown>;
    const expiresAt = Date.parse(outs.expiresAt as string);
    // Lambda's clock (the Date header, whole seconds, truncated) may read up to 1 s behind ours.
    expect(expiresAt).toBeGreaterThanOrEqual(before - 1000 + 72 * 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 72 * 3_600_000);
    expect(outs.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(outs.ttlHours).toBe(72);
    const instance = await client.getInstance(result.id);
    expect(instance.tags).toEqual([
      { key: "orchestra-stack", value: "test" },
      { key: "orchestra-expires-at", value: outs.expiresAt },
    ]);
  });

  test("without a TTL nothing is stamped and there is no expiresAt", async () => {
    const result = await provider.create(inputs());
    expect("expiresAt" in (result.outs as object)).toBe(false);
    expect((await client.getInstance(result.id)).tags).toEqual([{ key: "orchestra-stack", value: "test" }]);
  });

  test("an adopted instance keeps the expiry it was launched with", async () => {
    const first = await provider.create(inputs({ ttlHours: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await provider.create(inputs({ ttlHours: 1 }));
    expect(second.id).toBe(first.id);
    expect((second.outs as Record<string, unknown>).expiresAt).toBe(
      (first.outs as Record<string, unknown>).expiresAt,
    );
    expect(emulator.stats().launchesAccepted).toBe(1);
  });

  test("a ttlHours change is an in-place update that keeps the stamped expiry; read keeps it too", async () => {
    const created = await provider.create(inputs({ ttlHours: 24 }));
    const olds = created.outs as Record<string, unknown>;
    expect(await provider.diff(created.id, olds, inputs({ ttlHours: 24 }))).toMatchObject({ changes: false });
    expect(await provider.diff(created.id, olds, inputs({ ttlHours: 48 }))).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: undefined,
      stables: undefined,
    });
    const updated = await provider.update!(created.id, olds, inputs({ ttlHours: 48 }));
    expect(updated.outs).toMatchObject({ ttlHours: 48, expiresAt: olds.expiresAt, instanceId: created.id });
    const read = await provider.read(created.id, updated.outs as Record<string, unknown>);
    expect(read.props).toMatchObject({ ttlHours: 48, expiresAt: olds.expiresAt });
    expect(emulator.stats().launchesAccepted).toBe(1);
  });

  test("check refuses a negative TTL and a hand-written expiry tag, and tolerates an unknown TTL", async () => {
    const result = await provider.check(
      {},
      inputs({ ttlHours: -1, tags: { "orchestra-expires-at": "2000-01-01" } }),
    );
    expect((result.failures ?? []).map((failure) => `${failure.property}: ${failure.reason}`)).toEqual([
      'tags: tag "orchestra-expires-at" is stamped by the provider from ttlHours at launch; remove it from tags and set ttlHours instead',
      "ttlHours: ttlHours must be a number of hours, 0 or more (0 = no expiry), got -1",
    ]);
    const unknown = await provider.check({}, inputs({ ttlHours: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }));
    expect(unknown.failures).toEqual([]);
  });
});

describe("LambdaInstance check: bad input fails before anything is created", () => {
  test("unknown type, bad region, two SSH keys, bad hostname and tag are all reported at once", async () => {
    const result = await provider.check(
      {},
      inputs({
        instanceType: "gpu_9x_imaginary",
        regions: ["us-west-9"],
        sshKeyNames: ["ops", "backup"],
        hostname: "Bad_Host",
        tags: { Owner: "ops" },
      }),
    );
    const reasons = (result.failures ?? []).map((failure) => `${failure.property}: ${failure.reason}`);
    expect(reasons).toHaveLength(5);
    expect(reasons[0]).toBe(
      'regions: region "us-west-9" is not a Lambda region; allowed: europe-central-1, asia-south-1, australia-east-1, me-west-1, asia-northeast-1, asia-northeast-2, us-east-1, us-west-2, us-west-1, us-south-1, us-west-3, us-midwest-1, us-east-2, us-south-2, us-south-3, us-east-3, us-midwest-2',
    );
    expect(reasons[1]).toBe(
      "sshKeyNames: sshKeyNames has 2 keys (ops, backup); Lambda takes exactly one SSH key per instance: keep one and add the others to ~/.ssh/authorized_keys through userData",
    );
    expect(reasons[2]).toBe(
      'hostname: hostname "Bad_Host" must match ^[a-z0-9][0-9a-z-]{0,62}$ (lowercase letters, digits and hyphens, at most 63, not starting with a hyphen)',
    );
    expect(reasons[3]).toBe(
      'tags: tag key "Owner" must match ^[a-z][a-z0-9-:]+$ and be at most 55 characters (start with a lowercase letter; lowercase letters, digits, "-" and ":")',
    );
    expect(reasons[4]).toMatch(
      /^instanceType: instance type "gpu_9x_imaginary" does not exist on Lambda; valid types: cpu_4x_general, gpu_1x_a10, gpu_1x_a100, /,
    );
    expect(emulator.stats().launchesAccepted).toBe(0);
  });

  test("a filesystem in another region is refused with the fix", async () => {
    await client.createFilesystem("models", "us-east-1");
    const result = await provider.check({}, inputs({ regions: ["us-west-1"], fileSystemNames: ["models"] }));
    expect(result.failures).toEqual([
      {
        property: "fileSystemNames",
        reason:
          'filesystem "models" is in us-east-1, but regions is [us-west-1]; a filesystem attaches only to instances in its own region: set regions to ["us-east-1"] or use a filesystem in us-west-1',
      },
    ]);
  });

  test("unknown values during preview are tolerated", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const result = await provider.check(
      {},
      inputs({ instanceType: unknown, sshKeyNames: unknown, bootTimeoutMinutes: unknown }),
    );
    expect(result.failures).toEqual([]);
  });

  test("the API key from stack config is used, and a wrong one is a clear error without the key", async () => {
    pointClientAt(emulator.url);
    unsetEnv("LAMBDA_API_KEY");
    const { provider: configured } = await serializeProvider(lambdaInstanceProvider);
    await configured.configure!({
      config: {
        get: (key: string) => (key === "orchestra:lambdaApiKey" ? "wrong-key-123456" : undefined),
        require: () => "",
      },
    });
    const failure = await configured.check({}, inputs()).catch((error: Error) => error);
    expect(String(failure)).toBe(
      "LambdaApiError: Lambda API listInstanceTypes failed: global/invalid-api-key (HTTP 401): API key was invalid, expired, or deleted. Check your API key or create a new one, then try again.",
    );
    expect(JSON.stringify(failure)).not.toContain("wrong-key-123456");
    expect(String((failure as Error).stack)).not.toContain("wrong-key-123456");
  });
});

describe("a filesystem pins the region (see pinnedRegions)", () => {
  test("create launches a node that mounts a filesystem in the filesystem's region only", async () => {
    await client.createFilesystem("models", "us-west-1");
    const created = await provider.create(
      inputs({ regions: ["us-east-1", "us-west-1"], fileSystemNames: ["models"] }),
    );
    expect(created.outs).toMatchObject({ region: "us-west-1", regions: ["us-east-1", "us-west-1"] });
    expect((await client.getInstance(created.id)).region.name).toBe("us-west-1");
  });

  test("create refuses a filesystem outside the regions before launching anything", async () => {
    await client.createFilesystem("models", "us-west-1");
    const failure = await provider
      .create(inputs({ regions: ["us-east-1"], fileSystemNames: ["models"] }))
      .catch((error: Error) => error);
    expect(String(failure)).toBe(
      "Error: filesystem models is in us-west-1, which is not in regions [us-east-1]",
    );
    expect(emulator.stats().launchesAccepted).toBe(0);
  });
});
