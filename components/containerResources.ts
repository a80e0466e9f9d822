/**
 * Maps a plain ContainerSpec to `@pulumi/docker` resources: the pinned image, then the container
 * with its ports (on the spec's host address), health check, restart policy, limits, volumes,
 * network alias and environment. Secret environment values stay Pulumi secrets end to end: they
 * are spliced in inside an apply on the secret Outputs and the container's `envs` is marked as a
 * secret output, so neither the engine's state nor a log line holds them in plain text.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  renderSecretTemplate,
  SECRET_NAMES,
  substituteAddresses,
  type ContainerSpec,
  type HealthCheckSpec,
  type SecretName,
  dockerCpus,
  envSecretProblem,
  fileSecrets,
  renderFileSecrets,
} from "./containerSpec";
import type { VolumePlan } from "./dataServicesPlan";

/** The secrets a host's containers may need, as Pulumi secrets (a missing one fails clearly). */
export type ContainerSecrets = Readonly<Partial<Record<SecretName, pulumi.Input<string>>>>;

/**
 * Address placeholders in a spec (`{privateIp}`, `{dataHost}`) and what fills them. Values are
 * addresses known only once the node is up, never secrets.
 */
export type Placeholders = Readonly<Record<string, pulumi.Input<string>>>;

export interface ContainerContext {
  readonly secrets: ContainerSecrets;
  readonly placeholders: Placeholders;
  /** Docker network the container joins, with its service name as the DNS alias. */
  readonly networkName: pulumi.Input<string>;
}

export interface DeclaredContainer {
  readonly image: docker.RemoteImage;
  readonly container: docker.Container;
}

/** Replaces every placeholder in `text`; plain text stays a plain string (and readable in a plan). */
export function fillPlaceholders(text: string, placeholders: Placeholders): pulumi.Input<string> {
  const used = Object.keys(placeholders).filter((placeholder) => text.includes(placeholder));
  if (used.length === 0) return text;
  return pulumi
    .all(used.map((placeholder) => placeholders[placeholder]))
    .apply((values) =>
      substituteAddresses(
        text,
        Object.fromEntries(used.map((placeholder, index) => [placeholder, values[index]])),
      ),
    );
}

/** Docker's duration strings ("30s"): the provider takes durations as text, the spec in seconds. */
export function dockerDuration(seconds: number): string {
  return `${seconds}s`;
}

export function healthcheckArgs(check: HealthCheckSpec): docker.types.input.ContainerHealthcheck {
  return {
    tests: [...check.test],
    interval: dockerDuration(check.intervalSeconds),
    timeout: dockerDuration(check.timeoutSeconds),
    retries: check.retries,
    startPeriod: dockerDuration(check.startPeriodSeconds),
  };
}

function secretFor(spec: ContainerSpec, secrets: ContainerSecrets, name: SecretName): pulumi.Input<string> {
  const value = secrets[name];
  if (value === undefined) {
    // Names the key only: the value is never part of an error.
    throw new Error(
      `container ${spec.service} needs the secret orchestra:${name}; set it with \`pulumi config set --secret ${name} <value>\``,
    );
  }
  return value;
}

/** Secret names a template refers to, in order of first use. */
function templateSecrets(template: string): SecretName[] {
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
  return [...new Set(names)].filter((name): name is SecretName =>
    (SECRET_NAMES as readonly string[]).includes(name),
  );
}

/**
 * `KEY=value` entries: plain ones as strings (placeholders filled), secret ones as secret Outputs.
 * Templates get their address placeholders first, then the secrets, inside one apply.
 */
export function envArgs(
  spec: ContainerSpec,
  secrets: ContainerSecrets,
  placeholders: Placeholders,
): pulumi.Input<string>[] {
  const plain = Object.entries(spec.env).map(([key, value]) =>
    pulumi.output(fillPlaceholders(value, placeholders)).apply((filled) => `${key}=${filled}`),
  );
  const direct = Object.entries(spec.secretEnv).map(([key, name]) =>
    pulumi.secret(
      pulumi.output(secretFor(spec, secrets, name)).apply((value) => {
        const problem = envSecretProblem(name, value);
        if (problem !== undefined) throw new Error(`orchestra:${name} ${problem}`);
        return `${key}=${value}`;
      }),
    ),
  );
  const templated = Object.entries(spec.secretEnvTemplates).map(([key, template]) => {
    const names = templateSecrets(template);
    const values = names.map((name) => secretFor(spec, secrets, name));
    return pulumi.secret(
      pulumi
        .all([pulumi.output(fillPlaceholders(template, placeholders)), pulumi.all(values)])
        .apply(([filled, resolved]) => {
          names.forEach((name, index) => {
            const problem = envSecretProblem(name, resolved[index]);
            if (problem !== undefined) throw new Error(`orchestra:${name} ${problem}`);
          });
          const byName = Object.fromEntries(names.map((name, index) => [name, resolved[index]]));
          return `${key}=${renderSecretTemplate(filled, byName as Record<SecretName, string>)}`;
        }),
    );
  });
  return [...plain, ...direct, ...templated];
}

