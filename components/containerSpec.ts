/**
 * The plain shape every container planner produces. Components map it to `docker.Container`; the
 * services test tier runs the very same spec on a real Docker engine (infra/testing/dockerRunner.ts),
 * so what the mocks pin and what the engine proves are one object.
 */

export interface PortBinding {
  /** Port inside the container. */
  readonly internal: number;
  /** Port on the host. */
  readonly external: number;
  /**
   * Host address the port is published on. Data stores bind the node's private side (or
   * 127.0.0.1 locally), never 0.0.0.0: Docker's iptables rules bypass ufw and Lambda's firewall
   * only guards the public address.
   */
  readonly hostIp: string;
}

export interface HealthCheckSpec {
  /** Docker HEALTHCHECK test, e.g. ["CMD", "pg_isready"] or ["CMD-SHELL", "..."]. */
  readonly test: readonly string[];
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly startPeriodSeconds: number;
}

export interface VolumeMount {
  /** Docker volume name (named volumes survive container replacement). */
  readonly volumeName: string;
  readonly containerPath: string;
  /** Mount it read-only (a backup job reads a store's data, never writes it). @default false */
  readonly readOnly?: boolean;
}

/** A host path bound into the container (node_exporter reads the host's /proc, /sys and /). */
export interface HostMount {
  readonly hostPath: string;
  readonly containerPath: string;
  readonly readOnly: boolean;
}

/**
 * A file written into the container before it starts: Docker's `uploads` (`@pulumi/docker`), a
 * `docker cp` in the services tier. Used for configuration the image reads from a file (Prometheus,
 * Alertmanager), never for a secret on a command line.
 */
export interface ContainerFile {
  /** Absolute path inside the container. */
  readonly path: string;
  /**
   * The file's text. Address placeholders (`{privateIp}`, `{dataHost}`, `{privateIp:<node>}`) are
   * filled like env values; `{secret:<name>}` is replaced with that secret's value as a
   * double-quoted JSON string, which YAML reads as the same string (renderFileSecrets).
   */
  readonly content: string;
  /**
   * Permission bits as octal text, Docker's upload `permissions` (e.g. "0600": a file holding a
   * secret, readable by its owner only). @default Docker's, 0644
   */
  readonly mode?: string;
}

export interface ContainerSpec {
  /** Stable service key (`postgres`, `api`, `mcp-memory`); child names derive from it. */
  readonly service: string;
  /** Container name on the host; also its DNS name on the private network. */
  readonly containerName: string;
  /** Pinned image reference (tag or digest, never `:latest`). */
  readonly image: string;
  /** Plain environment. Never holds a secret. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Environment variables whose values are secrets, by variable name -> secret key in the
   * layer's secrets (`databasePassword`, ...). Kept apart so the component can pass them as
   * Pulumi secrets and the test runner through an env file, never on a command line.
   */
  readonly secretEnv: Readonly<Record<string, SecretName>>;
  /**
   * Environment variables built from a template with secrets spliced in, e.g. DATABASE_URL.
   * `{secretName}` placeholders are replaced with the secret's value at deploy time.
   */
  readonly secretEnvTemplates: Readonly<Record<string, string>>;
  readonly ports: readonly PortBinding[];
  readonly healthCheck: HealthCheckSpec;
  /** Docker restart policy; `unless-stopped` brings a crashed server back. */
  readonly restart: "unless-stopped" | "always" | "on-failure" | "no";
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly volumes: readonly VolumeMount[];
  /** Overrides the image's command. Must never contain a secret value. */
  readonly command?: readonly string[];
  /** User to run as (`uid:gid`), where the image supports it. */
  readonly user?: string;
  /** Host paths bound into the container. @default none */
  readonly mounts?: readonly HostMount[];
  /** Files written into the container before it starts. @default none */
  readonly files?: readonly ContainerFile[];
  /** Every GPU of the node (Docker's `--gpus all`, the NVIDIA container runtime). @default none */
  readonly gpus?: "all";
}

