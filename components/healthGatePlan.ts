/**
 * Pure planning for the post-deploy health gate: the POSIX shell script that polls every health
 * endpoint (the API's `/api/health`, each MCP server's `/health`) until all answer, printing one
 * line per service, and exits non-zero naming every service that never did. It runs on the app
 * host, so it reaches servers published on the private side; it holds no secret.
 */

export interface GateEndpoint {
  /** Service key (`api`, `mcp-memory`): what the failure names. */
  readonly service: string;
  readonly url: string;
}

export interface GateTiming {
  /** Rounds over the endpoints not yet healthy. */
  readonly attempts: number;
  readonly intervalSeconds: number;
  /** Per-request timeout. */
  readonly requestTimeoutSeconds: number;
}

/**
 * 30 rounds 10 s apart: a server gets 5 minutes to come up, the operators' recovery target; the
 * containers' own start periods are shorter.
 */
export const DEFAULT_GATE_TIMING: GateTiming = {
  attempts: 30,
  intervalSeconds: 10,
  requestTimeoutSeconds: 5,
};

/** Single-quotes a word for POSIX sh (URLs are plain, but a `$` or space must never expand). */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const SERVICE_KEY = /^[a-z][a-z0-9-]*$/;

export function healthGateScript(
  endpoints: readonly GateEndpoint[],
  timing: GateTiming = DEFAULT_GATE_TIMING,
): string {
  if (endpoints.length === 0) throw new Error("the health gate needs at least one endpoint");
  for (const endpoint of endpoints) {
    if (!SERVICE_KEY.test(endpoint.service)) {
      throw new Error(`health gate: service key ${JSON.stringify(endpoint.service)} is not a plain name`);
    }
    if (!/^https?:\/\/[^\s']+$/.test(endpoint.url)) {
      throw new Error(`health gate: ${endpoint.service} has no usable URL (${JSON.stringify(endpoint.url)})`);
    }
  }
  const t = timing.requestTimeoutSeconds;
  return [
    "set -u",
    // `$pending` is split on spaces unquoted below; without -f a `?`, `*` or `[` in a URL
    // (a query string) would be expanded against the working directory's file names.
    "set -f",
    // Whichever HTTP client the host has: curl on Lambda's image, wget on slim hosts, else python3.
    "if command -v curl >/dev/null 2>&1; then",
    `  probe() { curl -fsS -o /dev/null --max-time ${t} "$1" >/dev/null 2>&1; }`,
    "elif command -v wget >/dev/null 2>&1; then",
    `  probe() { wget -q -O /dev/null -T ${t} "$1" >/dev/null 2>&1; }`,
    "else",
    `  probe() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=${t})' "$1" >/dev/null 2>&1; }`,
    "fi",
    `pending=${shellQuote(endpoints.map((endpoint) => `${endpoint.service}=${endpoint.url}`).join(" "))}`,
    "round=1",
    `while [ -n "$pending" ] && [ "$round" -le ${timing.attempts} ]; do`,
    '  [ "$round" -gt 1 ] && sleep ' + String(timing.intervalSeconds),
    '  still=""',
    "  for entry in $pending; do",
    '    service="${entry%%=*}"; url="${entry#*=}"',
    '    if probe "$url"; then echo "healthy: $service ($url)"; else still="$still $entry"; fi',
    "  done",
    '  pending="${still# }"',
    "  round=$((round + 1))",
    "done",
    'if [ -n "$pending" ]; then',
    '  failed=""',
    '  for entry in $pending; do failed="$failed ${entry%%=*}"; done',
    `  echo "health gate failed:$failed did not answer healthy within ${timing.attempts} checks ${timing.intervalSeconds} s apart (see docker logs <container> on the app host)" >&2`,
    "  exit 1",
    "fi",
    `echo "health gate passed: ${endpoints.length} service(s) healthy"`,
  ].join("\n");
}
