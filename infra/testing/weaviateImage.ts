/**
 * Test support for the services tier: a real Weaviate (v1.27.0, built from the Go module proxy by
 * scripts/weaviate-server.sh into the toolchain cache) as a Docker image on the stand-in base, so a
 * test runs it exactly as components/dataServicesPlan.ts plans the store: the planned environment,
 * the planned command as arguments to the image's entrypoint (the official image's
 * `/bin/weaviate`), the data volume at /var/lib/weaviate, and `wget` for the planned health check.
 */
import { execFileSync } from "child_process";
import { request } from "http";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

/** The tag the tests run. */
export const WEAVIATE_TEST_IMAGE = "orchestra-test/weaviate:1.27.0";

/** The version the image reports (GET /v1/meta), as scripts/weaviate-server.sh pins it. */
export const WEAVIATE_TEST_VERSION = "1.27.0";

const SCRIPT = join(__dirname, "..", "..", "scripts", "weaviate-server.sh");
const STANDIN_BASE = "orchestra-standin/base:bookworm";

/** The built binary's path; builds it first when missing (about 5 minutes cold; toolchain.sh normally has). */
export function weaviateServerPath(): string {
  execFileSync("bash", [SCRIPT, "install"], { stdio: ["ignore", "ignore", "inherit"] });
  return execFileSync("bash", [SCRIPT, "path"], { encoding: "utf8" }).trim();
}

/**
 * Builds WEAVIATE_TEST_IMAGE offline: the stand-in base (Debian bookworm, the binary's glibc, and
 * wget) plus the binary as /bin/weaviate, its entrypoint, with the official image's default
 * command. A rebuild with the same binary is Docker's cache. Throws if docker fails.
 */
export function buildWeaviateImage(tag: string = WEAVIATE_TEST_IMAGE): void {
  const context = mkdtempSync(join(tmpdir(), "orchestra-weaviate-image-"));
  try {
    copyFileSync(weaviateServerPath(), join(context, "weaviate"));
    writeFileSync(
      join(context, "Dockerfile"),
      [
        `FROM ${STANDIN_BASE}`,
        "COPY weaviate /bin/weaviate",
        'ENTRYPOINT ["/bin/weaviate"]',
        'CMD ["--host", "0.0.0.0", "--port", "8080", "--scheme", "http"]',
        "",
      ].join("\n"),
    );
    execFileSync("docker", ["build", "-q", "--network", "none", "-t", tag, context], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** Weaviate's REST API and GraphQL for a test, at 127.0.0.1:<port> with its API key. */
export interface WeaviateClient {
  /** The parsed answer (null for an empty one); rejects on a status other than 200 and after 60 s. */
  api(method: string, path: string, body?: unknown): Promise<unknown>;
  /** GraphQL's `data`; rejects when the answer has `errors`. */
  graphql(query: string): Promise<Record<string, unknown>>;
}

/**
 * A client of the Weaviate published on 127.0.0.1 at `port()` (read per request: tests learn it in
 * beforeAll), sending `key()` as the Bearer token (a header of this process's request, on no argv).
 * A new connection each time (`agent: false`): a pooled keep-alive connection was seen closed under
 * a reused request after a restore.
 */
export function weaviateClient(port: () => number, key: () => string): WeaviateClient {
  const api = (method: string, path: string, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: port(),
          method,
          path,
          agent: false,
          timeout: 60_000,
          headers: {
            Authorization: `Bearer ${key()}`,
            ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => {
            if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
            else resolve(text === "" ? null : JSON.parse(text));
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const graphql = async (query: string): Promise<Record<string, unknown>> => {
    const answer = (await api("POST", "/v1/graphql", { query })) as {
      data?: Record<string, unknown>;
      errors?: unknown;
    };
    if (answer.errors !== undefined) throw new Error(`GraphQL: ${JSON.stringify(answer.errors)}`);
    return answer.data ?? {};
  };
  return { api, graphql };
}