/**
 * The spec's files as Docker `uploads`: placeholders filled, then `{secret:<name>}` rendered inside
 * an apply on the secret Outputs; a file holding a secret is itself a Pulumi secret.
 */
export function uploadArgs(
  spec: ContainerSpec,
  secrets: ContainerSecrets,
  placeholders: Placeholders,
): docker.types.input.ContainerUpload[] {
  return (spec.files ?? []).map((file) => {
    const names = fileSecrets(file.content);
    const filled = pulumi.output(fillPlaceholders(file.content, placeholders));
    // Docker's upload `permissions` (the provider's, over `executable`): a secret file is 0600.
    const mode = file.mode !== undefined ? { permissions: file.mode } : {};
    if (names.length === 0) return { file: file.path, content: filled, ...mode };
    const values = names.map((name) => secretFor(spec, secrets, name));
    const content = pulumi
      .all([filled, pulumi.all(values)])
      .apply(([text, resolved]) =>
        renderFileSecrets(text, Object.fromEntries(names.map((name, index) => [name, resolved[index]]))),
      );
    return { file: file.path, content: pulumi.secret(content), ...mode };
  });
}

/** The `docker.Container` arguments for a spec; `image` is the pulled image's id. */
export function containerArgs(
  spec: ContainerSpec,
  context: ContainerContext,
  image: pulumi.Input<string>,
): docker.ContainerArgs {
  return {
    name: spec.containerName,
    image,
    envs: envArgs(spec, context.secrets, context.placeholders),
    ports: spec.ports.map((port) => ({
      internal: port.internal,
      external: port.external,
      ip: fillPlaceholders(port.hostIp, context.placeholders),
      protocol: "tcp",
    })),
    healthcheck: healthcheckArgs(spec.healthCheck),
    restart: spec.restart,
    // Docker takes memory in MB. Swap included equals memory (no swap): a service at its limit is
    // killed and restarted rather than thrashing; unset, Docker reads back twice the memory, a diff
    // on every preview.
    memory: spec.memoryMiB,
    memorySwap: spec.memoryMiB,
    cpus: dockerCpus(spec.cpus),
    volumes: spec.volumes.map((volume) => ({
      volumeName: volume.volumeName,
      containerPath: volume.containerPath,
      ...(volume.readOnly === true ? { readOnly: true } : {}),
    })),
    networksAdvanced: [{ name: context.networkName, aliases: [spec.service] }],
    // Bounded logs: a chatty server must not fill the node's disk.
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
    ...(spec.command !== undefined ? { command: [...spec.command] } : {}),
    ...(spec.user !== undefined ? { user: spec.user } : {}),
    ...(spec.mounts !== undefined && spec.mounts.length > 0
      ? {
          mounts: spec.mounts.map((mount) => ({
            type: "bind",
            source: mount.hostPath,
            target: mount.containerPath,
            readOnly: mount.readOnly,
          })),
        }
      : {}),
    ...(spec.files !== undefined && spec.files.length > 0
      ? { uploads: uploadArgs(spec, context.secrets, context.placeholders) }
      : {}),
    ...(spec.gpus !== undefined ? { gpus: spec.gpus } : {}),
  };
}

/**
 * Declares the image and the container of one spec. Names derive from the spec's container name
 * (component name + service key), so removing one service renames nothing else.
 */
export function declareContainer(
  spec: ContainerSpec,
  context: ContainerContext,
  opts: pulumi.CustomResourceOptions,
): DeclaredContainer {
  // keepLocally: several services share one image on a host; deleting one must not remove it.
  const image = new docker.RemoteImage(
    `${spec.containerName}-image`,
    { name: spec.image, keepLocally: true },
    opts,
  );
  const container = new docker.Container(spec.containerName, containerArgs(spec, context, image.imageId), {
    ...opts,
    // Secret inputs make `envs` (and a file with a secret) secret already; this keeps them so even
    // if the provider echoes them back.
    additionalSecretOutputs: (spec.files ?? []).some((file) => fileSecrets(file.content).length > 0)
      ? ["envs", "uploads"]
      : ["envs"],
  });
  return { image, container };
}

/**
 * A named volume. On the Lambda filesystem it is a bind of a directory there (the local driver's
 * `o=bind`), so the data outlives the instance; otherwise Docker's own volume directory.
 */
export function declareVolume(volume: VolumePlan, opts: pulumi.CustomResourceOptions): docker.Volume {
  return new docker.Volume(
    volume.resourceName,
    {
      name: volume.volumeName,
      driver: "local",
      ...(volume.hostPath !== undefined
        ? { driverOpts: { type: "none", o: "bind", device: volume.hostPath } }
        : {}),
    },
    opts,
  );
}