/**
 * Returns `address` if a port can be published on it and a client can reach it; throws for an
 * empty or blank one, naming `what`. Docker reads an empty host address as every interface (so a
 * store would listen publicly), and a URL to it reaches nothing: a missing address must fail, never
 * fall through as "".
 */
export function requireAddress(address: string, what: string): string {
  if (address.trim() === "") {
    throw new Error(
      `${what} is an empty address; Docker would publish on every interface and a URL to it reaches nothing. ` +
        "Give the address to bind or reach (the node's private IP, or 127.0.0.1 locally); for a Lambda node, run `pulumi refresh` and check its privateIp output.",
    );
  }
  return address;
}

/** The node's private address; data stores and MCP servers publish there on Lambda. */
export const PRIVATE_IP_PLACEHOLDER = "{privateIp}";
/** The node's public address (the app node's, in the API and frontend URLs on Lambda). */
export const PUBLIC_IP_PLACEHOLDER = "{publicIp}";
/** The data node's private address, where the app containers reach stores on another node. */
export const DATA_HOST_PLACEHOLDER = "{dataHost}";

/**
 * Replaces each address placeholder (`{privateIp}`, `{dataHost}`) in `text` with its value; an
 * empty value is refused (requireAddress), so a node that reported no address fails the deploy.
 */
export function substituteAddresses(text: string, values: Readonly<Record<string, string>>): string {
  return Object.entries(values).reduce(
    (result, [placeholder, value]) =>
      result.includes(placeholder)
        ? result.split(placeholder).join(requireAddress(value, `${placeholder} in "${text}"`))
        : result,
    text,
  );
}

/** Secret values a layer's containers may need; each is secret stack config. */
export const SECRET_NAMES = [
  "databasePassword",
  "redisPassword",
  "weaviateApiKey",
  "alertWebhookUrl",
  // The backup bucket's credentials and the key backups are encrypted with before they leave the node.
  "backupAccessKeyId",
  "backupSecretAccessKey",
  "backupEncryptionKey",
] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/**
 * Replaces `{secretName}` placeholders with values, URL-encoded (used at deploy time and by the
 * test runner). Throws for an unknown placeholder or one whose value is not given.
 */
export function renderSecretTemplate(
  template: string,
  secrets: Readonly<Partial<Record<SecretName, string>>>,
): string {
  return template.replace(/\{(\w+)\}/g, (placeholder, name: string) => {
    const value = secrets[name as SecretName];
    if (!(SECRET_NAMES as readonly string[]).includes(name) || value === undefined) {
      throw new Error(`unknown secret placeholder ${placeholder} in an environment template`);
    }
    return encodeURIComponent(value);
  });
}

const FILE_SECRET = /\{secret:(\w+)\}/g;

/**
 * What a secret must look like where a program parses it (Alertmanager refuses a bad URL at start
 * and would restart forever): a problem in words that never repeat the value, or undefined.
 */
