/**
 * What happens to a Lambda instance after its launch request: waiting for `active` with both
 * addresses, terminating (confirmed) what cannot be returned, finding an instance by its launched
 * name, and restarting one that turned `unhealthy` after `active`.
 *
 * The rule every path here keeps: once an instance is launched, the caller either gets it back or
 * it is terminated and the error says so; when neither is possible the error names its id, its
 * name and how to remove it.
 */
import type { LambdaClient } from "../lambda/client";
import { isLambdaError, isRetryableKind } from "../lambda/errors";
import type { Instance, InstanceListing } from "../lambda/schemas";
import { LIVE_STATUSES, sleep } from "./common";
import { InstanceInputs, launchedInstanceName } from "./instanceInputs";
import { invalidateListing } from "./listingMemo";

/** Addresses an active instance must report before anything binds to or routes at it. */
const REQUIRED_ADDRESSES = ["ip", "private_ip"] as const;

/** "gpu-a-0a1b2c3d (id 0920…, gpu_1x_a10)": how every error names an instance. */
export function instanceLabel(inputs: InstanceInputs, id: string): string {
  return `${launchedInstanceName(inputs.name, inputs.launchToken)} (id ${id}, ${inputs.instanceType})`;
}

/** An error's message. Not `instanceof Error`: the serialized provider's errors are not (see errors.ts). */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : String(error);
}

/** A fault that may pass on its own (5xx, 429, provider, network): worth another poll. */
function isTransient(error: unknown): boolean {
  return isLambdaError(error) && isRetryableKind(error.kind);
}

/** The addresses Lambda left out (absent or null; the schema reads null as absent). */
export function missingAddresses(instance: Instance): string[] {
  return REQUIRED_ADDRESSES.filter((field) => (instance[field] ?? "") === "");
}

/**
 * The live instance carrying exactly this launched name, if any. An instance Lambda lists that
 * could be this one but cannot be told apart is an error, not "none": launching again would pay
 * twice. That is one listed under the name that does not parse, and a live one whose name Lambda
 * reports as null but which carries every tag this resource launches with (`tags`, when given).
 */
export function findLiveByName(
  listing: InstanceListing,
  launchedName: string,
  tags?: Readonly<Record<string, string>>,
): Instance | undefined {
  const odd = listing.unreadable.find((entry) => entry.name === launchedName);
  if (odd !== undefined) {
    throw new Error(
      `Lambda lists an instance named ${launchedName} (id ${odd.id ?? "unreadable"}) but it could not be read (${odd.problem}); ` +
        "not launching a second one. Check it in the Lambda console (terminate it there if it is not wanted), then run the deployment again.",
    );
  }
  const nameless = listing.instances.find(
    (instance) =>
      instance.name === undefined &&
      LIVE_STATUSES.includes(instance.status) &&
      carriesAllTags(instance, tags),
  );
  if (nameless !== undefined) {
    throw new Error(
      `Lambda lists a live instance without a name (id ${nameless.id}) that carries every tag of ${launchedName}; it may be ` +
        "this node, launched by an interrupted run, so a second one is not launched. Check it with `npm run lambda -- instances` " +
        `(terminate it with \`npm run lambda -- terminate ${nameless.id}\` if it is not wanted), then run the deployment again.`,
    );
  }
  return listing.instances.find(
    (instance) => instance.name === launchedName && LIVE_STATUSES.includes(instance.status),
  );
}

/** True when `tags` is non-empty and the instance carries each of them with the same value. */
function carriesAllTags(instance: Instance, tags: Readonly<Record<string, string>> | undefined): boolean {
  const wanted = Object.entries(tags ?? {});
  if (wanted.length === 0) return false;
  return wanted.every(([key, value]) =>
    (instance.tags ?? []).some((tag) => tag.key === key && tag.value === value),
  );
}

