/**
 * Provider tier, faults after a launch: every way `create` can fail once it has launched ends with
 * the instance returned or terminated (counted on the emulator), missing or null fields never
 * become empty addresses, and an instance that turns `unhealthy` after `active` is repaired.
 */
import { LambdaClient } from "../lambda/client";
import type { RunningEmulator } from "../emulator/server";
import {
  SerializedProvider,
  hostProcess,
  providerProcessStats,
  serializeProvider,
} from "../testing/serializedProvider";
import { setFaults, startTestEmulator } from "../testing/emulatorHarness";
import { lambdaInstanceProvider } from "./instanceProvider";
import { instanceInputs } from "../testing/instanceFixtures";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq9 ops@example.com";
const ID = "[0-9a-f]{32}";

let emulator: RunningEmulator;
let provider: SerializedProvider["provider"];
let client: LambdaClient;

function inputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return instanceInputs({ ...overrides });
}

/** Instances that bill on the emulator (booting, active, unhealthy), by id. */
async function billing(): Promise<string[]> {
  return (await client.listInstances())
    .filter((instance) => ["booting", "active", "unhealthy"].includes(instance.status))
    .map((instance) => instance.id);
}

/** Billing instances on the emulator that nobody holds: not in `held` (what create returned). */
async function orphans(held: string[] = []): Promise<string[]> {
  return (await billing()).filter((id) => !held.includes(id));
}