const SECRET_FORMATS: Partial<Record<SecretName, (value: string) => string | undefined>> = {
  alertWebhookUrl: (value) => {
    const fix = "set it with `pulumi config set --secret alertWebhookUrl < url-file`";
    // Parts of the value are never shown (a part before ":" may be a token). Checked as strictly as
    // Go's net/url, which Alertmanager parses with: WHATWG's URL forgives "\\", "https:host" and
    // a bad "%" escape, Go refuses them and Alertmanager would restart forever.
    if (/\s/.test(value)) return `contains white space or a line break (its value is not shown); ${fix}`;
    if (/[\u0000-\u001f\u007f]/.test(value))
      return `contains a control character (its value is not shown); ${fix}`;
    // The authority: optional user info, then a host (no backslash: Go refuses it there).
    if (!/^https?:\/\/(?:[^/?#@\\]*@)?[^/?#@:\\]+(?::\d*)?(?:[/?#]|$)/i.test(value))
      return `must start with http:// or https:// and a host name (its value is not shown); ${fix}`;
    if (/%(?![0-9a-fA-F]{2})/.test(value))
      return `has a "%" that is not followed by two hex digits (its value is not shown); ${fix}`;
    try {
      new URL(value);
    } catch {
      return `is not a URL (its value is not shown: it is a secret); ${fix}`;
    }
    return undefined;
  },
  // The backup job encrypts with `age -r` (the recipient from `age-keygen -y`) and decrypts with
  // `age -d -i`: the key is an age X25519 identity, "AGE-SECRET-KEY-1" and 58 bech32 characters
  // (age's own format, github.com/FiloSottile/age). Checked here, or every backup would fail.
  backupEncryptionKey: (value) =>
    /^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/.test(value)
      ? undefined
      : "is not an age identity (AGE-SECRET-KEY-1 and 58 characters; its value is not shown); make one with `age-keygen 2>/dev/null | grep '^AGE-SECRET-KEY-1' | pulumi config set --secret backupEncryptionKey` and keep a copy outside the stack: without it no backup can be read",
};

/**
 * Why secret `name`'s value cannot be a container's environment value, or undefined. The same
 * secret reaches the backup job as a file, read trimmed (renderFileSecrets): a value with white
 * space at either end would be one password to the store and another to its backups. Weaviate reads
 * AUTHENTICATION_APIKEY_ALLOWED_KEYS as a comma-separated list, so a comma would make two keys.
 * The value itself is never part of the answer.
 */
export function envSecretProblem(name: SecretName, value: string): string | undefined {
  if (value !== value.trim())
    return `has white space or a line break at its start or end (its value is not shown); set it again without: \`printf '%s' '<value>' | pulumi config set --secret ${name}\``;
  if (name === "weaviateApiKey" && value.includes(","))
    return "contains a comma, which Weaviate reads as two keys (its value is not shown); choose a key without commas";
  return undefined;
}

/** The secrets a file's content refers to (`{secret:<name>}`), in order of first use. */
export function fileSecrets(content: string): SecretName[] {
  const names = [...content.matchAll(FILE_SECRET)].map((match) => match[1]);
  for (const name of names) {
    if (!(SECRET_NAMES as readonly string[]).includes(name))
      throw new Error(`unknown secret placeholder {secret:${name}} in a container file`);
  }
  return [...new Set(names)] as SecretName[];
}

/**
 * Replaces each `{secret:<name>}` in a file's content with the secret's value as a double-quoted
 * JSON string (valid YAML: Prometheus and Alertmanager read it back unchanged, whatever characters
 * the value holds). A file that is nothing but one placeholder is the secret itself (the backup
 * job's /run/secrets/<name>): its content is the bare value, which its reader takes as is.
 * Throws, naming the placeholder only, for an unknown name or a missing value.
 */
export function renderFileSecrets(
  content: string,
  secrets: Readonly<Partial<Record<SecretName, string>>>,
): string {
  fileSecrets(content);
  const wholeFile = /^\{secret:\w+\}$/.test(content);
  return content.replace(FILE_SECRET, (placeholder, name: string) => {
    // A value read from a file (`config set --secret ... < file`) ends in a newline: never meant.
    const value = secrets[name as SecretName]?.trim();
    if (value === undefined) throw new Error(`no value for ${placeholder} in a container file`);
    const problem = SECRET_FORMATS[name as SecretName]?.(value);
    if (problem !== undefined) throw new Error(`orchestra:${name} ${problem}`);
    return wholeFile ? value : JSON.stringify(value);
  });
}

/**
 * CPUs as the Docker provider reads them back (its `nanoInt64ToDecimalString`: `2` -> "2.0",
 * `1.5` -> "1.5"). `cpus` forces a replacement, so any other spelling ("2") would replace the
 * container on every `pulumi up`.
 */
export function dockerCpus(cpus: number): string {
  return Number.isInteger(cpus) ? cpus.toFixed(1) : String(cpus);
}
