/**
 * `LambdaInstance`: one Lambda Cloud GPU (or CPU) instance as a Pulumi resource.
 *
 * Cost: billed per minute from launch until terminate, at `hourlyPriceUsd`; Lambda cannot stop an
 * instance, so the only way to stop paying is to destroy it.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { stableJson } from "./common";
import { lambdaInstanceProvider } from "./instanceProvider";

/**
 * The Pulumi project and stack an instance belongs to. Part of its launch token, so two stacks
 * never adopt each other's instances. Passed down by the program (`loadStack`): nothing below
 * `stacks/` reads the engine's stack name itself.
 */
export interface LaunchScope {
  readonly project: string;
  readonly stack: string;
}

export interface LambdaInstanceArgs {
  /** Project and stack this instance belongs to (see LaunchScope). */
  readonly launchScope: LaunchScope;
  /** Lambda instance type, e.g. `gpu_1x_a10`. Cost: the type's hourly price, around the clock. Changing it replaces the instance. */
  readonly instanceType: pulumi.Input<string>;
  /** Regions to try in order when one has no capacity. Dropping the current region replaces the instance. */
  readonly regions: pulumi.Input<pulumi.Input<string>[]>;
  /** The one SSH key (by name) Lambda installs for `ubuntu`. Lambda takes exactly one. */
  readonly sshKeyNames: pulumi.Input<pulumi.Input<string>[]>;
  /** Display name. @default the resource name. Lambda sees it with a launch token appended. Renaming is in place. */
  readonly name?: pulumi.Input<string>;
  /** Lambda filesystems to mount at /lambda/nfs/<name>; they pin the region. @default none */
  readonly fileSystemNames?: pulumi.Input<pulumi.Input<string>[]>;
  /** Image family, e.g. `lambda-stack-24-04`. @default Lambda's latest Lambda Stack */
  readonly imageFamily?: pulumi.Input<string>;
  /** Image id (instead of a family). */
  readonly imageId?: pulumi.Input<string>;
  /** Hostname written to /etc/hostname. @default Lambda's IP-based name */
  readonly hostname?: pulumi.Input<string>;
  /** Tags set at launch (Lambda cannot change them later: a change replaces the instance). */
  readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Firewall ruleset id per region (rulesets apply only in their region). @default Lambda's global rules */
  readonly firewallRulesetsByRegion?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** cloud-init user data; kept secret, stored only as a hash in outputs. */
  readonly userData?: pulumi.Input<string>;
  /** Give up (and terminate) when the instance is not active after this long. @default 30 (8-GPU types take ~20) */
  readonly bootTimeoutMinutes?: pulumi.Input<number>;
  /** Status poll interval while booting and terminating. @default 10 */
  readonly pollIntervalSeconds?: pulumi.Input<number>;
  /**
   * Hours the instance may live: at launch the provider stamps `now + ttlHours` as the
   * `orchestra-expires-at` tag and the `expiresAt` output, and `npm run reap` terminates it after
   * that. Cost: bounds what a forgotten staging node bills. A change applies to the next launch
   * (Lambda cannot re-tag a running instance), not by replacing this one. @default none (never expires)
   */
  readonly ttlHours?: pulumi.Input<number>;
}

/**
 * A token unique to this stack, resource and launch settings. It makes the launched name unique
 * and deterministic: a `pulumi up` killed mid-launch and run again finds its instance by name
 * instead of paying for a second one, and a replacement gets a new name. Maps are hashed with
 * sorted keys (`stableJson`, the form `diff` compares), so the order tags were written in is no
 * change; for a map already in key order the token is what `JSON.stringify` gave.
 */
export function launchTokenFor(parts: readonly unknown[]): string {
  return createHash("sha256").update(stableJson(parts)).digest("hex").slice(0, 8);
}

/** The resolved launch settings a token is built from (other fields, e.g. `regions`, are ignored). */
export interface LaunchTokenSettings {
  readonly instanceType: string;
  readonly sshKeyNames: readonly string[];
  readonly fileSystemNames?: readonly string[];
  readonly imageFamily?: string;
  readonly imageId?: string;
  readonly hostname?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** Accepted so resolved args can be passed whole, and ignored: the token never follows regions. */
  readonly regions?: readonly string[];
}

/**
 * The launch token of resource `name` in `<project>/<stack>`: from the settings Lambda cannot
 * change after launch, which are exactly the ones whose change replaces the instance. Not from
 * `regions`: adding a fallback region must not rename (and so replace) a node that is running in a
 * region still listed.
 */
export function instanceLaunchToken(
  project: string,
  stack: string,
  name: string,
  settings: LaunchTokenSettings,
): string {
  return launchTokenFor([
    project,
    stack,
    name,
    settings.instanceType,
    settings.sshKeyNames,
    settings.fileSystemNames,
    settings.imageFamily,
    settings.imageId,
    settings.hostname,
    settings.tags,
  ]);
}

export class LambdaInstance extends pulumi.dynamic.Resource {
  declare readonly instanceId: pulumi.Output<string>;
  declare readonly launchedName: pulumi.Output<string>;
  declare readonly status: pulumi.Output<string>;
  declare readonly ip: pulumi.Output<string>;
  declare readonly privateIp: pulumi.Output<string>;
  declare readonly actualHostname: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly instanceType: pulumi.Output<string>;
  declare readonly priceCentsPerHour: pulumi.Output<number>;
  declare readonly hourlyPriceUsd: pulumi.Output<number>;
  /** ISO time the instance expires (its `orchestra-expires-at` tag); undefined without a TTL. */
  declare readonly expiresAt: pulumi.Output<string | undefined>;

  constructor(name: string, args: LambdaInstanceArgs, opts: pulumi.CustomResourceOptions = {}) {
    const launchToken = pulumi
      .all([
        args.instanceType,
        args.sshKeyNames,
        args.fileSystemNames,
        args.imageFamily,
        args.imageId,
        args.hostname,
        args.tags,
      ])
      .apply(([instanceType, sshKeyNames, fileSystemNames, imageFamily, imageId, hostname, tags]) =>
        instanceLaunchToken(args.launchScope.project, args.launchScope.stack, name, {
          instanceType,
          sshKeyNames,
          fileSystemNames,
          imageFamily,
          imageId,
          hostname,
          tags,
        }),
      );
    super(
      lambdaInstanceProvider,
      name,
      {
        name: args.name ?? name,
        launchToken,
        instanceType: args.instanceType,
        regions: args.regions,
        sshKeyNames: args.sshKeyNames,
        fileSystemNames: args.fileSystemNames ?? [],
        imageFamily: args.imageFamily,
        imageId: args.imageId,
        hostname: args.hostname,
        tags: args.tags ?? {},
        firewallRulesetsByRegion: args.firewallRulesetsByRegion ?? {},
        userData: args.userData === undefined ? undefined : pulumi.secret(args.userData),
        bootTimeoutMinutes: args.bootTimeoutMinutes ?? 30,
        pollIntervalSeconds: args.pollIntervalSeconds ?? 10,
        // Not part of the launch token: a TTL change must not rename (and so replace) the instance.
        ttlHours: args.ttlHours,
        instanceId: undefined,
        launchedName: undefined,
        status: undefined,
        ip: undefined,
        privateIp: undefined,
        actualHostname: undefined,
        region: undefined,
        priceCentsPerHour: undefined,
        hourlyPriceUsd: undefined,
        expiresAt: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "userData"] },
      "lambda",
      "Instance",
    );
  }
}
