/**
 * Dynamic provider for a Lambda Cloud instance.
 *
 * - check (instanceCheck.ts): validates inputs, and the type, filesystems and image against the
 *   live API, so a bad one fails at preview with the valid ones.
 * - create: adopts an instance already launched under the same unique name (a killed `pulumi up`
 *   leaves one), else launches (stamping `orchestra-expires-at` = now + ttlHours when set), in the region
 *   order launchOrder.ts chooses from the capacity list and refusals, failing over on
 *   insufficient-capacity; after an
 *   ambiguous failure (5xx, provider error, dropped connection, unparsable answer) looks for the
 *   instance by name before launching again; waits for `active` with both addresses, and from the
 *   launch on either returns the instance or terminates it (see instanceLifecycle.ts).
 * - read: one shared listing per refresh (listingMemo.ts); an instance gone or terminated out of band leaves state;
 *   one Lambda lists but that does not parse keeps its state; a missing address keeps the stored one.
 * - diff: an instance refresh found `unhealthy` is a change; update restarts it (Lambda's repair).
 * - update: rename in place; delete: terminate and confirm `terminated` or 404.
 */
import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import type { LambdaClient, LaunchRequest } from "../lambda/client";
import { EXPIRES_AT_TAG } from "../instanceTags";
import { isLambdaError } from "../lambda/errors";
import type { Instance } from "../lambda/schemas";
import { pinnedRegions } from "../launchRules";
import { refusedRecently, rememberNoCapacity } from "./capacityMemo";
import { LIVE_STATUSES, configureFromStack, diffByKeys, UNKNOWN, isUnknown, lambdaClient } from "./common";
import { planLaunchOrder } from "./launchOrder";
import { inLaunchTurn } from "./launchTurn";
import { invalidateListing, memoFilesystems, memoInstances, memoInstanceTypes } from "./listingMemo";
import {
  findLiveByName,
  messageOf,
  missingAddresses,
  restartUnhealthy,
  settleLaunched,
  terminateAndConfirm,
} from "./instanceLifecycle";
import {
  expiryFor,
  INSTANCE_REPLACE_KEYS,
  INSTANCE_UPDATE_KEYS,
  InstanceInputs,
  InstanceOutputs,
  launchedInstanceName,
} from "./instanceInputs";
import { checkInstance } from "./instanceCheck";

/** How many times one region is tried after an ambiguous launch that left no instance behind. */
const AMBIGUOUS_LAUNCH_ATTEMPTS = 3;

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

/** A launch answer that does not say whether Lambda launched: 5xx, provider, network, or unparsable. */
function isAmbiguousLaunchFailure(error: unknown): boolean {
  if ((error as { name?: unknown } | undefined)?.name === "LambdaResponseShapeError") return true;
  return (
    isLambdaError(error) && (error.kind === "server" || error.kind === "provider" || error.kind === "network")
  );
}

/** After an ambiguous launch: the instance Lambda may have launched anyway (and bill for), if listed. */
async function lookUpAfterAmbiguousLaunch(
  client: LambdaClient,
  launchedName: string,
  tags: Readonly<Record<string, string>>,
  launchError: unknown,
): Promise<Instance | undefined> {
  invalidateListing("instances", "instanceTypes");
  try {
    return findLiveByName(await client.listInstancesChecked(), launchedName, tags);
  } catch (lookupError) {
    throw new Error(
      `Launching ${launchedName} failed without saying whether Lambda launched it (${messageOf(launchError)}), ` +
        `and looking it up by name failed too (${messageOf(lookupError)}). An instance of that name may be billing: ` +
        "the next `pulumi up` adopts it by its name; `npm run lambda -- instances` lists it and `npm run lambda -- terminate <id>` removes it.",
    );
  }
}

/** Regions `/instance-types` lists with capacity for `instanceType`; undefined when it cannot be read. */
async function listedWithCapacity(client: LambdaClient, instanceType: string): Promise<string[] | undefined> {
  const types = await memoInstanceTypes(client).catch(() => undefined);
  return types?.[instanceType]?.regions_with_capacity_available.map((region) => region.name);
}

/**
 * Launches in the first region that takes it; never launches twice for one ambiguous failure. Each
 * attempt chooses its region at that moment (launchOrder.ts) from the capacity list and the memo,
 * inside this process's launch turn (launchTurn.ts), so the list already counts the launch before.
 */
