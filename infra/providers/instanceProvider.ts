/**
 * Dynamic provider for a Lambda Cloud instance.
 *
 * - check: validates inputs, and the type and filesystems against the live API, so a bad type
 *   fails at preview with the list of valid ones.
 * - create: adopts an instance already launched under the same unique name (a killed `pulumi up`
 *   leaves one), else launches (stamping `orchestra-expires-at` = now + ttlHours when set), trying regions in order on insufficient-capacity; after an
 *   ambiguous failure (5xx, provider error, dropped connection) looks for the instance by name
 *   before launching again; waits for `active`, and terminates what it launched on `unhealthy`
 *   or timeout.
 * - read: one cached listing per refresh; an instance gone or terminated out of band leaves state.
 * - update: rename in place; delete: terminate and confirm `terminated` or 404.
 */
import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import type { LambdaClient, LaunchRequest } from "../lambda/client";
import { isLambdaError } from "../lambda/errors";
import type { Instance, InstanceTypesMap } from "../lambda/schemas";
import { orderByRecentCapacity, rememberNoCapacity } from "./capacityMemo";
import {
  LIVE_STATUSES,
  cachedFetch,
  cachedInstanceList,
  configureFromStack,
  diffByKeys,
  invalidateInstanceList,
  UNKNOWN,
  isUnknown,
  lambdaClient,
  sleep,
} from "./common";
import {
  EXPIRES_AT_TAG,
  expiryFor,
  INSTANCE_REPLACE_KEYS,
  INSTANCE_UPDATE_KEYS,
  InstanceInputs,
  InstanceOutputs,
  launchedInstanceName,
  validateInstanceInputs,
} from "./instanceInputs";

/** How many times one region is tried after an ambiguous launch that left no instance behind. */
const AMBIGUOUS_LAUNCH_ATTEMPTS = 3;

const TYPES_KEY = "__orchestraLambdaInstanceTypes";

/** `/instance-types`, fetched once per process per 5 minutes: every instance's check shares it. */
function cachedInstanceTypes(client: LambdaClient): Promise<InstanceTypesMap> {
  return cachedFetch(TYPES_KEY, 300_000, () => client.listInstanceTypes());
}

