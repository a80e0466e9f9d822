/**
 * How an emulated instance is rendered in `GET /api/v1/instances[/{id}]` and the restart and
 * terminate answers: addresses only while it runs (and `private_ip` late, if so configured), the
 * actions its status allows, and any field overrides a test set through the control API.
 */
import type { EmulatedInstanceType } from "./catalog";
import type { EmulatorOptions } from "./options";
import { randomHex, regionObject } from "./wireFormat";

export type EmulatedStatus = "booting" | "active" | "unhealthy" | "terminating" | "terminated";

/** `POST /_emulator/instances/<id>/fields` body: `{ set: { hostname: null }, omit: ["private_ip"] }`. */
export interface FieldOverrides {
  set: Record<string, unknown>;
  omit: string[];
}

/** What a launch decides an instance is made of (launch.ts checks each part against the account). */
export interface InstanceSpec {
  name: string;
  type: EmulatedInstanceType;
  region: string;
  sshKeyNames: string[];
  fileSystemNames: string[];
  fileSystemMounts: { mount_point: string; file_system_id: string }[];
  tags: { key: string; value: string }[];
  firewallRulesetIds: string[];
}

export interface StoredInstance extends InstanceSpec {
  id: string;
  hostname: string;
  ip: string;
  privateIp: string;
  /** Epoch ms of the launch, or of the last restart. */
  launchedAt: number;
  bootOutcome: "active" | "unhealthy";
  /** Set when the instance turned unhealthy or was terminated out of band or on request. */
  forcedStatus?: "unhealthy";
  terminateRequestedAt?: number;
  /** Emulator control: top-level fields rendered as given (null included) or left out. */
  fieldOverrides?: FieldOverrides;
}

/** The instance as the API answers it, given its current status and the time now (epoch ms). */
export function renderInstance(
  instance: StoredInstance,
  status: EmulatedStatus,
  now: number,
  options: EmulatorOptions,
): Record<string, unknown> {
  const running = status === "active" || status === "unhealthy";
  const available = (ok: boolean, reason: string) =>
    ok
      ? { available: true }
      : { available: false, reason_code: reason, reason_description: `Not available: ${reason}` };
  const launched = status !== "booting";
  const terminating = status === "terminating" || status === "terminated";
  const activeForMs = now - instance.launchedAt - options.bootDelayMs;
  const privateIpLate = status === "active" && activeForMs < options.privateIpDelayMs;
  const rendered: Record<string, unknown> = {
    id: instance.id,
    name: instance.name,
    ...(running || status === "terminating" ? { ip: instance.ip, private_ip: instance.privateIp } : {}),
    ...(privateIpLate ? { private_ip: undefined } : {}),
    status,
    ssh_key_names: instance.sshKeyNames,
    file_system_names: instance.fileSystemNames,
    ...(instance.fileSystemMounts.length > 0 ? { file_system_mounts: instance.fileSystemMounts } : {}),
    region: regionObject(instance.region),
    instance_type: instance.type,
    hostname: instance.hostname,
    jupyter_token: randomHex(16),
    jupyter_url: `https://jupyter-${instance.id}.lambdaspaces.com/?token=redacted`,
    actions: {
      migrate: available(false, launched ? "vm-is-too-old" : "vm-has-not-launched"),
      rebuild: available(running, terminating ? "vm-is-terminating" : "vm-has-not-launched"),
      restart: available(running, terminating ? "vm-is-terminating" : "vm-has-not-launched"),
      cold_reboot: available(running, terminating ? "vm-is-terminating" : "vm-has-not-launched"),
      terminate: available(!terminating, "vm-is-terminating"),
    },
    tags: instance.tags,
    firewall_rulesets: instance.firewallRulesetIds.map((id) => ({ id })),
  };
  const overrides = instance.fieldOverrides;
  for (const field of overrides?.omit ?? []) delete rendered[field];
  return { ...rendered, ...overrides?.set };
}
