/**
 * The emulated Lambda account, in memory: one object per resource family, wired together where
 * one family reads another (a filesystem or ruleset is in use while a live instance holds it;
 * capacity is what live instances leave; a launch checks every family it names).
 *
 * Every refusal is an `ApiFailure` (apiFailure.ts) shaped like the OpenAPI document's `ApiError*`.
 */
import { AuditLog } from "./auditLog";
import { Capacity } from "./capacity";
import { Filesystems } from "./filesystems";
import { Firewall } from "./firewall";
import { Images } from "./images";
import { Instances } from "./instances";
import { launchInstance } from "./launch";
import type { EmulatorOptions } from "./options";
import { SshKeys } from "./sshKeys";

export class EmulatedAccount {
  readonly auditLog: AuditLog;
  readonly instances: Instances;
  readonly sshKeys: SshKeys;
  readonly filesystems: Filesystems;
  readonly firewall: Firewall;
  readonly images: Images;
  readonly capacity: Capacity;

  /** `now`: the account's clock in epoch ms. @default Date.now */
  constructor(
    readonly options: EmulatorOptions,
    now: () => number = Date.now,
  ) {
    this.auditLog = new AuditLog(options, now);
    this.instances = new Instances(options, now, this.auditLog);
    this.sshKeys = new SshKeys(this.auditLog);
    this.filesystems = new Filesystems(now, this.auditLog, (name) =>
      this.instances.liveIdsWhere((instance) => instance.fileSystemNames.includes(name)),
    );
    this.firewall = new Firewall(now, this.auditLog, (rulesetId) =>
      this.instances.liveIdsWhere((instance) => instance.firewallRulesetIds.includes(rulesetId)),
    );
    this.images = new Images(options);
    this.capacity = new Capacity(options, (typeName, region) => this.instances.unitsInUse(typeName, region));
  }

  /** `POST /api/v1/instance-operations/launch`: launches one instance, returns `[id]`. */
  launch(body: Record<string, unknown>): string[] {
    return [launchInstance(this, body)];
  }
}
