/**
 * DataServices: the data stores of one Docker host. Postgres, Redis and Weaviate as containers on
 * a private Docker network, each with a named volume (on the Lambda filesystem where the node
 * mounts one) and a health check, published on the host's private side only. On the local layer
 * it is a SQLite volume the API mounts, and the network.
 *
 * Passwords and the API key arrive as Pulumi secrets; the connection strings it exposes are
 * secrets too.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  declareContainer,
  declareVolume,
  type ContainerSecrets,
  type DeclaredContainer,
} from "./containerResources";
import { storePort, storeUrlTemplate, type DataServicesPlan } from "./dataServicesPlan";
import {
  PRIVATE_IP_PLACEHOLDER,
  renderSecretTemplate,
  requireAddress,
  type SecretName,
} from "./containerSpec";
import type { DataService } from "./serviceCatalog";

export const DATA_SERVICES_TYPE = "orchestra:services:DataServices";

export interface DataServicesArgs {
  /**
   * Stores, images, ports and where volumes live (`planDataServices` with this component's name as
   * the prefix); `bindAddress` may be `{privateIp}`.
   */
  readonly plan: DataServicesPlan;
  /** The Docker engine of the host the stores run on. */
  readonly provider: docker.Provider;
  /** Fills `{privateIp}` in bind addresses: the node's private address (127.0.0.1 locally). */
  readonly privateIp: pulumi.Input<string>;
  /** Store passwords and keys (Pulumi secrets); only the running stores' are needed. */
  readonly secrets: ContainerSecrets;
  /**
   * Address the app containers reach the stores at: the service name on a shared network, the
   * data node's private address otherwise. Used for the connection strings.
   */
  readonly clientHost?: pulumi.Input<string>;
  /** Must finish before the volumes (the step that makes their directories on the filesystem). */
  readonly volumesAfter?: readonly pulumi.Resource[];
  /** `pulumi destroy` refuses to delete the volumes (production). @default false */
  readonly protect?: boolean;
  /** Keep the volumes on the host when the stack forgets them (production). @default false */
  readonly retainOnDelete?: boolean;
}

export class DataServices extends pulumi.ComponentResource {
  public readonly plan: DataServicesPlan;
  public readonly networkName: pulumi.Output<string>;
  /** The SQLite volume's name (local layer), for the API to mount. */
  public readonly sqliteVolumeName?: string;
  public readonly containers: Readonly<Partial<Record<DataService, DeclaredContainer>>>;
  /** Secret connection strings, one per running store (SQLite's file path on the local layer). */
  public readonly databaseUrl?: pulumi.Output<string>;
  public readonly redisUrl?: pulumi.Output<string>;
  public readonly weaviateUrl?: pulumi.Output<string>;

  constructor(name: string, args: DataServicesArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(DATA_SERVICES_TYPE, name, {}, opts);
    this.plan = args.plan;

    const child = { parent: this, provider: args.provider };
    const stateful = {
      ...child,
      protect: args.protect ?? false,
      retainOnDelete: args.retainOnDelete ?? false,
    };
    const network = new docker.Network(
      this.plan.networkName,
      { name: this.plan.networkName, driver: "bridge", attachable: true },
      child,
    );
    this.networkName = network.name;

    const volumes = [...this.plan.volumes, ...(this.plan.sqliteVolume ? [this.plan.sqliteVolume] : [])].map(
      (volume) => declareVolume(volume, { ...stateful, dependsOn: [...(args.volumesAfter ?? [])] }),
    );
    this.sqliteVolumeName = this.plan.sqliteVolume?.volumeName;

    const containers: Partial<Record<DataService, DeclaredContainer>> = {};
    for (const spec of this.plan.containers) {
      containers[spec.service as DataService] = declareContainer(
        spec,
        {
          secrets: args.secrets,
          placeholders: { [PRIVATE_IP_PLACEHOLDER]: args.privateIp },
          networkName: network.name,
        },
        // Volumes first: a container must not start on a volume that is not there yet.
        { ...child, dependsOn: volumes },
      );
    }
    this.containers = containers;

    // Clients on another node connect to this address: an empty one must fail, not give "@:5432".
    const host =
      args.clientHost === undefined
        ? undefined
        : pulumi
            .output(args.clientHost)
            .apply((at) => requireAddress(at, `DataServices ${name}: clientHost`));
    const settings = this.plan.settings;
    const url = (store: "sqlite" | DataService, secretName?: SecretName): pulumi.Output<string> =>
      pulumi.secret(
        pulumi
          .all([host ?? store, secretName === undefined ? "" : secret(args.secrets, secretName)])
          .apply(([at, value]) =>
            renderSecretTemplate(
              storeUrlTemplate(store, at, store === "sqlite" ? 0 : storePort(settings.ports, store)),
              secretName === undefined ? {} : { [secretName]: value },
            ),
          ),
      );
    const stores = settings.stores;
    if (stores.includes("sqlite")) this.databaseUrl = url("sqlite");
    if (stores.includes("postgres")) this.databaseUrl = url("postgres", "databasePassword");
    if (stores.includes("redis")) this.redisUrl = url("redis", "redisPassword");
    // The URL carries no key, but it names a private address.
    if (stores.includes("weaviate")) this.weaviateUrl = url("weaviate");
    this.registerOutputs({
      networkName: this.networkName,
      databaseUrl: this.databaseUrl,
      redisUrl: this.redisUrl,
      weaviateUrl: this.weaviateUrl,
    });
  }
}

function secret(secrets: ContainerSecrets, name: keyof ContainerSecrets): pulumi.Input<string> {
  const value = secrets[name];
  if (value === undefined) {
    throw new Error(
      `DataServices needs the secret orchestra:${name}; set it with \`pulumi config set --secret ${name} <value>\``,
    );
  }
  return value;
}
