/** Reading the emulator's requests (JSON body, API key) and writing its JSON answers. */
import { IncomingMessage, ServerResponse } from "http";

/** Lambda's answer to a request that failed inside the server. */
export const INTERNAL_ERROR = { error: { code: "global/unknown", message: "Internal server error." } };

/** Bearer (recommended), Basic base64(KEY:) as `curl -u KEY:` sends, or Basic with the raw key. */
export function authorized(header: string | undefined, apiKey: string): boolean {
  if (header === undefined) return false;
  const [scheme, value] = header.split(" ", 2);
  if (scheme === "Bearer") return value === apiKey;
  if (scheme === "Basic") {
    if (value === apiKey) return true;
    const decoded = Buffer.from(value ?? "", "base64").toString("utf8");
    return decoded === `${apiKey}:`;
  }
  return false;
}

/** The request's JSON object body; `{}` when there is none, it is not JSON, or not an object. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Answers `status` with `body` as JSON, unless an answer was already sent or the socket is gone. */
export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
