/**
 * `LambdaFirewallRuleset`: inbound rules for instances in one region. Free. Name and rules change
 * in place; a new region replaces it. Lambda advises at most 20 rules.
 */
import * as pulumi from "@pulumi/pulumi";
import { isLambdaError } from "../lambda/errors";
import { PUBLIC_REGION_CODES, type FirewallRule, type FirewallRuleset } from "../lambda/schemas";
import {
  cachedInstanceList,
  configureFromStack,
  describeInstances,
  diffByKeys,
  isUnknown,
  lambdaClient,
  stableJson,
} from "./common";

export interface LambdaFirewallRulesetArgs {
  /** Ruleset name (at most 64). @default the resource name */
  readonly name?: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  /** Inbound rules: protocol, port_range [min,max] (none for icmp), source_network CIDR, description. */
  readonly rules: pulumi.Input<FirewallRule[]>;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/;

/** Every problem with a rule list, each naming the rule by index and description. */
export function validateFirewallRules(rules: FirewallRule[]): string[] {
  const problems: string[] = [];
  if (rules.length > 20)
    problems.push(
      `${rules.length} rules; Lambda warns that with more than 20, new instances might not launch`,
    );
  rules.forEach((rule, index) => {
    const label = `rules[${index}] (${rule.description ?? "no description"})`;
    if (!["tcp", "udp", "icmp", "all"].includes(rule.protocol))
      problems.push(`${label}: protocol "${rule.protocol}" is not one of tcp, udp, icmp, all`);
    const cidr = CIDR.exec(rule.source_network ?? "");
    if (
      cidr === null ||
      cidr.slice(1, 5).some((octet) => Number(octet) > 255) ||
      (cidr[6] !== undefined && Number(cidr[6]) > 32)
    ) {
      problems.push(
        `${label}: source_network "${rule.source_network}" is not an IPv4 CIDR such as 203.0.113.0/24`,
      );
    }
    if (typeof rule.description !== "string" || rule.description.length > 128)
      problems.push(`${label}: description is required, at most 128 characters`);
    if (rule.protocol === "icmp") {
      if (rule.port_range !== undefined) problems.push(`${label}: icmp rules take no port_range`);
    } else {
      const range = rule.port_range;
      if (
        !Array.isArray(range) ||
        range.length !== 2 ||
        range.some((port) => !Number.isInteger(port) || port < 1 || port > 65535) ||
        range[0] > range[1]
      ) {
        problems.push(
          `${label}: port_range ${JSON.stringify(range)} must be [min, max] within 1-65535 (a single port is [p, p])`,
        );
      }
    }
  });
  return problems;
}

function rulesetOutputs(ruleset: FirewallRuleset): Record<string, unknown> {
  return { name: ruleset.name, region: ruleset.region.name, rules: ruleset.rules, rulesetId: ruleset.id };
}

function isAmbiguousFailure(error: unknown): boolean {
  return (
    isLambdaError(error) && (error.kind === "server" || error.kind === "provider" || error.kind === "network")
  );
}

/**
 * The ruleset named `name` in `region`, if one exists. Should an earlier bug have left several,
 * the one already carrying the desired rules is preferred, then the first listed.
 */
async function findRuleset(
  client: ReturnType<typeof lambdaClient>,
  name: string,
  region: string,
  rules: FirewallRule[],
): Promise<FirewallRuleset | undefined> {
  const matching = (await client.listFirewallRulesets()).filter(
    (candidate) => candidate.name === name && candidate.region.name === region,
  );
  return matching.find((candidate) => stableJson(candidate.rules) === stableJson(rules)) ?? matching[0];
}

export const lambdaFirewallRulesetProvider: pulumi.dynamic.ResourceProvider = {
  configure: (req) => configureFromStack(req),
  check: async (_olds, news) => {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!isUnknown(news.region) && !(PUBLIC_REGION_CODES as readonly unknown[]).includes(news.region)) {
      failures.push({
        property: "region",
        reason: `region ${JSON.stringify(news.region)} is not a Lambda region; allowed: ${PUBLIC_REGION_CODES.join(", ")}`,
      });
    }
    if (
      !isUnknown(news.name) &&
      (typeof news.name !== "string" || news.name.length < 1 || news.name.length > 64)
    ) {
      failures.push({
        property: "name",
        reason: `ruleset name ${JSON.stringify(news.name)} must be 1 to 64 characters`,
      });
    }
    if (!isUnknown(news.rules)) {
      for (const reason of validateFirewallRules(news.rules as FirewallRule[]))
        failures.push({ property: "rules", reason });
    }
    return { inputs: news, failures };
  },
  diff: async (_id, olds, news) =>
    diffByKeys(olds, news, { replace: ["region"], update: ["name", "rules"] }, false),
  create: async (inputs) => {
    const client = lambdaClient();
    const name = inputs.name as string;
    const region = inputs.region as string;
    const rules = inputs.rules as FirewallRule[];
    // Transactional by name: a `pulumi up` killed after the create reached Lambda leaves a ruleset
    // of this name in this region; adopt it (with the desired rules) instead of adding a second.
    let ruleset = await findRuleset(client, name, region, rules);
    if (ruleset === undefined) {
      try {
        ruleset = await client.createFirewallRuleset({ name, region, rules });
      } catch (error) {
        // The create may have landed although the answer did not: look once more before failing.
        const landed = isAmbiguousFailure(error) ? await findRuleset(client, name, region, rules) : undefined;
        if (landed === undefined) throw error;
        ruleset = landed;
      }
    }
    if (stableJson(ruleset.rules) !== stableJson(rules))
      ruleset = await client.updateFirewallRuleset(ruleset.id, { rules });
    return { id: ruleset.id, outs: rulesetOutputs(ruleset) };
  },
  read: async (id, props) => {
    try {
      const ruleset = await lambdaClient().getFirewallRuleset(id);
      return {
        id,
        props: {
          ...props,
          name: ruleset.name,
          region: ruleset.region.name,
          rules: ruleset.rules,
          rulesetId: ruleset.id,
        },
      };
    } catch (error) {
      if (isLambdaError(error, "not-found")) return {};
      throw error;
    }
  },
  update: async (id, _olds, news) => {
    const updated = await lambdaClient().updateFirewallRuleset(id, {
      name: news.name as string,
      rules: news.rules as FirewallRule[],
    });
    return { outs: rulesetOutputs(updated) };
  },
  delete: async (id, props) => {
    const client = lambdaClient();
    try {
      await client.deleteFirewallRuleset(id);
    } catch (error) {
      if (isLambdaError(error, "not-found")) return;
      if (isLambdaError(error, "in-use")) {
        const holders = (await cachedInstanceList(client)).filter((instance) =>
          (instance.firewall_rulesets ?? []).some((entry) => entry.id === id),
        );
        throw new Error(
          `Firewall ruleset "${props.name}" is still used by ${describeInstances(holders)}; terminate those instances first`,
        );
      }
      throw error;
    }
  },
};

export class LambdaFirewallRuleset extends pulumi.dynamic.Resource {
  declare readonly rulesetId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly rules: pulumi.Output<FirewallRule[]>;

  constructor(name: string, args: LambdaFirewallRulesetArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      lambdaFirewallRulesetProvider,
      name,
      { name: args.name ?? name, region: args.region, rules: args.rules, rulesetId: undefined },
      opts,
      "lambda",
      "FirewallRuleset",
    );
  }
}
