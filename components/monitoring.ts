/**
 * Monitoring (`orchestra:services:Monitoring`): the MonitoringPlan's containers on each node's
 * Docker engine. Prometheus, Alertmanager and the blackbox exporter join the app's network on the
 * app node (they reach its services by name); each other node's exporters get a network of their
 * own. Every port is published on the node's private address. The generated configuration files
 * reach the containers as Docker uploads; Alertmanager's holds the webhook URL and stays a Pulumi
 * secret end to end.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  declareContainer,
  declareVolume,
  type ContainerSecrets,
  type DeclaredContainer,
  type Placeholders,
} from "./containerResources";
import { PRIVATE_IP_PLACEHOLDER, substituteAddresses } from "./containerSpec";
import type { MonitoringPlan } from "./monitoringPlan";
import { nodeExpiryPlaceholder, nodePrivateIpPlaceholder } from "./monitoringTargets";

export const MONITORING_TYPE = "orchestra:services:Monitoring";

/** What a node reports, for the placeholders in the monitoring files and URLs. */
export interface MonitoredNodeAddresses {
  readonly privateIp: pulumi.Input<string>;
  /** ISO time the instance expires (its TTL); undefined when it has none. */
  readonly expiresAt: pulumi.Input<string | undefined>;
}

export interface MonitoringArgs {
  readonly plan: MonitoringPlan;
  /** Node key -> its Docker engine. */
  readonly providers: Readonly<Record<string, docker.Provider>>;
  /** Node key -> what the fleet reports for it. */
  readonly nodes: Readonly<Record<string, MonitoredNodeAddresses>>;
  /**
   * The app node's `{publicIp}` and `{privateIp}`, as the layer fills its own URLs with them: the
   * endpoints and the tunnel command take the same values.
   */
  readonly appAddresses: pulumi.Output<Record<string, string>>;
  /** The app's Docker network on the app node (Prometheus probes the services by name there). */
  readonly appNetworkName: pulumi.Input<string>;
  /** Needs `alertWebhookUrl` (a Pulumi secret). */
  readonly secrets: ContainerSecrets;
  readonly protect?: boolean;
  readonly retainOnDelete?: boolean;
}

/** An alert rule as the stack output lists it. */
export interface AlertRuleSummary {
  readonly alert: string;
  readonly severity: string;
  readonly summary: string;
}

export class Monitoring extends pulumi.ComponentResource {
  public readonly plan: MonitoringPlan;
  /** Node key -> service -> its declared image and container. */
  public readonly containers: Readonly<Record<string, Readonly<Record<string, DeclaredContainer>>>>;
  /** Private URLs on the app node (reach them through `tunnelCommand`). */
  public readonly prometheusUrl: pulumi.Output<string>;
  public readonly alertmanagerUrl: pulumi.Output<string>;
  /** `ssh -N -L ...` to the app node: then Prometheus and Alertmanager are on 127.0.0.1. */
  public readonly tunnelCommand: pulumi.Output<string>;
  public readonly alertRules: AlertRuleSummary[];

  constructor(name: string, args: MonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(MONITORING_TYPE, name, {}, opts);
    const plan = args.plan;
    this.plan = plan;
    const app = plan.settings.appNode;
    const nodeOf = (key: string): MonitoredNodeAddresses => {
      const node = args.nodes[key];
      if (node === undefined) throw new Error(`Monitoring ${name}: no addresses for node ${key}`);
      return node;
    };
    // Every node's private address and expiry, for the Prometheus files on the app node.
    const fleetPlaceholders: Record<string, pulumi.Input<string>> = {};
    for (const node of plan.settings.nodes) {
      fleetPlaceholders[nodePrivateIpPlaceholder(node.key)] = nodeOf(node.key).privateIp;
      if (node.expires)
        fleetPlaceholders[nodeExpiryPlaceholder(node.key)] = pulumi
          .output(nodeOf(node.key).expiresAt)
          .apply((iso) => expiryEpoch(node.key, iso));
    }

    const containers: Record<string, Record<string, DeclaredContainer>> = {};
    for (const [key, specs] of Object.entries(plan.containers)) {
      const provider = args.providers[key];
      if (provider === undefined) throw new Error(`Monitoring ${name}: no Docker provider for node ${key}`);
      const child = { parent: this, provider };
      const networkName =
        key === app
          ? args.appNetworkName
          : new docker.Network(
              plan.networks[key],
              { name: plan.networks[key], driver: "bridge", attachable: true },
              child,
            ).name;
      const volumes =
        key === app
          ? plan.volumes.map((volume) =>
              declareVolume(volume, {
                ...child,
                protect: args.protect ?? false,
                retainOnDelete: args.retainOnDelete ?? false,
              }),
            )
          : [];
      const placeholders: Placeholders = {
        [PRIVATE_IP_PLACEHOLDER]: nodeOf(key).privateIp,
        ...(key === app ? fleetPlaceholders : {}),
      };
      containers[key] = Object.fromEntries(
        specs.map((spec) => [
          spec.service,
          declareContainer(
            spec,
            { secrets: args.secrets, placeholders, networkName },
            { ...child, dependsOn: volumes },
          ),
        ]),
      );
    }
    this.containers = containers;

    const addresses = args.appAddresses;
    this.prometheusUrl = addresses.apply((values) => substituteAddresses(plan.endpoints.prometheus, values));
    this.alertmanagerUrl = addresses.apply((values) =>
      substituteAddresses(plan.endpoints.alertmanager, values),
    );
    this.tunnelCommand = addresses.apply((values) => substituteAddresses(plan.tunnelCommand, values));
    this.alertRules = plan.rules.map((rule) => ({
      alert: rule.alert,
      severity: rule.severity,
      summary: rule.summary,
    }));
    this.registerOutputs({
      prometheusUrl: this.prometheusUrl,
      alertmanagerUrl: this.alertmanagerUrl,
      tunnelCommand: this.tunnelCommand,
    });
  }
}

/** Unix seconds of an instance's expiry, for the past-its-TTL rule. */
export function expiryEpoch(node: string, iso: string | undefined): string {
  const millis = iso === undefined ? Number.NaN : Date.parse(iso);
  if (!Number.isFinite(millis))
    throw new Error(
      `node ${node} carries a TTL but reported no valid expiresAt (${JSON.stringify(iso)}); run \`pulumi refresh\` and check its expiresAt output`,
    );
  return String(Math.floor(millis / 1000));
}