async function checkInstance(
  _olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.CheckResult> {
  const inputs = news as Partial<InstanceInputs>;
  const failures = validateInstanceInputs(inputs);
  const client = lambdaClient();
  if (inputs.instanceType !== undefined && !isUnknown(inputs.instanceType)) {
    const types = await cachedInstanceTypes(client);
    if (types[inputs.instanceType] === undefined) {
      failures.push({
        property: "instanceType",
        reason: `instance type "${inputs.instanceType}" does not exist on Lambda; valid types: ${Object.keys(types).sort().join(", ")}`,
      });
    }
  }
  const fsNames = inputs.fileSystemNames;
  const regions = inputs.regions;
  if (
    fsNames !== undefined &&
    fsNames.length > 0 &&
    !isUnknown(fsNames) &&
    regions !== undefined &&
    !isUnknown(regions)
  ) {
    const filesystems = await client.listFilesystems();
    for (const fsName of fsNames) {
      const fs = filesystems.find((candidate) => candidate.name === fsName);
      if (fs !== undefined && !regions.includes(fs.region.name)) {
        failures.push({
          property: "fileSystemNames",
          reason: `filesystem "${fsName}" is in ${fs.region.name}, but regions is [${regions.join(", ")}]; a filesystem attaches only to instances in its own region: set regions to ["${fs.region.name}"] or use a filesystem in ${regions[0]}`,
        });
      }
    }
  }
  return { inputs: news, failures };
}

/** A live instance that carries exactly this launched name, if any. */
async function findLiveByName(client: LambdaClient, launchedName: string): Promise<Instance | undefined> {
  invalidateInstanceList();
  const instances = await client.listInstances();
  return instances.find(
    (instance) => instance.name === launchedName && LIVE_STATUSES.includes(instance.status),
  );
}

function buildLaunchRequest(inputs: InstanceInputs, region: string, expiresAt?: string): LaunchRequest {
  const tags = { ...inputs.tags, ...(expiresAt !== undefined ? { [EXPIRES_AT_TAG]: expiresAt } : {}) };
  const request: LaunchRequest = {
    region_name: region,
    instance_type_name: inputs.instanceType,
    ssh_key_names: inputs.sshKeyNames,
    file_system_names: inputs.fileSystemNames,
    name: launchedInstanceName(inputs.name, inputs.launchToken),
    tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    firewall_rulesets:
      inputs.firewallRulesetsByRegion[region] !== undefined
        ? [{ id: inputs.firewallRulesetsByRegion[region] }]
        : [],
  };
  if (inputs.hostname !== undefined) request.hostname = inputs.hostname;
  if (inputs.imageId !== undefined) request.image = { id: inputs.imageId };
  else if (inputs.imageFamily !== undefined) request.image = { family: inputs.imageFamily };
  if (inputs.userData !== undefined) request.user_data = inputs.userData;
  return request;
}

function isAmbiguousLaunchFailure(error: unknown): boolean {
  return (
    isLambdaError(error) && (error.kind === "server" || error.kind === "provider" || error.kind === "network")
  );
}

/** Launches in the first region that has capacity; never launches twice for one ambiguous failure. */
async function launchSomewhere(
  client: LambdaClient,
  inputs: InstanceInputs,
  regions: string[],
  expiresAt: string | undefined,
): Promise<string> {
  const launchedName = launchedInstanceName(inputs.name, inputs.launchToken);
  const refusedForCapacity: string[] = [];
  for (const region of orderByRecentCapacity(client.apiUrl, inputs.instanceType, regions)) {
    for (let attempt = 1; ; attempt++) {
      try {
        const id = await client.launchInstance(buildLaunchRequest(inputs, region, expiresAt));
        invalidateInstanceList();
        return id;
      } catch (error) {
        if (isLambdaError(error, "insufficient-capacity")) {
          rememberNoCapacity(client.apiUrl, inputs.instanceType, region);
          refusedForCapacity.push(region);
          break;
        }
        if (!isAmbiguousLaunchFailure(error)) throw error;
        // Lambda may have launched it anyway (and be billing for it): look before trying again.
        const adopted = await findLiveByName(client, launchedName);
        if (adopted !== undefined) return adopted.id;
        if (attempt >= AMBIGUOUS_LAUNCH_ATTEMPTS) throw error;
      }
    }
  }
  const types = await cachedInstanceTypes(client).catch(() => undefined);
  const withCapacity =
    types?.[inputs.instanceType]?.regions_with_capacity_available.map((region) => region.name) ?? [];
  throw new Error(
    `No capacity for ${inputs.instanceType} in ${refusedForCapacity.join(", ")} (tried in that order; Lambda answered insufficient-capacity). ` +
      (withCapacity.length > 0
        ? `Lambda lists capacity now in: ${withCapacity.join(", ")}; add one of them to regions, or run again later.`
        : "Lambda lists no region with capacity for this type now; choose another instanceType or run again later."),
  );
}

/** Terminates and waits until Lambda reports `terminated` or forgets the instance (404). */
async function terminateAndConfirm(
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
  invalidateInstanceList();
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

/** Polls until active. On unhealthy, preempted, terminated or timeout, terminates it and throws. */
async function waitUntilActive(client: LambdaClient, id: string, inputs: InstanceInputs): Promise<Instance> {
  const pollMs = inputs.pollIntervalSeconds * 1000;
  const deadline = Date.now() + inputs.bootTimeoutMinutes * 60_000;
  const label = `${launchedInstanceName(inputs.name, inputs.launchToken)} (id ${id}, ${inputs.instanceType})`;
  for (;;) {
    const instance = await client.getInstance(id);
    if (instance.status === "active") return instance;
    let problem: string | undefined;
    if (instance.status === "unhealthy") problem = "became unhealthy while booting";
    else if (instance.status !== "booting") problem = `is ${instance.status} before it became active`;
    else if (Date.now() >= deadline)
      problem = `was still booting after ${inputs.bootTimeoutMinutes} minutes (bootTimeoutMinutes)`;
    if (problem !== undefined) {
      await terminateAndConfirm(client, id, pollMs, 10 * 60_000);
      throw new Error(
        `Instance ${label} ${problem}; it has been terminated so that it does not bill. Run the deployment again to launch a new one.`,
      );
    }
    await sleep(pollMs);
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Outputs from the instance as Lambda reports it. The expiry is read back from the instance's own
 * tag (what the reaper acts on); `knownExpiresAt` (the stored output) covers a listing without tags.
 */
function toOutputs(inputs: InstanceInputs, instance: Instance, knownExpiresAt?: unknown): InstanceOutputs {
  const { userData, ...rest } = inputs;
  const tagged = instance.tags?.find((tag) => tag.key === EXPIRES_AT_TAG)?.value;
  const expiresAt = tagged ?? (typeof knownExpiresAt === "string" ? knownExpiresAt : undefined);
  return {
    ...rest,
    instanceId: instance.id,
    launchedName: instance.name ?? launchedInstanceName(inputs.name, inputs.launchToken),
    status: instance.status,
    ip: instance.ip ?? "",
    privateIp: instance.private_ip ?? "",
    actualHostname: instance.hostname ?? "",
    region: instance.region.name,
    priceCentsPerHour: instance.instance_type.price_cents_per_hour,
    hourlyPriceUsd: instance.instance_type.price_cents_per_hour / 100,
    ...(userData !== undefined ? { userDataSha256: sha256(userData) } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
  };
}

async function createInstance(news: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
  const inputs = news as unknown as InstanceInputs;
  const client = lambdaClient();
  const launchedName = launchedInstanceName(inputs.name, inputs.launchToken);
  // A filesystem pins the region: launching anywhere else fails with file-system-in-wrong-region.
  let regions = inputs.regions;
  if (inputs.fileSystemNames.length > 0) {
    const filesystems = await client.listFilesystems();
    const pinned = filesystems.find((fs) => inputs.fileSystemNames.includes(fs.name))?.region.name;
    if (pinned !== undefined) regions = regions.filter((region) => region === pinned);
    if (regions.length === 0) {
      throw new Error(
        `filesystem ${inputs.fileSystemNames.join(", ")} is in ${pinned}, which is not in regions [${inputs.regions.join(", ")}]`,
      );
    }
  }
  // Adopt an instance an interrupted run launched under this name. One listing serves every create
  // that starts together (a fleet of 8 costs one list call, not 8, before its first launch).
  const existing = (await cachedInstanceList(client)).find(
    (instance) => instance.name === launchedName && LIVE_STATUSES.includes(instance.status),
  );
  // The clock starts here, at the launch, not in the program (see expiryFor), and it is Lambda's
  // (the listing's Date header), the clock the reaper judges by. An adopted instance keeps its expiry.
  const id =
    existing?.id ??
    (await launchSomewhere(
      client,
      inputs,
      regions,
      expiryFor(inputs.ttlHours, client.serverNow().getTime()),
    ));
  const instance = await waitUntilActive(client, id, inputs);
  return { id, outs: toOutputs(inputs, instance) };
}

async function readInstance(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
  const client = lambdaClient();
  const instance = (await cachedInstanceList(client)).find((candidate) => candidate.id === id);
  // Gone, or terminated out of band: report it deleted so the next `up` launches a new one.
  if (instance === undefined || !LIVE_STATUSES.includes(instance.status)) return {};
  const inputs = props as unknown as InstanceInputs;
  const outputs = toOutputs(inputs, instance, props.expiresAt);
  return { id, props: { ...props, ...outputs, name: props.name } };
}

async function updateInstance(
  id: string,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.UpdateResult> {
  const inputs = news as unknown as InstanceInputs;
  const client = lambdaClient();
  let instance: Instance;
  if (olds.name !== news.name) {
    instance = await client.renameInstance(id, launchedInstanceName(inputs.name, inputs.launchToken));
    invalidateInstanceList();
  } else {
    instance = await client.getInstance(id);
  }
  // A new ttlHours is recorded for the next launch; the stamped expiry cannot change (see INSTANCE_UPDATE_KEYS).
  return { outs: toOutputs(inputs, instance, olds.expiresAt) };
}

async function deleteInstance(id: string, props: Record<string, unknown>): Promise<void> {
  const pollSeconds = typeof props.pollIntervalSeconds === "number" ? props.pollIntervalSeconds : 10;
  await terminateAndConfirm(lambdaClient(), id, pollSeconds * 1000, 15 * 60_000);
}

/**
 * `olds` are the stored outputs. User data is kept there only as a hash, so it is compared by hash;
 * an instance whose region is still among the listed regions stays where it is.
 */
function diffInstance(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): pulumi.dynamic.DiffResult {
  const result = diffByKeys(
    olds,
    news,
    { replace: INSTANCE_REPLACE_KEYS, update: INSTANCE_UPDATE_KEYS },
    true,
  );
  const extra: string[] = [];
  if (Array.isArray(news.regions) && !isUnknown(news.regions) && !news.regions.includes(olds.region))
    extra.push("regions");
  const region = olds.region as string;
  const oldRuleset = (olds.firewallRulesetsByRegion as Record<string, string> | undefined)?.[region];
  const newRulesets = news.firewallRulesetsByRegion as Record<string, string> | string | undefined;
  if (newRulesets === UNKNOWN || (typeof newRulesets === "object" && newRulesets[region] !== oldRuleset))
    extra.push("firewallRulesetsByRegion");
  const newUserData = news.userData;
  const newHash =
    typeof newUserData === "string" && newUserData !== UNKNOWN ? sha256(newUserData) : undefined;
  if (newUserData === UNKNOWN || newHash !== olds.userDataSha256) extra.push("userData");
  if (extra.length === 0) return result;
  return { changes: true, replaces: [...(result.replaces ?? []), ...extra], deleteBeforeReplace: true };
}

export const lambdaInstanceProvider: pulumi.dynamic.ResourceProvider = {
  configure: (req) => configureFromStack(req),
  check: (olds, news) => checkInstance(olds, news),
  diff: async (_id, olds, news) => diffInstance(olds, news),
  create: (inputs) => createInstance(inputs),
  read: (id, props) => readInstance(id, props),
  update: (id, olds, news) => updateInstance(id, olds, news),
  delete: (id, props) => deleteInstance(id, props),
};