/** Terminates and waits until Lambda reports `terminated` or forgets the instance (404). */
export async function terminateAndConfirm(
  client: LambdaClient,
  id: string,
  pollMs: number,
  timeoutMs: number,
): Promise<void> {
  try {
    await client.terminateInstances([id]);
  } catch (error) {
    if (isLambdaError(error, "not-found")) return;
    throw error;
  }
  // Its unit goes back on offer: the capacity list changes too.
  invalidateListing("instances", "instanceTypes");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const instance = await client.getInstance(id);
      if (instance.status === "terminated") return;
    } catch (error) {
      if (isLambdaError(error, "not-found")) return;
      throw error;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Instance ${id} was asked to terminate but is still not terminated after ${Math.round(timeoutMs / 1000)} s; check it in the Lambda console, it may still bill`,
      );
    }
    await sleep(pollMs);
  }
}

/** A reason the launched instance cannot be returned, phrased to follow "Instance <label> ". */
class LaunchProblem extends Error {
  readonly launchProblem: string;
  constructor(problem: string) {
    super(problem);
    this.message = problem;
    this.launchProblem = problem;
  }
}

/** The first poll after a launch comes after 1 s, each next one twice as late, up to the poll interval. */
const FIRST_POLL_DELAY_MS = 1000;

/**
 * How long to wait before poll number `polls` (0-based) of a booting instance. Why a ramp, not the
 * interval from the start: the wait past the moment an instance turns active is pure loss at the end
 * of a fleet's `up` (with a 10 s interval and a 5 s boot, ~5 s of it). Boots on Lambda take
 * minutes, so the ramp costs a few extra reads per node, at one request per second.
 */
export function pollDelayMs(polls: number, pollIntervalMs: number): number {
  return Math.min(pollIntervalMs, FIRST_POLL_DELAY_MS * 2 ** polls);
}

/**
 * Polls until the instance is `active` and reports both addresses. Faults that may pass (5xx, 429,
 * network) are polled through until the boot deadline; `unhealthy`, `preempted`, a definitive API
 * error or the deadline end it with a LaunchProblem.
 */
async function pollUntilActive(client: LambdaClient, id: string, inputs: InstanceInputs): Promise<Instance> {
  const pollMs = inputs.pollIntervalSeconds * 1000;
  const minutes = `${inputs.bootTimeoutMinutes} minutes (bootTimeoutMinutes)`;
  const deadline = Date.now() + inputs.bootTimeoutMinutes * 60_000;
  let lastFault: unknown;
  let missing: string[] = [];
  for (let polls = 0; ; polls++) {
    let instance: Instance | undefined;
    try {
      instance = await client.getInstance(id);
      lastFault = undefined;
    } catch (error) {
      if (!isTransient(error))
        throw new LaunchProblem(`was launched, but reading it failed: ${messageOf(error)}`);
      lastFault = error;
    }
    if (instance?.status === "active") {
      missing = missingAddresses(instance);
      if (missing.length === 0) return instance;
    } else if (instance?.status === "unhealthy") {
      throw new LaunchProblem("became unhealthy while booting");
    } else if (instance !== undefined && instance.status !== "booting") {
      throw new LaunchProblem(`is ${instance.status} before it became active`);
    }
    if (Date.now() >= deadline) {
      if (lastFault !== undefined)
        throw new LaunchProblem(
          `was launched, but could not be read for ${minutes}: ${messageOf(lastFault)}`,
        );
      if (missing.length > 0)
        throw new LaunchProblem(
          `was active but Lambda reported no ${missing.join(", ")} within ${minutes}; ` +
            "without it the stores would bind an empty address, which Docker takes as every interface",
        );
      throw new LaunchProblem(`was still booting after ${minutes}`);
    }
    await sleep(pollDelayMs(polls, pollMs));
  }
}

/**
 * Waits for a launched (or adopted) instance and returns it, or terminates it (confirmed) and
 * throws saying so; when the termination fails too, the error names the instance and its removal.
 */
export async function settleLaunched(
  client: LambdaClient,
  id: string,
  inputs: InstanceInputs,
): Promise<Instance> {
  try {
    return await pollUntilActive(client, id, inputs);
  } catch (error) {
    const problem =
      error instanceof LaunchProblem ? error.launchProblem : `was launched, but ${messageOf(error)}`;
    const label = instanceLabel(inputs, id);
    try {
      await terminateAndConfirm(client, id, inputs.pollIntervalSeconds * 1000, 10 * 60_000);
    } catch (terminateError) {
      throw new Error(
        `Instance ${label} ${problem}; terminating it failed too: ${messageOf(terminateError)}. ` +
          `It may still bill: terminate it with \`npm run lambda -- terminate ${id}\` or in the Lambda console. ` +
          "Until then the next `pulumi up` adopts it by its name, but `pulumi destroy` does not see it.",
      );
    }
    throw new Error(
      `Instance ${label} ${problem}; it has been terminated so that it does not bill. Run the deployment again to launch a new one.`,
    );
  }
}

/**
 * Restarts an instance Lambda reports `unhealthy` (Lambda's documented repair) and waits for it to
 * be active again. It is in the stack, so a failed repair leaves it running and says what to do.
 */
export async function restartUnhealthy(
  client: LambdaClient,
  id: string,
  inputs: InstanceInputs,
): Promise<Instance> {
  await client.restartInstances([id]);
  invalidateListing("instances");
  const deadline = Date.now() + inputs.bootTimeoutMinutes * 60_000;
  let seenRebooting = false;
  let status: string = "unhealthy";
  for (;;) {
    await sleep(inputs.pollIntervalSeconds * 1000);
    try {
      const instance = await client.getInstance(id);
      status = instance.status;
      if (status === "active" && missingAddresses(instance).length === 0) return instance;
      if (status === "booting") seenRebooting = true;
    } catch (error) {
      if (!isTransient(error)) throw error;
    }
    // `unhealthy` right after the restart call may be the old state; after a reboot it is the answer.
    const label = instanceLabel(inputs, id);
    if (!LIVE_STATUSES.includes(status as never)) {
      throw new Error(
        `Instance ${label} was unhealthy and is ${status} after a restart; run \`pulumi refresh\` to drop it from the stack, then \`pulumi up\` launches a new one.`,
      );
    }
    if ((status === "unhealthy" && seenRebooting) || Date.now() >= deadline) {
      throw new Error(
        `Instance ${label} was unhealthy and is still ${status === "active" ? "without an address" : status} after a restart. ` +
          `It keeps running (and billing) and stays in the stack: replace it with \`pulumi up --replace <URN of ${inputs.name}>\` ` +
          "(a new instance and a new disk), or terminate it in the Lambda console and run `pulumi refresh`.",
      );
    }
  }
}
