/**
 * `LambdaFirewallRuleset`: inbound rules for instances in one region. Free. Name and rules change
 * in place; a new region replaces it. Lambda advises at most 20 rules. Rules are kept in canonical
 * form (see firewallRules.ts): order and a bare IP's missing /32 are no change.
 */
import * as pulumi from "@pulumi/pulumi";
import { isLambdaError } from "../lambda/errors";
import { PUBLIC_REGION_CODES, type FirewallRule, type FirewallRuleset } from "../lambda/schemas";
import { canonicalFirewallRules, checkFirewallRules } from "./firewallRules";
import {
  configureFromStack,
  describeInstances,
  diffByKeys,
  isUnknown,
  lambdaClient,
  stableJson,
} from "./common";
import { invalidateListing, memoFirewallRulesets, memoInstances } from "./listingMemo";

export interface LambdaFirewallRulesetArgs {
  /** Ruleset name (at most 64). @default the resource name */
  readonly name?: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  /** Inbound rules: protocol, port_range [min,max] (none for icmp), source_network CIDR, description. */
  readonly rules: pulumi.Input<FirewallRule[]>;
}

/** Outputs as Lambda reports the ruleset, rules in canonical form (so `diff` compares like with like). */
function rulesetOutputs(ruleset: FirewallRuleset): Record<string, unknown> {
  return {
    name: ruleset.name,
    region: ruleset.region.name,
    rules: canonicalFirewallRules(ruleset.rules),
    rulesetId: ruleset.id,
  };
}

/** Rules in canonical form when they are a known list (state from older code, or raw inputs), else as they are. */
function canonicalIfList(rules: unknown): unknown {
  return Array.isArray(rules) && !isUnknown(rules) ? canonicalFirewallRules(rules as FirewallRule[]) : rules;
}

function sameRules(a: readonly FirewallRule[], b: readonly FirewallRule[]): boolean {
  return stableJson(canonicalFirewallRules(a)) === stableJson(canonicalFirewallRules(b));
}

function isAmbiguousFailure(error: unknown): boolean {
  return (
    isLambdaError(error) && (error.kind === "server" || error.kind === "provider" || error.kind === "network")
  );
}

/**
 * The ruleset named `name` in `region`, if one exists. Should an earlier bug have left several,
 * the one already carrying the desired rules is preferred, then the first listed. `fresh` skips the
 * shared listing (after an ambiguous create only a new listing can say whether it landed).
 */
async function findRuleset(
  client: ReturnType<typeof lambdaClient>,
  name: string,
  region: string,
  rules: FirewallRule[],
  fresh = false,
): Promise<FirewallRuleset | undefined> {
  if (fresh) invalidateListing("firewallRulesets");
  const matching = (await memoFirewallRulesets(client)).filter(
    (candidate) => candidate.name === name && candidate.region.name === region,
  );
  return matching.find((candidate) => sameRules(candidate.rules, rules)) ?? matching[0];
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
    let inputs = news;
    if (!isUnknown(news.rules)) {
      const checked = checkFirewallRules(news.rules);
      for (const reason of checked.problems) failures.push({ property: "rules", reason });
      if (checked.rules !== undefined) inputs = { ...news, rules: checked.rules };
    }
    return { inputs, failures };
  },
  // Both sides canonical: state written by older code may hold rules as written or as Lambda listed them.
  diff: async (_id, olds, news) =>
    diffByKeys(
      { ...olds, rules: canonicalIfList(olds.rules) },
      { ...news, rules: canonicalIfList(news.rules) },
      { replace: ["region"], update: ["name", "rules"] },
      false,
    ),
  create: async (inputs) => {
    const client = lambdaClient();
    const name = inputs.name as string;
    const region = inputs.region as string;
    const rules = canonicalFirewallRules(inputs.rules as FirewallRule[]);
    // Transactional by name: a `pulumi up` killed after the create reached Lambda leaves a ruleset
    // of this name in this region; adopt it (with the desired rules) instead of adding a second.
    let ruleset = await findRuleset(client, name, region, rules);
    if (ruleset === undefined) {
      try {
        ruleset = await client.createFirewallRuleset({ name, region, rules });
        invalidateListing("firewallRulesets");
      } catch (error) {
        // The create may have landed although the answer did not: look once more before failing.
        const landed = isAmbiguousFailure(error)
          ? await findRuleset(client, name, region, rules, true)
          : undefined;
        if (landed === undefined) throw error;
        ruleset = landed;
      }
    }
    if (!sameRules(ruleset.rules, rules)) {
      ruleset = await client.updateFirewallRuleset(ruleset.id, { rules });
      invalidateListing("firewallRulesets");
    }
    return { id: ruleset.id, outs: rulesetOutputs(ruleset) };
  },
  // One listing serves every ruleset's read in a refresh (listingMemo.ts), not one get per region.
  read: async (id, props) => {
    const ruleset = (await memoFirewallRulesets(lambdaClient())).find((candidate) => candidate.id === id);
    if (ruleset === undefined) return {};
    return { id, props: { ...props, ...rulesetOutputs(ruleset) } };
  },
  update: async (id, _olds, news) => {
    const updated = await lambdaClient().updateFirewallRuleset(id, {
      name: news.name as string,
      rules: canonicalFirewallRules(news.rules as FirewallRule[]),
    });
    invalidateListing("firewallRulesets");
    return { outs: rulesetOutputs(updated) };
  },
  delete: async (id, props) => {
    const client = lambdaClient();
    try {
      await client.deleteFirewallRuleset(id);
      invalidateListing("firewallRulesets");
    } catch (error) {
      if (isLambdaError(error, "not-found")) return;
      if (isLambdaError(error, "in-use")) {
        const holders = (await memoInstances(client)).instances.filter((instance) =>
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
