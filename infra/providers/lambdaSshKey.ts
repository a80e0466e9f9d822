/**
 * `LambdaSshKey`: an SSH public key registered with Lambda under a name (launches refer to keys by
 * name). Free. Names are unique per account, so a replacement deletes the old key first. Lambda
 * copies the key into an instance at launch: a new key reaches new launches only, and running
 * instances keep the key they were launched with.
 */
import * as pulumi from "@pulumi/pulumi";
import { configureFromStack, diffByKeys, isUnknown, keepOutputs, lambdaClient } from "./common";
import { invalidateListing, memoSshKeys } from "./listingMemo";

export interface LambdaSshKeyArgs {
  /** Name Lambda knows the key by (1-64 characters, unique in the account). @default the resource name */
  readonly name?: pulumi.Input<string>;
  /** OpenSSH public key, e.g. `ssh-ed25519 AAAA... ops@example.com`; surrounding whitespace, CRLF and tabs are no change. */
  readonly publicKey: pulumi.Input<string>;
}

const OPENSSH_PUBLIC_KEY =
  /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/;

/**
 * A public key in one canonical form: `type base64[ comment]`, single spaces, no surrounding
 * whitespace. A key arrives with a trailing newline (a YAML `|` block, `pulumi config set` from a
 * file), CRLF, or tabs; `check`, `read` and `diff` all use this form, so such a key is no change.
 */
export function canonicalPublicKey(text: string): string {
  return text.trim().split(/\s+/).join(" ");
}

/** The canonical key when it is a known string (state from older code may hold it as written). */
function canonicalIfString(key: unknown): unknown {
  return typeof key === "string" && !isUnknown(key) ? canonicalPublicKey(key) : key;
}

export const lambdaSshKeyProvider: pulumi.dynamic.ResourceProvider = {
  configure: (req) => configureFromStack(req),
  check: async (_olds, news) => {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const name = news.name as unknown;
    if (!isUnknown(name) && (typeof name !== "string" || name.length < 1 || name.length > 64)) {
      failures.push({
        property: "name",
        reason: `SSH key name ${JSON.stringify(name)} must be 1 to 64 characters`,
      });
    }
    const key = news.publicKey as unknown;
    if (isUnknown(key)) return { inputs: news, failures };
    const canonical = typeof key === "string" ? canonicalPublicKey(key) : undefined;
    // A line break inside the key (a wrapped paste) would otherwise pass as "type blob comment".
    if (
      canonical === undefined ||
      /[\r\n]/.test((key as string).trim()) ||
      !OPENSSH_PUBLIC_KEY.test(canonical) ||
      canonical.length > 4096
    ) {
      failures.push({
        property: "publicKey",
        reason:
          "publicKey is not an OpenSSH public key (expected e.g. `ssh-ed25519 AAAA... comment` on one line, at most 4096 characters); paste the contents of your .pub file",
      });
      return { inputs: news, failures };
    }
    return { inputs: { ...news, publicKey: canonical }, failures };
  },
  diff: async (_id, olds, news) =>
    diffByKeys(
      { ...olds, publicKey: canonicalIfString(olds.publicKey) },
      { ...news, publicKey: canonicalIfString(news.publicKey) },
      { replace: ["name", "publicKey"], update: [] },
      olds.name === news.name,
    ),
  create: async (inputs) => {
    const client = lambdaClient();
    const name = inputs.name as string;
    const publicKey = canonicalPublicKey(inputs.publicKey as string);
    // Adopt a key left by an interrupted run, but never someone else's key under our name.
    const existing = (await memoSshKeys(client)).find((key) => key.name === name);
    if (existing !== undefined) {
      if (canonicalPublicKey(existing.public_key) !== publicKey) {
        throw new Error(
          `An SSH key named "${name}" already exists in the Lambda account with a different public key; choose another name or delete that key first`,
        );
      }
      return { id: existing.id, outs: { name, publicKey, keyId: existing.id } };
    }
    const created = await client.addSshKey(name, publicKey);
    invalidateListing("sshKeys");
    return { id: created.id, outs: { name, publicKey, keyId: created.id } };
  },
  // diff replaces on every identity change, so an update changes nothing at Lambda; it keeps the
  // stored outputs (DESIGN §4: without update, an update wipes them).
  update: async (_id, olds, news) => ({ outs: keepOutputs(olds, news) }),
  read: async (id, props) => {
    // One listing serves every key's read in a refresh (listingMemo.ts).
    const key = (await memoSshKeys(lambdaClient())).find((candidate) => candidate.id === id);
    if (key === undefined) return {};
    return {
      id,
      props: { ...props, name: key.name, publicKey: canonicalPublicKey(key.public_key), keyId: key.id },
    };
  },
  // Lambda 1.8.3 deletes a key that live instances were launched with (it was copied into them at
  // launch; they keep it), so there is no in-use refusal to translate, unlike filesystems and
  // rulesets. An error is rethrown unless the key turns out to be gone already.
  delete: async (id) => {
    const client = lambdaClient();
    try {
      await client.deleteSshKey(id);
      invalidateListing("sshKeys");
    } catch (error) {
      // Did the delete land although the answer failed? Only a fresh listing can say.
      invalidateListing("sshKeys");
      const gone = (await client.listSshKeys()).every((key) => key.id !== id);
      if (!gone) throw error;
    }
  },
};

export class LambdaSshKey extends pulumi.dynamic.Resource {
  declare readonly keyId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly publicKey: pulumi.Output<string>;

  constructor(name: string, args: LambdaSshKeyArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      lambdaSshKeyProvider,
      name,
      { name: args.name ?? name, publicKey: args.publicKey, keyId: undefined },
      opts,
      "lambda",
      "SshKey",
    );
  }
}
