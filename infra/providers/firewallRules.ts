/**
 * Firewall rules in one canonical form, and every problem with a rule list in the user's words.
 *
 * Lambda reads a bare IP as /32 and treats a ruleset as a set of allow rules (order carries no
 * meaning). If `check` passed rules on as written, `diff` would compare "203.0.113.7" with the
 * "203.0.113.7/32" Lambda reports, or one order with another, and show a change on every `up`. So
 * `check`, `read` and `diff` all use `canonicalFirewallRules`: lowercase protocol, source network
 * as `a.b.c.d/p` with the host bits cleared (10.0.0.5/8 is the network 10.0.0.0/8), only the four
 * fields Lambda keeps, exact duplicates dropped, sorted by protocol, ports, source, description.
 */
import type { FirewallRule } from "../lambda/schemas";

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;
const PROTOCOLS = ["tcp", "udp", "icmp", "all"];
const RULE_SHAPE =
  '{protocol, port_range, source_network, description}, e.g. {"protocol": "tcp", "port_range": [22, 22], "source_network": "203.0.113.0/24", "description": "ssh"}';

interface ParsedCidr {
  readonly address: number;
  readonly prefix: number;
}

/** `a.b.c.d[/p]` as a 32-bit address and prefix; undefined when it is no IPv4 CIDR. */
function parseCidr(text: unknown): ParsedCidr | undefined {
  const match = typeof text === "string" ? CIDR.exec(text.trim()) : null;
  if (match === null) return undefined;
  const octets = match.slice(1, 5);
  // "010" is octal to some parsers and decimal to others: refuse rather than guess.
  if (octets.some((octet) => Number(octet) > 255 || (octet.length > 1 && octet.startsWith("0"))))
    return undefined;
  const prefix = match[5] === undefined ? 32 : Number(match[5]);
  if (prefix > 32) return undefined;
  const address = octets.reduce((sum, octet) => sum * 256 + Number(octet), 0);
  return { address, prefix };
}

/** "10.0.0.5/8" -> "10.0.0.0/8", "203.0.113.7" -> "203.0.113.7/32"; anything else unchanged. */
export function canonicalCidr(text: string): string {
  const parsed = parseCidr(text);
  if (parsed === undefined) return text;
  const size = 2 ** (32 - parsed.prefix);
  const network = Math.floor(parsed.address / size) * size;
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256);
  return `${octets.join(".")}/${parsed.prefix}`;
}

function canonicalRule(rule: FirewallRule): FirewallRule {
  const protocol = String(rule.protocol).trim().toLowerCase() as FirewallRule["protocol"];
  const canonical: FirewallRule = {
    protocol,
    source_network: canonicalCidr(rule.source_network),
    description: rule.description,
  };
  // Lambda may answer `port_range: null` for icmp; a rule without ports has no key at all.
  if (Array.isArray(rule.port_range)) canonical.port_range = [rule.port_range[0], rule.port_range[1]];
  return canonical;
}

function compareRules(a: FirewallRule, b: FirewallRule): number {
  const key = (rule: FirewallRule): (string | number)[] => {
    const cidr = parseCidr(rule.source_network);
    return [
      rule.protocol,
      rule.port_range?.[0] ?? 0,
      rule.port_range?.[1] ?? 0,
      cidr?.address ?? -1,
      cidr?.prefix ?? -1,
      rule.source_network,
      rule.description,
    ];
  };
  const [left, right] = [key(a), key(b)];
  for (let i = 0; i < left.length; i++) {
    if (left[i] < right[i]) return -1;
    if (left[i] > right[i]) return 1;
  }
  return 0;
}

/** The canonical form of a rule list (see the file comment). Tolerant: it never throws. */
export function canonicalFirewallRules(rules: readonly FirewallRule[]): FirewallRule[] {
  const seen = new Set<string>();
  const unique: FirewallRule[] = [];
  for (const rule of rules.map(canonicalRule)) {
    const identity = JSON.stringify([rule.protocol, rule.port_range, rule.source_network, rule.description]);
    if (!seen.has(identity)) {
      seen.add(identity);
      unique.push(rule);
    }
  }
  return unique.sort(compareRules);
}

/**
 * Every problem with a rule list, each naming the rule by index and description, and the
 * canonical rules when there is none. `rules` is whatever the program passed, so anything that is
 * not a list of objects is reported, never thrown as a TypeError.
 */
export function checkFirewallRules(value: unknown): { problems: string[]; rules?: FirewallRule[] } {
  if (!Array.isArray(value))
    return {
      problems: [`rules must be a list of rules ${RULE_SHAPE}, got ${JSON.stringify(value) ?? "undefined"}`],
    };
  const problems: string[] = [];
  if (value.length > 20)
    problems.push(
      `${value.length} rules; Lambda warns that with more than 20, new instances might not launch`,
    );
  value.forEach((entry: unknown, index) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      problems.push(
        `rules[${index}] must be a rule ${RULE_SHAPE}, got ${JSON.stringify(entry) ?? "undefined"}`,
      );
      return;
    }
    const rule = entry as Record<string, unknown>;
    const label = `rules[${index}] (${typeof rule.description === "string" ? rule.description : "no description"})`;
    const protocol = typeof rule.protocol === "string" ? rule.protocol.trim().toLowerCase() : rule.protocol;
    if (!PROTOCOLS.includes(protocol as string))
      problems.push(`${label}: protocol ${JSON.stringify(rule.protocol)} is not one of tcp, udp, icmp, all`);
    if (parseCidr(rule.source_network) === undefined) {
      problems.push(
        `${label}: source_network ${JSON.stringify(rule.source_network)} is not an IPv4 CIDR such as 203.0.113.0/24 (a bare address means /32; no leading zeros)`,
      );
    }
    if (typeof rule.description !== "string" || rule.description.length > 128)
      problems.push(`${label}: description is required, at most 128 characters`);
    const range = rule.port_range;
    if (protocol === "icmp") {
      if (range !== undefined && range !== null) problems.push(`${label}: icmp rules take no port_range`);
    } else if (
      !Array.isArray(range) ||
      range.length !== 2 ||
      range.some((port) => !Number.isInteger(port) || port < 1 || port > 65535) ||
      range[0] > range[1]
    ) {
      problems.push(
        `${label}: port_range ${JSON.stringify(range)} must be [min, max] within 1-65535 (a single port is [p, p])`,
      );
    }
  });
  if (problems.length > 0) return { problems };
  return { problems, rules: canonicalFirewallRules(value as FirewallRule[]) };
}
