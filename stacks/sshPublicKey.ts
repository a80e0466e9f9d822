/**
 * OpenSSH public key lines (`<type> <base64 blob> [comment]`, the contents of a `.pub` file): their
 * blob, fingerprint and a check that the blob is a key of the declared type. Pure.
 */
import { createHash } from "crypto";

/**
 * OpenSSH's fingerprint of a key blob given in base64: `SHA256:` and the unpadded base64 of the
 * blob's SHA-256, as `ssh-keygen -l` and `ssh-add -l` print it.
 */
export function sshFingerprint(blobBase64: string): string {
  const digest = createHash("sha256").update(Buffer.from(blobBase64, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/** The base64 blob of an OpenSSH public key line (`<type> <base64> [comment]`). */
export function publicKeyBlob(publicKeyLine: string): string {
  return publicKeyLine.trim().split(/\s+/)[1] ?? "";
}

/**
 * Undefined when the key type named in an OpenSSH public key line is the one its blob encodes (the
 * blob starts with a length-prefixed type string, RFC 4253 section 6.6); else what is wrong. A line
 * whose regex shape is fine can still carry a blob that is not a key, or another type's blob.
 */
export function publicKeyLineProblem(line: string): string | undefined {
  const [declared, base64] = line.trim().split(/\s+/);
  const blob = Buffer.from(base64 ?? "", "base64");
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const embedded =
    length > 0 && length <= blob.length - 4 ? blob.subarray(4, 4 + length).toString("latin1") : undefined;
  if (embedded === declared) return undefined;
  return embedded === undefined
    ? `its key data is not an SSH public key (copy the whole line of the .pub file, e.g. \`cat ~/.ssh/id_ed25519.pub\`)`
    : `it says ${declared} but its key data is a ${embedded} key (copy the whole line of the .pub file unchanged)`;
}
