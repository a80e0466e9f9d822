/**
 * Pure planning for GpuFleet: from validated fleet settings to plain specs (child names, the
 * firewall rules per region, launch settings per node). No Pulumi resources here.
 */
import { STACK_TAG } from "../infra/instanceTags";
import { mountedFilesystem, pinnedRegions } from "../infra/launchRules";

export interface FleetNodeSettings {
  /** Stable key chosen in config (`app`, `gpu-a`); child names derive from it, never from a list index. */
  readonly key: string;
  readonly role: "app" | "data" | "gpu";
  readonly instanceType: string;
  readonly regions: readonly string[];
  /** Mount the fleet filesystem (pins the node to the filesystem's region). */
  readonly mountFilesystem: boolean;
  /** Display name on Lambda. @default the node's resource name */
  readonly displayName?: string;
}

export interface FleetSettings {
  readonly nodes: readonly FleetNodeSettings[];
  /** CIDRs allowed to reach SSH and the public service ports. */
  readonly allowedCidrs: readonly string[];
  /** Public ports (API, frontend) opened to `allowedCidrs` besides SSH. */
  readonly publicPorts: readonly number[];
  readonly filesystem?: { readonly name: string; readonly region: string };
  readonly bootTimeoutMinutes: number;
  readonly pollIntervalSeconds: number;
  readonly imageFamily?: string;
}

export interface FirewallRuleSpec {
  protocol: "tcp" | "udp" | "icmp" | "all";
  port_range?: [number, number];
  source_network: string;
  description: string;
}

export interface NodePlan {
  readonly key: string;
  readonly resourceName: string;
  readonly displayName: string;
  readonly role: FleetNodeSettings["role"];
  readonly instanceType: string;
  readonly regions: string[];
  readonly fileSystemNames: string[];
  readonly isGpu: boolean;
}

export interface FleetPlan {
  readonly sshKeyName: string;
  readonly nodes: NodePlan[];
  /** One ruleset per region any node can land in (a ruleset applies only in its own region). */
  readonly rulesets: { region: string; resourceName: string; rules: FirewallRuleSpec[] }[];
}

/** SSH and the public ports, each to every allowed CIDR; ICMP for diagnosis. Nothing else. */
export function planFirewallRules(
  allowedCidrs: readonly string[],
  publicPorts: readonly number[],
  sshPort = 22,
): FirewallRuleSpec[] {
  const rules: FirewallRuleSpec[] = [];
  for (const cidr of allowedCidrs) {
    rules.push({
      protocol: "tcp",
      port_range: [sshPort, sshPort],
      source_network: cidr,
      description: `ssh from ${cidr}`,
    });
    for (const port of publicPorts) {
      rules.push({
        protocol: "tcp",
        port_range: [port, port],
        source_network: cidr,
        description: `port ${port} from ${cidr}`,
      });
    }
  }
  rules.push({ protocol: "icmp", source_network: "0.0.0.0/0", description: "ping" });
  return rules;
}

/** `sshPort`: the port sshd listens on; the firewall opens it (not 22) to `allowedCidrs`. */
export function planFleet(name: string, settings: FleetSettings, sshPort: number): FleetPlan {
  const nodes = settings.nodes.map((node): NodePlan => {
    const filesystem = mountedFilesystem(node.mountFilesystem, settings.filesystem);
    const regions = pinnedRegions(node.regions, filesystem?.region);
    return {
      key: node.key,
      resourceName: `${name}-${node.key}`,
      displayName: node.displayName ?? `${name}-${node.key}`,
      role: node.role,
      instanceType: node.instanceType,
      regions,
      fileSystemNames: filesystem !== undefined ? [filesystem.name] : [],
      isGpu: node.instanceType.startsWith("gpu_"),
    };
  });
  const regions = [...new Set(nodes.flatMap((node) => node.regions))].sort();
  const rules = planFirewallRules(settings.allowedCidrs, settings.publicPorts, sshPort);
  return {
    sshKeyName: `${name}-ssh`,
    nodes,
    rulesets: regions.map((region) => ({ region, resourceName: `${name}-fw-${region}`, rules })),
  };
}

/**
 * The tags one node's instance is launched with: the caller's, the stack tag (how `npm run reap`
 * finds a stack's instances), then the node's own key and role, which win. The expiry tag is not
 * here: the instance provider stamps it at launch from `ttlHours` (see instanceInputs.expiryFor).
 */
export function planNodeTags(
  node: Pick<NodePlan, "key" | "role">,
  tags: Readonly<Record<string, string>> = {},
  stackTag?: string,
): Record<string, string> {
  return {
    ...tags,
    ...(stackTag !== undefined ? { [STACK_TAG]: stackTag } : {}),
    "orchestra-node": node.key,
    "orchestra-role": node.role,
  };
}

/**
 * The fleet's hourly price in USD: each node's price taken as whole cents (Lambda prices in cents
 * per hour), summed as integers, then turned back into dollars, so many nodes add up exactly
 * (1.29 + 1.10 + 1.09 is 3.48, never 3.4800000000000004).
 */
export function totalHourlyUsd(pricesUsd: readonly number[]): number {
  const cents = pricesUsd.reduce((sum, price) => sum + Math.round(price * 100), 0);
  return cents / 100;
}
