/**
 * The emulated account's firewall: rulesets (`/api/v1/firewall-rulesets[/{id}]`, one in use by a
 * live instance cannot be deleted), the global ruleset (`/api/v1/firewall-rulesets/global`) and the
 * legacy account-wide rules (`/api/v1/firewall-rules`).
 */
import { PUBLIC_REGION_CODES } from "../lambda/schemas";
import { ApiFailure, invalid, notFound } from "./apiFailure";
import type { AuditLog } from "./auditLog";
import { isoTime, randomHex, regionObject } from "./wireFormat";

interface StoredRuleset {
  id: string;
  name: string;
  region: string;
  rules: unknown[];
  created: string;
}

export class Firewall {
  private readonly rulesets = new Map<string, StoredRuleset>();
  private globalRules: unknown[] = [];
  private legacy: unknown[] = [];

  /** `usersOf(id)`: ids of the live instances the ruleset with that id is attached to. */
  constructor(
    private readonly now: () => number,
    private readonly audit: AuditLog,
    private readonly usersOf: (rulesetId: string) => string[],
  ) {}

  private render(ruleset: StoredRuleset): Record<string, unknown> {
    return { ...ruleset, region: regionObject(ruleset.region), instance_ids: this.usersOf(ruleset.id) };
  }

  /** The region of the ruleset with this id, or undefined when there is none. */
  regionOf(id: string): string | undefined {
    return this.rulesets.get(id)?.region;
  }

  listRulesets(): unknown[] {
    return [...this.rulesets.values()].map((ruleset) => this.render(ruleset));
  }

  getRuleset(id: string): Record<string, unknown> {
    return this.render(this.requireRuleset(id));
  }

  private requireRuleset(id: string): StoredRuleset {
    const ruleset = this.rulesets.get(id);
    if (ruleset === undefined) {
      throw notFound(
        "Firewall ruleset does not exist or you do not have permission to access it.",
        "Check your firewall ruleset ID and try again.",
      );
    }
    return ruleset;
  }

  /** `{ name, region, rules }`; throws invalid-parameters naming the bad field. */
  createRuleset(body: Record<string, unknown>): Record<string, unknown> {
    const { name, region, rules } = body;
    if (typeof name !== "string" || name.length < 1 || name.length > 64)
      throw invalid("name must be 1 to 64 characters.");
    if (typeof region !== "string" || !(PUBLIC_REGION_CODES as readonly string[]).includes(region))
      throw invalid(`Region ${String(region)} does not exist.`);
    const ruleset = {
      id: randomHex(16),
      name,
      region,
      rules: validateRules(rules),
      created: isoTime(this.now()),
    };
    this.rulesets.set(ruleset.id, ruleset);
    this.audit.record("firewall_ruleset.create", ruleset.id);
    return this.render(ruleset);
  }

  /** `{ name?, rules? }`: what is given replaces what was. */
  updateRuleset(id: string, body: Record<string, unknown>): Record<string, unknown> {
    const ruleset = this.requireRuleset(id);
    if (body.name !== undefined) {
      if (typeof body.name !== "string" || body.name.length > 64)
        throw invalid("name must be at most 64 characters.");
      ruleset.name = body.name;
    }
    if (body.rules !== undefined) ruleset.rules = validateRules(body.rules);
    this.audit.record("firewall_ruleset.update", id);
    return this.render(ruleset);
  }

  deleteRuleset(id: string): Record<string, never> {
    const ruleset = this.requireRuleset(id);
    if (this.usersOf(ruleset.id).length > 0) {
      throw new ApiFailure(
        400,
        "firewall-rulesets/firewall-ruleset-in-use",
        "Firewall ruleset is in use by one or more instances.",
        "Terminate all instances that are using the ruleset before deleting it.",
      );
    }
    this.rulesets.delete(id);
    this.audit.record("firewall_ruleset.delete", id);
    return {};
  }

  globalRuleset(): Record<string, unknown> {
    return { id: "global", name: "Global Firewall Rules", rules: this.globalRules };
  }

  /** `{ rules? }`: replaces the global rules. */
  updateGlobalRuleset(body: Record<string, unknown>): Record<string, unknown> {
    if (body.rules !== undefined) this.globalRules = validateRules(body.rules);
    return this.globalRuleset();
  }

  legacyRules(): unknown[] {
    return this.legacy;
  }

  /** `{ data: rules }`: replaces every legacy rule. */
  setLegacyRules(body: Record<string, unknown>): unknown[] {
    this.legacy = validateRules(body.data);
    return this.legacy;
  }
}

/**
 * Checks rules as 1.8.3 documents them (protocol, IPv4 CIDR source, description, port range except
 * for icmp) and returns them with `/32` added to a bare address. Throws invalid-parameters.
 */
function validateRules(rules: unknown): unknown[] {
  if (!Array.isArray(rules)) throw invalid("rules must be a list.");
  for (const rule of rules as Record<string, unknown>[]) {
    if (!["tcp", "udp", "icmp", "all"].includes(String(rule.protocol)))
      throw invalid(`protocol ${String(rule.protocol)} is not one of tcp, udp, icmp, all.`);
    if (
      typeof rule.source_network !== "string" ||
      !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(rule.source_network)
    ) {
      throw invalid(`source_network ${String(rule.source_network)} is not an IPv4 CIDR.`);
    }
    if (typeof rule.description !== "string" || rule.description.length > 128)
      throw invalid("description is required (at most 128 characters).");
    const range = rule.port_range;
    if (rule.protocol === "icmp") {
      if (range !== undefined) throw invalid("icmp rules must not have a port_range.");
    } else if (
      !Array.isArray(range) ||
      range.length !== 2 ||
      !range.every((port) => Number.isInteger(port) && port >= 1 && port <= 65535) ||
      range[0] > range[1]
    ) {
      throw invalid(`port_range ${JSON.stringify(range)} must be [min, max] within 1-65535.`);
    }
  }
  // 1.8.3: "If no mask is provided, the API assumes /32"; the emulator reports the rule that way,
  // so a client that compares its input with the stored rule has to normalise too.
  return (rules as Record<string, unknown>[]).map((rule) =>
    (rule.source_network as string).includes("/")
      ? rule
      : { ...rule, source_network: `${rule.source_network}/32` },
  );
}