async function launchSomewhere(
  client: LambdaClient,
  inputs: InstanceInputs,
  regions: string[],
  expiresAt: string | undefined,
): Promise<string> {
  const launchedName = launchedInstanceName(inputs.name, inputs.launchToken);
  const refusedForCapacity: string[] = [];
  for (;;) {
    const untried = regions.filter((region) => !refusedForCapacity.includes(region));
    if (untried.length === 0) break;
    const [region] = planLaunchOrder({
      regions: untried,
      listedWithCapacity: await listedWithCapacity(client, inputs.instanceType),
      refusedRecently: refusedRecently(client.apiUrl, inputs.instanceType, untried),
    });
    for (let attempt = 1; ; attempt++) {
      try {
        const id = await client.launchInstance(buildLaunchRequest(inputs, region, expiresAt));
        // The listing lacks it and the capacity list still counts its unit as free.
        invalidateListing("instances", "instanceTypes");
        return id;
      } catch (error) {
        if (isLambdaError(error, "insufficient-capacity")) {
          rememberNoCapacity(client.apiUrl, inputs.instanceType, region);
          // The list was wrong or is stale: the next choice reads it again.
          invalidateListing("instanceTypes");
          refusedForCapacity.push(region);
          break;
        }
        if (!isAmbiguousLaunchFailure(error)) throw error;
        // Lambda may have launched it anyway (and be billing for it): look before trying again.
        const adopted = await lookUpAfterAmbiguousLaunch(client, launchedName, inputs.tags, error);
        if (adopted !== undefined) return adopted.id;
        if (attempt >= AMBIGUOUS_LAUNCH_ATTEMPTS) throw error;
      }
    }
  }
  const withCapacity = (await listedWithCapacity(client, inputs.instanceType)) ?? [];
  throw new Error(
    `No capacity for ${inputs.instanceType} in ${refusedForCapacity.join(", ")} (tried in that order; Lambda answered insufficient-capacity). ` +
      (withCapacity.length > 0
        ? `Lambda lists capacity now in: ${withCapacity.join(", ")}; add one of them to regions, or run again later.`
        : "Lambda lists no region with capacity for this type now; choose another instanceType or run again later."),
  );
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Outputs from the instance as Lambda reports it. The expiry is read back from the instance's own
 * tag (what the reaper acts on); `stored` (the recorded outputs) covers a listing without tags, and
 * addresses Lambda leaves out for a while (an instance keeps its addresses for its lifetime). An
 * address neither Lambda nor the state has is an error, never "": Docker binds "" to every interface.
 */
function toOutputs(
  inputs: InstanceInputs,
  instance: Instance,
  stored: Record<string, unknown> = {},
): InstanceOutputs {
  const { userData, ...rest } = inputs;
  const tagged = instance.tags?.find((tag) => tag.key === EXPIRES_AT_TAG)?.value;
  const expiresAt = tagged ?? (typeof stored.expiresAt === "string" ? stored.expiresAt : undefined);
  const recorded = (key: string) =>
    typeof stored[key] === "string" && stored[key] !== "" ? (stored[key] as string) : undefined;
  const ip = instance.ip ?? recorded("ip");
  const privateIp = instance.private_ip ?? recorded("privateIp");
  const launchedName = instance.name ?? launchedInstanceName(inputs.name, inputs.launchToken);
  if (ip === undefined || privateIp === undefined) {
    throw new Error(
      `Instance ${launchedName} (id ${instance.id}) is ${instance.status} but Lambda reports no ${missingAddresses(instance).join(", ")} and none is recorded; ` +
        "refusing to record an empty address (Docker would bind every interface). Run `pulumi refresh` again once Lambda reports it.",
    );
  }
  return {
    ...rest,
    instanceId: instance.id,
    launchedName,
    status: instance.status,
    ip,
    privateIp,
    actualHostname: instance.hostname ?? recorded("actualHostname") ?? "",
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
  // A filesystem pins the region, as Lambda reports it now (see pinnedRegions).
  let regions = inputs.regions;
  if (inputs.fileSystemNames.length > 0) {
    const filesystems = await memoFilesystems(client);
    const pinned = filesystems.find((fs) => inputs.fileSystemNames.includes(fs.name))?.region.name;
    regions = pinnedRegions(inputs.regions, pinned);
    if (regions.length === 0) {
      throw new Error(
        `filesystem ${inputs.fileSystemNames.join(", ")} is in ${pinned}, which is not in regions [${inputs.regions.join(", ")}]`,
      );
    }
  }
  // Adopt an instance an interrupted run launched under this name. One listing serves every create
  // that starts together (a fleet of 8 costs one list call, not 8, before its first launch).
  const existing = findLiveByName(await memoInstances(client), launchedName, inputs.tags);
  // The clock starts here, at the launch, not in the program (see expiryFor), and it is Lambda's
  // (the listing's Date header), the clock the reaper judges by. An adopted instance keeps its expiry.
  const id =
    existing?.id ??
    (await inLaunchTurn(() =>
      launchSomewhere(
        client,
        inputs,
        regions,
        expiryFor(inputs.ttlHours, () => client.serverNow().getTime()),
      ),
    ));
  // From here on the instance bills: it is returned, or terminated and the error says so.
  const instance = await settleLaunched(client, id, inputs);
  return { id, outs: toOutputs(inputs, instance) };
}

async function readInstance(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
  const client = lambdaClient();
  const listing = await memoInstances(client);
  const instance = listing.instances.find((candidate) => candidate.id === id);
  // Listed but unparsable (a null or unknown value in a field we need): keep the recorded state.
  // Dropping it would make the next `up` launch a second one; blanking fields would fail open.
  if (instance === undefined && listing.unreadable.some((entry) => entry.id === id)) return { id, props };
  // Gone, or terminated out of band: report it deleted so the next `up` launches a new one.
  if (instance === undefined || !LIVE_STATUSES.includes(instance.status)) return {};
  const inputs = props as unknown as InstanceInputs;
  const outputs = toOutputs(inputs, instance, props);
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
    invalidateListing("instances");
  } else {
    instance = await client.getInstance(id);
  }
  // Refresh found it unhealthy (diffInstance made that a change): restart it, Lambda's repair.
  if (instance.status === "unhealthy") instance = await restartUnhealthy(client, id, inputs);
  // A new ttlHours is recorded for the next launch; the stamped expiry cannot change (see INSTANCE_UPDATE_KEYS).
  return { outs: toOutputs(inputs, instance, olds) };
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
  // Refresh found the node unhealthy: a dead node must not look like a clean stack. `update`
  // restarts it in place (keeping its disk); a replacement is the operator's call.
  if (extra.length === 0 && olds.status === "unhealthy")
    return {
      changes: true,
      replaces: result.replaces,
      deleteBeforeReplace: result.deleteBeforeReplace,
      stables: undefined,
    };
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
