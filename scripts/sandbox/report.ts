/**
 * The end of `npm run sandbox`: the health gate's report, the URLs, and the containers the stack
 * planned against what `docker ps` shows running (every sandbox node is this machine's engine).
 * Exits 1 when a planned container is not running.
 *
 *   tsx scripts/sandbox/report.ts <stack>
 */
import { execFileSync } from "child_process";

interface SandboxOutputs {
  healthGate?: string;
  apiUrl?: string;
  frontendUrl?: string;
  mcpEndpoints?: Record<string, string>;
  containers?: Record<string, string[]>;
}

function main(stack: string): number {
  // Without --show-secrets: the connection strings print as [secret], never in clear.
  const outputs = JSON.parse(
    execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], { encoding: "utf8" }),
  ) as SandboxOutputs;
  // The gate runs when a container is created or replaced; a no-change up keeps its last report.
  console.log("Health gate (its last run: it runs again whenever a container is created or replaced):");
  console.log((outputs.healthGate ?? "(no health gate in this stack)").trimEnd().replace(/^/gm, "  "));
  console.log(`API:      ${outputs.apiUrl ?? "-"}`);
  console.log(`Frontend: ${outputs.frontendUrl ?? "-"}`);
  for (const [server, url] of Object.entries(outputs.mcpEndpoints ?? {}))
    console.log(`MCP ${server}: ${url} (private address)`);

  const planned = Object.values(outputs.containers ?? {}).flat();
  const running = new Set(
    execFileSync("docker", ["ps", "--filter", "status=running", "--format", "{{.Names}}"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean),
  );
  const missing = planned.filter((name) => !running.has(name));
  console.log(
    `Containers: ${planned.length} planned, ${planned.length - missing.length} of them running (docker ps)`,
  );
  for (const [node, names] of Object.entries(outputs.containers ?? {}))
    console.log(
      `  ${node}: ${names.map((name) => (running.has(name) ? name : `${name} (NOT RUNNING)`)).join(", ")}`,
    );
  if (missing.length > 0) {
    console.error(`[sandbox] ERROR: not running: ${missing.join(", ")}; see docker logs <container>`);
    return 1;
  }
  return 0;
}

const stack = process.argv[2];
if (stack === undefined) {
  console.error("usage: tsx scripts/sandbox/report.ts <stack>");
  process.exit(2);
}
process.exit(main(stack));
