/**
 * Pure planning for DataServices: Postgres, Redis and Weaviate as container specs (or, on the
 * local layer, nothing but a SQLite volume the API mounts). Every store binds its port on the
 * host's private side only and keeps its data in a named volume.
 */
import { requireAddress, type ContainerSpec, type HealthCheckSpec, type VolumeMount } from "./containerSpec";
import { DEFAULT_PORTS, type DataService } from "./serviceCatalog";

export interface DataServicesSettings {
  /** Stores to run; `sqlite` means no container, a volume for the API instead. */
  readonly stores: readonly ("sqlite" | DataService)[];
  readonly images: Readonly<Record<DataService, string>>;
  readonly ports: Readonly<Partial<Record<DataService, number>>>;
  /**
   * Host address the stores publish on: 127.0.0.1 locally, the node's private address on Lambda
   * (the component substitutes it). Never 0.0.0.0.
   */
  readonly bindAddress: string;
  /** Where a Lambda filesystem is mounted on the node; volumes live there when set. */
  readonly filesystemMountPath?: string;
}

export interface VolumePlan {
  readonly resourceName: string;
  readonly volumeName: string;
  /** Bind the volume to this host directory (on the Lambda filesystem) instead of Docker's own. */
  readonly hostPath?: string;
}

export interface DataServicesPlan {
  /** The settings this plan was made from (the component reads ports and stores here). */
  readonly settings: DataServicesSettings;
  readonly networkName: string;
  readonly containers: ContainerSpec[];
  readonly volumes: VolumePlan[];
  /** The SQLite volume the API mounts on the local layer. */
  readonly sqliteVolume?: VolumePlan;
}

/** Health checks every 30 s, as the operators' workflow expects; a store gets 3 misses. */
export const DATA_HEALTH_TIMING = {
  intervalSeconds: 30,
  timeoutSeconds: 5,
  retries: 3,
  startPeriodSeconds: 30,
};

export const DATABASE_NAME = "orchestra";
export const DATABASE_USER = "orchestra";

const LIMITS: Readonly<Record<DataService, { memoryMiB: number; cpus: number }>> = {
  postgres: { memoryMiB: 2048, cpus: 2 },
  redis: { memoryMiB: 512, cpus: 1 },
  weaviate: { memoryMiB: 4096, cpus: 2 },
};

/** `<prefix>-<service>-data`, a directory of the Lambda filesystem when one is mounted. */
export function volumePlan(prefix: string, service: string, filesystemMountPath?: string): VolumePlan {
  return {
    resourceName: `${prefix}-${service}-data`,
    volumeName: `${prefix}-${service}-data`,
    ...(filesystemMountPath !== undefined ? { hostPath: `${filesystemMountPath}/${service}` } : {}),
  };
}

function health(test: readonly string[]): HealthCheckSpec {
  return { test, ...DATA_HEALTH_TIMING };
}

