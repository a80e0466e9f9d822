/** Small pieces every family of the emulated account renders the same way. */
import { randomBytes } from "crypto";
import { REGION_DESCRIPTIONS } from "./catalog";

/** A region as Lambda renders it: `{ name: "us-west-1", description: "California, USA" }`. */
export function regionObject(name: string): { name: string; description: string } {
  return { name, description: REGION_DESCRIPTIONS[name] ?? name };
}

/** `bytes` random bytes as lowercase hex (ids are 16 bytes: 32 characters, like Lambda's). */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

/** The time `ms` (epoch milliseconds) as Lambda writes timestamps: ISO 8601 in UTC. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
