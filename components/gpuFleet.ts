/**
 * GpuFleet: the Lambda side of a layer. One SSH key, an optional filesystem, one firewall ruleset
 * per region, one instance per configured node (named from the node's key), and per node a
 * readiness step over SSH that waits for sshd and the Docker daemon and, on GPU nodes,
 * `nvidia-smi`.
 *
 * Cost: every node bills its instance type's hourly price from launch until destroy; the
 * filesystem bills per GiB-month stored.
 */
import * as pulumi from "@pulumi/pulumi";
import { ttlOrNone } from "../infra/launchRules";
import { LambdaFilesystem } from "../infra/providers/lambdaFilesystem";
import { LambdaFirewallRuleset } from "../infra/providers/lambdaFirewallRuleset";
import { LambdaInstance, type LaunchScope } from "../infra/providers/lambdaInstance";
import { LambdaSshKey } from "../infra/providers/lambdaSshKey";
import { FleetSettings, planFleet, planNodeTags } from "./gpuFleetPlan";
import { runOnHost } from "./hostCommand";
import type { SshConnection } from "./hostTarget";
import { readinessScript } from "./nodeReadiness";

export const GPU_FLEET_TYPE = "orchestra:fleet:GpuFleet";

export interface GpuFleetArgs {
  readonly settings: FleetSettings;
  readonly sshPublicKey: pulumi.Input<string>;
  /**
   * How the readiness steps reach each node, and the one SSH port: the firewall opens `ssh.port`
   * to the allowed CIDRs and the readiness step dials it.
   */
  readonly ssh: SshConnection;
  /** Run the readiness step on each node. @default true */
  readonly readinessChecks?: boolean;
  /**
   * The stack the instances belong to: part of each instance's launch token (so two stacks never
   * adopt each other's instances). From the program's stack identity, never read down here.
   */
  readonly launchScope: LaunchScope;
  /** Tags stamped on every instance at launch. */
  readonly tags?: Record<string, string>;
  /**
   * `<project>/<stack>`, stamped on every instance as the `orchestra-stack` tag so `npm run reap`
   * finds this stack's instances and nothing else. @default no stack tag
   */
  readonly stackTag?: string;
  /**
   * Hours each node may live; the provider stamps the expiry at launch and `npm run reap`
   * terminates expired nodes. Cost: bounds a forgotten integration or staging fleet. A change
   * applies to nodes launched after it. @default none (nodes never expire)
   */
  readonly ttlHours?: number;
  /**
   * `protect` on the instances and the filesystem: `pulumi destroy` (or a replacing change)
   * refuses until it is lifted. Pass the environment policy's value. @default false
   */
  readonly protect?: boolean;
  /**
   * Keep the filesystem (and its data) when the stack is destroyed or the resource replaced.
   * Instances are never retained: a retained instance keeps billing its hourly price with nothing
   * managing it. Pass the environment policy's value. @default false
   */
  readonly retainOnDelete?: boolean;
}

export interface FleetNodeOutputs {
  readonly instanceId: pulumi.Output<string>;
  readonly ip: pulumi.Output<string>;
  readonly privateIp: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  readonly instanceType: pulumi.Output<string>;
  readonly hourlyPriceUsd: pulumi.Output<number>;
  readonly sshCommand: pulumi.Output<string>;
  /** ISO time the node expires and may be reaped; undefined without a TTL. */
  readonly expiresAt: pulumi.Output<string | undefined>;
}

export class GpuFleet extends pulumi.ComponentResource {
  public readonly nodes: Record<string, FleetNodeOutputs>;
  public readonly instances: Record<string, LambdaInstance>;
  /** Per node, the readiness step's stdout ("node <name> ready: ssh, docker, nvidia-smi"). */
  public readonly readiness: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: GpuFleetArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(GPU_FLEET_TYPE, name, {}, opts);
    const plan = planFleet(name, args.settings, args.ssh.port);
    const protect = args.protect ?? false;

    const sshKey = new LambdaSshKey(
      plan.sshKeyName,
      { name: plan.sshKeyName, publicKey: args.sshPublicKey },
      { parent: this },
    );
    const filesystem =
      args.settings.filesystem === undefined
        ? undefined
        : new LambdaFilesystem(
            `${name}-fs`,
            { name: args.settings.filesystem.name, region: args.settings.filesystem.region },
            // Stateful: the environment policy decides protection and retention.
            { parent: this, protect, retainOnDelete: args.retainOnDelete ?? false },
          );
    const rulesets: Record<string, pulumi.Output<string>> = {};
    for (const ruleset of plan.rulesets) {
      rulesets[ruleset.region] = new LambdaFirewallRuleset(
        ruleset.resourceName,
        { name: ruleset.resourceName, region: ruleset.region, rules: ruleset.rules },
        { parent: this },
      ).rulesetId;
    }

    // The filesystem's name as the instances see it: known only once the filesystem exists (its id
    // is), so an instance's `check`, which refuses a filesystem Lambda does not have, skips the
    // lookup at a preview that will create the filesystem instead of refusing it.
    const existingFilesystemName =
      filesystem === undefined
        ? undefined
        : pulumi.all([filesystem.filesystemId, filesystem.name]).apply(([, fsName]) => fsName);
    this.instances = {};
    this.readiness = {};
    this.nodes = {};
    for (const node of plan.nodes) {
      const instance = new LambdaInstance(
        node.resourceName,
        {
          name: node.displayName,
          instanceType: node.instanceType,
          regions: node.regions,
          sshKeyNames: [sshKey.name],
          fileSystemNames:
            existingFilesystemName === undefined
              ? []
              : node.fileSystemNames.map(() => existingFilesystemName),
          imageFamily: args.settings.imageFamily,
          hostname: node.resourceName,
          tags: planNodeTags(node, args.tags, args.stackTag),
          firewallRulesetsByRegion: pulumi
            .output(rulesets)
            .apply((byRegion) =>
              Object.fromEntries(
                node.regions
                  .filter((region) => byRegion[region] !== undefined)
                  .map((region) => [region, byRegion[region]]),
              ),
            ),
          bootTimeoutMinutes: args.settings.bootTimeoutMinutes,
          pollIntervalSeconds: args.settings.pollIntervalSeconds,
          launchScope: args.launchScope,
          ...(ttlOrNone(args.ttlHours) !== undefined ? { ttlHours: args.ttlHours } : {}),
        },
        { parent: this, protect },
      );
      this.instances[node.key] = instance;
      if (args.readinessChecks ?? true) {
        this.readiness[node.key] = runOnHost(
          `${node.resourceName}-ready`,
          readinessScript(node.resourceName, node.isGpu),
          { kind: "ssh", host: instance.ip, ...args.ssh },
          // The resource id, not the instanceId output: known at preview when the node only changes in
          // place, unknown when it is replaced (see remoteCommand.ts diffRemoteCommand).
          [instance.id],
          { parent: this },
        ).stdout;
      }
      this.nodes[node.key] = {
        instanceId: instance.instanceId,
        ip: instance.ip,
        privateIp: instance.privateIp,
        region: instance.region,
        instanceType: instance.instanceType,
        hourlyPriceUsd: instance.hourlyPriceUsd,
        sshCommand: pulumi.interpolate`ssh ${args.ssh.user}@${instance.ip}${args.ssh.port === 22 ? "" : ` -p ${args.ssh.port}`}`,
        expiresAt: instance.expiresAt,
      };
    }
    this.registerOutputs({ nodes: this.nodes });
  }
}