async function control(path: string, body: unknown = {}): Promise<void> {
  const response = await fetch(`${emulator.url}/_emulator/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "(no error)",
    // The serialized provider's errors come from another realm: not `instanceof Error` here.
    (error: unknown) => String((error as { message?: unknown }).message ?? error),
  );
}

beforeAll(async () => {
  ({ provider } = await serializeProvider(lambdaInstanceProvider));
});

beforeEach(async () => {
  emulator = await startTestEmulator();
  client = new LambdaClient();
  await client.addSshKey("ops", PUBLIC_KEY);
});

afterEach(async () => {
  delete hostProcess().env.LAMBDA_RETRY_ATTEMPTS;
  await emulator.close();
});

describe("a missing or null field never becomes an empty address", () => {
  test("an active instance without private_ip is re-read until Lambda reports it", async () => {
    await setFaults(emulator, { privateIpDelayMs: 300 });
    const result = await provider.create(inputs());
    const instance = await client.getInstance(result.id);
    expect(instance.private_ip).toMatch(/^10\.19\.0\.\d+$/);
    expect(result.outs).toMatchObject({ status: "active", privateIp: instance.private_ip, ip: instance.ip });
  });

  test("an instance that never reports private_ip fails create, named, and is terminated", async () => {
    await setFaults(emulator, { privateIpDelayMs: 600_000 });
    const message = await errorOf(provider.create(inputs({ bootTimeoutMinutes: 0.01 })));
    expect(message).toMatch(
      new RegExp(
        `^Instance gpu-a-0a1b2c3d \\(id ${ID}, gpu_1x_a10\\) was active but Lambda reported no private_ip within 0\\.01 minutes \\(bootTimeoutMinutes\\); ` +
          "without it the stores would bind an empty address, which Docker takes as every interface; " +
          "it has been terminated so that it does not bill\\. Run the deployment again to launch a new one\\.$",
      ),
    );
    expect(await orphans()).toEqual([]);
  });

  test("null hostname, name and private_ip on one listed instance: every read works, no address is emptied", async () => {
    const a = await provider.create(inputs());
    const b = await provider.create(inputs({ name: "gpu-b", launchToken: "00000002" }));
    await control(`instances/${b.id}/fields`, { set: { hostname: null, name: null, private_ip: null } });
    const readA = await provider.read(a.id, a.outs);
    expect(readA.props).toMatchObject({ instanceId: a.id, status: "active", privateIp: a.outs.privateIp });
    const readB = await provider.read(b.id, b.outs);
    expect(readB.id).toBe(b.id);
    expect(readB.props).toMatchObject({
      instanceId: b.id,
      status: "active",
      launchedName: "gpu-b-00000002",
      privateIp: b.outs.privateIp,
      actualHostname: b.outs.actualHostname,
    });
    expect(b.outs.privateIp).toMatch(/^10\.19\.0\.\d+$/);
  });

  test("a listed instance that does not parse at all is reported alone and keeps its state", async () => {
    const a = await provider.create(inputs());
    const b = await provider.create(inputs({ name: "gpu-b", launchToken: "00000002" }));
    await control(`instances/${b.id}/fields`, { set: { status: "migrating" }, omit: ["region"] });
    expect((await provider.read(a.id, a.outs)).props).toMatchObject({ instanceId: a.id, status: "active" });
    expect(await provider.read(b.id, b.outs)).toEqual({ id: b.id, props: b.outs });
    const listing = await client.listInstancesChecked();
    expect(listing.instances.map((instance) => instance.id)).toEqual([a.id]);
    expect(listing.unreadable).toEqual([
      {
        id: b.id,
        name: "gpu-b-00000002",
        status: "migrating",
        tags: [{ key: "orchestra-stack", value: "test" }],
        problem:
          'status: Invalid option: expected one of "booting"|"active"|"unhealthy"|"terminated"|"terminating"|"preempted"; region: Invalid input: expected object, received undefined',
      },
    ]);
  });
  test("an unparsable listed instance under this resource's name is not launched a second time", async () => {
    const first = await provider.create(inputs());
    await control(`instances/${first.id}/fields`, { set: { status: "migrating" } });
    expect(await errorOf(provider.create(inputs()))).toBe(
      `Lambda lists an instance named gpu-a-0a1b2c3d (id ${first.id}) but it could not be read ` +
        '(status: Invalid option: expected one of "booting"|"active"|"unhealthy"|"terminated"|"terminating"|"preempted"); ' +
        "not launching a second one. Check it in the Lambda console (terminate it there if it is not wanted), then run the deployment again.",
    );
    expect(emulator.stats().launchesAccepted).toBe(1);
  });
  test("a live instance whose name reads null but carries this node's tags is not launched a second time", async () => {
    const first = await provider.create(inputs());
    await control(`instances/${first.id}/fields`, { set: { name: null } });
    expect(await errorOf(provider.create(inputs()))).toBe(
      `Lambda lists a live instance without a name (id ${first.id}) that carries every tag of gpu-a-0a1b2c3d; it may be ` +
        "this node, launched by an interrupted run, so a second one is not launched. Check it with `npm run lambda -- instances` " +
        `(terminate it with \`npm run lambda -- terminate ${first.id}\` if it is not wanted), then run the deployment again.`,
    );
    expect(emulator.stats().launchesAccepted).toBe(1);
    // Another node's tags: the nameless instance is not this one, so this node launches.
    const other = await provider.create(
      inputs({ tags: { "orchestra-stack": "test", "orchestra-node": "gpu-b" } }),
    );
    expect(await orphans([first.id, other.id])).toEqual([]);
    expect(emulator.stats().launchesAccepted).toBe(2);
  });
  test("without a TTL a launch needs no Lambda clock: a response without a Date header does not stop it", async () => {
    await setFaults(emulator, { omitDateHeader: true });
    const result = await provider.create(inputs());
    expect(result.outs).toMatchObject({ status: "active" });
    expect(await errorOf(provider.create(inputs({ name: "gpu-t", ttlHours: 2 })))).toMatch(
      /^Lambda's clock is unknown/,
    );
    expect(emulator.stats().launchesAccepted).toBe(1);
  });
});