function storeSpec(
  prefix: string,
  service: DataService,
  settings: DataServicesSettings,
  data: VolumeMount,
): ContainerSpec {
  const port = storePort(settings.ports, service);
  const base = {
    service,
    containerName: `${prefix}-${service}`,
    image: settings.images[service],
    ports: [{ internal: port, external: port, hostIp: settings.bindAddress }],
    restart: "unless-stopped" as const,
    volumes: [data],
    ...LIMITS[service],
  };
  switch (service) {
    case "postgres":
      return {
        ...base,
        // The official image reads these; the password arrives as a secret env var, never argv.
        env: { POSTGRES_USER: DATABASE_USER, POSTGRES_DB: DATABASE_NAME, PGPORT: String(port) },
        secretEnv: { POSTGRES_PASSWORD: "databasePassword" },
        secretEnvTemplates: {},
        healthCheck: health(["CMD-SHELL", 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB" -h 127.0.0.1']),
      };
    case "redis":
      return {
        ...base,
        env: {},
        secretEnv: { REDIS_PASSWORD: "redisPassword" },
        secretEnvTemplates: {},
        // Config on stdin: `--requirepass <pw>` would put the password on redis-server's command line.
        // `enable-debug-command local`: DEBUG DIGEST (the backup drill's comparison, run with
        // redis-cli inside this container) from local connections only; Redis 7 refuses DEBUG otherwise.
        // The password is written double-quoted with `\` and `"` escaped, so spaces and quotes in it
        // do not break redis.conf's parser ("Unbalanced quotes in configuration line").
        command: [
          "sh",
          "-c",
          `printf 'requirepass "%s"\\nappendonly yes\\ndir /data\\nport ${port}\\nenable-debug-command local\\n' "$(printf '%s' "$REDIS_PASSWORD" | sed 's/[\\\\"]/\\\\&/g')" | redis-server -`,
        ],
        healthCheck: health([
          "CMD-SHELL",
          `REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p ${port} ping | grep -q PONG`,
        ]),
      };
    case "weaviate":
      return {
        ...base,
        env: {
          AUTHENTICATION_APIKEY_ENABLED: "true",
          AUTHENTICATION_APIKEY_USERS: "orchestra",
          AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: "false",
          PERSISTENCE_DATA_PATH: "/var/lib/weaviate",
          // Backups need a backup module (upstream had none); the filesystem one writes under the volume.
          ENABLE_MODULES: "backup-filesystem",
          BACKUP_FILESYSTEM_PATH: "/var/lib/weaviate/backups",
          DEFAULT_VECTORIZER_MODULE: "none",
          CLUSTER_HOSTNAME: "node1",
          PORT: String(port),
        },
        secretEnv: { AUTHENTICATION_APIKEY_ALLOWED_KEYS: "weaviateApiKey" },
        secretEnvTemplates: {},
        // The image's CMD is `--host 0.0.0.0 --port 8080 --scheme http`; Weaviate ignores PORT.
        command: ["--host", "0.0.0.0", "--port", String(port), "--scheme", "http"],
        healthCheck: health([
          "CMD",
          "wget",
          "-q",
          "--spider",
          `http://127.0.0.1:${port}/v1/.well-known/ready`,
        ]),
      };
  }
}

/** Where each store keeps its data in its container (the backup container mounts it there too). */
export const DATA_PATHS: Readonly<Record<DataService, string>> = {
  postgres: "/var/lib/postgresql/data",
  redis: "/data",
  weaviate: "/var/lib/weaviate",
};

/** Plans the stores of one Docker host. `prefix` is the component's name; child names derive from it. */
export function planDataServices(prefix: string, settings: DataServicesSettings): DataServicesPlan {
  requireAddress(settings.bindAddress, `DataServices ${prefix}: bindAddress`);
  if (settings.bindAddress === "0.0.0.0") {
    throw new Error(
      `DataServices ${prefix}: bindAddress 0.0.0.0 would publish the stores on every interface (Docker's iptables rules bypass the host firewall); bind the private address`,
    );
  }
  const containers: ContainerSpec[] = [];
  const volumes: VolumePlan[] = [];
  for (const store of settings.stores) {
    if (store === "sqlite") continue;
    const data = volumePlan(prefix, store, settings.filesystemMountPath);
    volumes.push(data);
    containers.push(
      storeSpec(prefix, store, settings, { volumeName: data.volumeName, containerPath: DATA_PATHS[store] }),
    );
  }
  return {
    settings,
    networkName: `${prefix}-net`,
    containers,
    volumes,
    ...(settings.stores.includes("sqlite")
      ? { sqliteVolume: volumePlan(prefix, "sqlite", settings.filesystemMountPath) }
      : {}),
  };
}

/** SQLite's file inside the API container (the local layer's store). */
export const SQLITE_DATABASE_URL = "sqlite:////data/orchestra.db";

/**
 * A store's connection string as its clients use it, with the secret as a `{secretName}`
 * placeholder (renderSecretTemplate fills it, URL-encoded) and `host` as given (a service name, a
 * private address, or the `{dataHost}` placeholder). The one home of every store URL: the API's
 * environment, the layer's outputs and DataServices' outputs all come from here.
 */
export function storeUrlTemplate(store: "sqlite" | DataService, host: string, port: number): string {
  switch (store) {
    case "sqlite":
      return SQLITE_DATABASE_URL;
    case "postgres":
      return `postgresql://${DATABASE_USER}:{databasePassword}@${host}:${port}/${DATABASE_NAME}`;
    case "redis":
      return `redis://:{redisPassword}@${host}:${port}/0`;
    case "weaviate":
      // The URL carries no key: Weaviate takes it as a header.
      return `http://${host}:${port}`;
  }
}

/** A store's port: the port map's, else the catalog default. */
export function storePort(ports: DataServicesSettings["ports"], store: DataService): number {
  return ports[store] ?? DEFAULT_PORTS[store];
}
