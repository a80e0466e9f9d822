/**
 * `POST /api/v1/instance-operations/launch` in the emulated account: the body validated as 1.8.3
 * documents it, then every reference checked against the account (type, image, SSH key,
 * filesystems, rulesets), then quota and capacity, in the order Lambda's messages suggest.
 */
import { PUBLIC_REGION_CODES } from "../lambda/schemas";
import type { EmulatedAccount } from "./account";
import { ApiFailure, invalid, notFound } from "./apiFailure";
import { EMULATED_INSTANCE_TYPES } from "./catalog";
import type { Filesystems } from "./filesystems";

/** Launches one instance from a launch body; returns its id. Throws the ApiFailure Lambda would answer. */
export function launchInstance(account: EmulatedAccount, body: Record<string, unknown>): string {
  const request = validateLaunchRequest(body);
  const type = EMULATED_INSTANCE_TYPES.find((candidate) => candidate.name === request.instanceType);
  if (type === undefined) {
    throw notFound(
      `Instance type ${request.instanceType} does not exist.`,
      "List instance types with GET /api/v1/instance-types.",
    );
  }
  if (body.image !== undefined && !account.images.exists(body.image, request.region)) {
    throw notFound(
      `Image ${JSON.stringify(body.image)} does not exist in ${request.region}.`,
      "List images with GET /api/v1/images.",
    );
  }
  for (const keyName of request.sshKeyNames) {
    if (!account.sshKeys.hasName(keyName))
      throw notFound(`SSH key ${keyName} does not exist.`, "Add the key with POST /api/v1/ssh-keys first.");
  }
  const mounts = resolveMounts(account.filesystems, request);
  for (const rulesetId of request.firewallRulesetIds) {
    const region = account.firewall.regionOf(rulesetId);
    if (region === undefined)
      throw notFound(`Firewall ruleset ${rulesetId} does not exist.`, "Check the ruleset ID.");
    if (region !== request.region)
      throw invalid(`Firewall ruleset ${rulesetId} is in ${region}, not ${request.region}.`);
  }
  if (account.instances.liveIdsWhere(() => true).length >= account.options.instanceQuota) {
    throw new ApiFailure(
      400,
      "global/quota-exceeded",
      "Quota exceeded.",
      "Contact Support to increase your quota.",
    );
  }
  if (!account.capacity.hasRoom(type.name, request.region)) {
    throw new ApiFailure(
      400,
      "instance-operations/launch/insufficient-capacity",
      "Not enough capacity to fulfill launch request.",
      "Try another region or instance type.",
    );
  }
  return account.instances.add({
    name: request.name ?? "",
    type,
    region: request.region,
    sshKeyNames: request.sshKeyNames,
    fileSystemNames: request.fileSystemNames,
    fileSystemMounts: mounts,
    hostname: request.hostname,
    tags: request.tags,
    firewallRulesetIds: request.firewallRulesetIds,
  });
}

type Mount = { mount_point: string; file_system_id: string };

/** Each named filesystem, in the launch's region, at its explicit mount point or `/lambda/nfs/<name>`. */
function resolveMounts(filesystems: Filesystems, request: ValidLaunch): Mount[] {
  return request.fileSystemNames.map((fsName) => {
    const fs = filesystems.findByName(fsName);
    if (fs === undefined)
      throw notFound(`Filesystem ${fsName} does not exist.`, "Create the filesystem first.");
    if (fs.region !== request.region) {
      throw new ApiFailure(
        400,
        "instance-operations/launch/file-system-in-wrong-region",
        `Filesystem ${fsName} is in ${fs.region}, not ${request.region}.`,
        "Launch in the filesystem's region.",
      );
    }
    const explicit = request.fileSystemMounts.find((mount) => mount.file_system_id === fs.id);
    return { mount_point: explicit?.mount_point ?? `/lambda/nfs/${fs.name}`, file_system_id: fs.id };
  });
}

interface ValidLaunch {
  region: string;
  instanceType: string;
  sshKeyNames: string[];
  fileSystemNames: string[];
  fileSystemMounts: Mount[];
  hostname?: string;
  name?: string;
  tags: { key: string; value: string }[];
  firewallRulesetIds: string[];
}

/** Validates a launch body the way 1.8.3 documents it, in the order Lambda's messages suggest. */
function validateLaunchRequest(body: Record<string, unknown>): ValidLaunch {
  const region = body.region_name;
  if (typeof region !== "string" || !(PUBLIC_REGION_CODES as readonly string[]).includes(region))
    throw invalid(`Region ${String(region)} does not exist.`);
  if (typeof body.instance_type_name !== "string") throw invalid("instance_type_name is required.");
  if (body.quantity !== undefined && body.quantity !== 1) throw invalid("Requested too many instances.");
  const keys = body.ssh_key_names;
  if (!Array.isArray(keys) || keys.length !== 1 || typeof keys[0] !== "string")
    throw invalid("Currently, exactly one SSH key must be specified.");
  const fsNames = body.file_system_names ?? [];
  if (!Array.isArray(fsNames) || !fsNames.every((name) => typeof name === "string"))
    throw invalid("file_system_names must be a list of names.");
  const mounts = (body.file_system_mounts ?? []) as Mount[];
  for (const mount of mounts) {
    if (
      typeof mount.mount_point !== "string" ||
      !/^(\/home|\/lambda\/nfs|\/data)[//a-zA-Z0-9-]*$/.test(mount.mount_point) ||
      mount.mount_point.length > 256
    ) {
      throw invalid(
        `mount_point ${String(mount.mount_point)} must match ^(/home|/lambda/nfs|/data)[//a-zA-Z0-9-]*$.`,
      );
    }
  }
  const hostname = body.hostname;
  if (
    hostname !== undefined &&
    (typeof hostname !== "string" || !/^[a-z0-9][0-9a-z-]{0,62}$/.test(hostname))
  ) {
    throw invalid(`hostname ${String(hostname)} must match ^[a-z0-9][0-9a-z-]{0,62}$.`);
  }
  const name = body.name;
  if (name !== undefined && (typeof name !== "string" || name.length > 64))
    throw invalid("name must be at most 64 characters.");
  const tags = (body.tags ?? []) as { key: string; value: string }[];
  for (const tag of tags) {
    if (typeof tag.key !== "string" || !/^[a-z][a-z0-9-:]+$/.test(tag.key) || tag.key.length > 55)
      throw invalid(`tag key ${String(tag.key)} must match ^[a-z][a-z0-9-:]+$ (at most 55 characters).`);
    if (typeof tag.value !== "string" || tag.value.length > 128)
      throw invalid(`tag value for ${tag.key} must be at most 128 characters.`);
  }
  const userData = body.user_data;
  if (userData !== undefined && (typeof userData !== "string" || Buffer.byteLength(userData) > 1024 * 1024))
    throw invalid("user_data must be text of at most 1 MB.");
  const rulesets = (body.firewall_rulesets ?? []) as { id: string }[];
  return {
    region,
    instanceType: body.instance_type_name,
    sshKeyNames: keys as string[],
    fileSystemNames: fsNames as string[],
    fileSystemMounts: mounts,
    hostname: hostname as string | undefined,
    name: name as string | undefined,
    tags,
    firewallRulesetIds: rulesets.map((entry) => entry.id),
  };
}