describe("once create has launched, it returns the instance or terminates it", () => {
  test("a 5xx burst while polling the new instance is ridden out: the instance is returned", async () => {
    await setFaults(emulator, { fail5xxOn: { getInstance: 9 } });
    const result = await provider.create(inputs());
    expect(result.outs).toMatchObject({ status: "active", instanceId: result.id });
    expect(emulator.stats().byOperation.getInstance).toBeGreaterThan(9);
    expect(await orphans([result.id])).toEqual([]);
  });

  test("an unparsable launch response is reconciled by name: exactly one instance, returned", async () => {
    await setFaults(emulator, { unparsableOn: { launchInstance: 1 } });
    const result = await provider.create(inputs());
    expect(result.outs).toMatchObject({ status: "active", launchedName: "gpu-a-0a1b2c3d" });
    expect(emulator.stats().launchesAccepted).toBe(1);
    expect(await orphans([result.id])).toEqual([]);
  });

  test("an unparsable answer while polling terminates the instance (confirmed) and says so", async () => {
    await setFaults(emulator, { unparsableOn: { getInstance: 1 } });
    const message = await errorOf(provider.create(inputs()));
    expect(message).toMatch(
      new RegExp(
        `^Instance gpu-a-0a1b2c3d \\(id ${ID}, gpu_1x_a10\\) was launched, but reading it failed: ` +
          "Lambda API getInstance: unexpected response, field data: missing; " +
          "it has been terminated so that it does not bill\\. Run the deployment again to launch a new one\\.$",
      ),
    );
    expect(await orphans()).toEqual([]);
    expect((await client.listInstances()).map((instance) => instance.status)).toEqual(["terminated"]);
  });

  test("when the API fails both the polling and the termination, the error names the instance and how to remove it", async () => {
    hostProcess().env.LAMBDA_RETRY_ATTEMPTS = "2";
    await setFaults(emulator, { fail5xxOn: { getInstance: 1000, terminateInstance: 1000 } });
    const message = await errorOf(provider.create(inputs({ bootTimeoutMinutes: 0.002 })));
    const id = /\(id ([0-9a-f]{32}),/.exec(message)?.[1] ?? "(none)";
    expect(message).toBe(
      `Instance gpu-a-0a1b2c3d (id ${id}, gpu_1x_a10) was launched, but could not be read for 0.002 minutes (bootTimeoutMinutes): ` +
        "Lambda API getInstance failed after 2 attempts: global/unknown (HTTP 500): Internal server error.; " +
        "terminating it failed too: Lambda API terminateInstance failed after 2 attempts: global/unknown (HTTP 500): Internal server error.. " +
        `It may still bill: terminate it with \`npm run lambda -- terminate ${id}\` or in the Lambda console. ` +
        "Until then the next `pulumi up` adopts it by its name, but `pulumi destroy` does not see it.",
    );
    // Named in the error, so not an orphan nobody can find; and the only one.
    expect(await billing()).toEqual([id]);
  });
});

describe("429 on the launch call itself", () => {
  test("is retried: a rejected launch launched nothing, so trying again cannot pay twice", async () => {
    await setFaults(emulator, { failLaunch429: 3 });
    const result = await provider.create(inputs());
    expect(result.outs).toMatchObject({ status: "active" });
    expect(emulator.stats().rateLimited).toBe(3);
    expect(emulator.stats().byOperation.launchInstance).toBe(1);
    expect(providerProcessStats().byOperation.launchInstance).toBe(4);
    expect(await orphans([result.id])).toEqual([]);
  });

  test("429 on every attempt fails with the attempts counted, and nothing is launched", async () => {
    hostProcess().env.LAMBDA_RETRY_ATTEMPTS = "3";
    await setFaults(emulator, { failLaunch429: 100, retryAfterSeconds: 0 });
    expect(await errorOf(provider.create(inputs()))).toBe(
      "Lambda API launchInstance failed after 3 attempts: HTTP 429",
    );
    expect(emulator.stats().rateLimited).toBe(3);
    expect(emulator.stats().launchesAccepted).toBe(0);
    expect(await orphans()).toEqual([]);
  });
});

describe("unhealthy after active", () => {
  test("read reports it, diff plans a repair in place, update restarts it back to active", async () => {
    const created = await provider.create(inputs());
    await control(`instances/${created.id}/unhealthy`);
    const read = await provider.read(created.id, created.outs);
    expect(read.props).toMatchObject({ instanceId: created.id, status: "unhealthy" });
    const olds = read.props as Record<string, unknown>;
    expect(await provider.diff(created.id, olds, inputs())).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: undefined,
      stables: undefined,
    });
    const updated = await provider.update!(created.id, olds, inputs());
    expect(updated.outs).toMatchObject({ instanceId: created.id, status: "active" });
    expect(emulator.stats().byOperation.restartInstance).toBe(1);
    expect(await orphans([created.id])).toEqual([]);
  });

  test("a node still unhealthy after the restart fails the update, naming it and the fix", async () => {
    const created = await provider.create(inputs());
    await control(`instances/${created.id}/unhealthy`);
    await setFaults(emulator, { bootOutcome: "unhealthy" });
    const olds = (await provider.read(created.id, created.outs)).props as Record<string, unknown>;
    expect(await errorOf(provider.update!(created.id, olds, inputs()))).toBe(
      `Instance gpu-a-0a1b2c3d (id ${created.id}, gpu_1x_a10) was unhealthy and is still unhealthy after a restart. ` +
        "It keeps running (and billing) and stays in the stack: replace it with `pulumi up --replace <URN of gpu-a>` " +
        "(a new instance and a new disk), or terminate it in the Lambda console and run `pulumi refresh`.",
    );
    expect((await client.getInstance(created.id)).status).toBe("unhealthy");
  });
});
