/**
 * AppServices: the API, the frontend and the layer's MCP servers on one Docker host. Each runs its
 * pinned image on its port from the single port map, wired to the data stores (by service name
 * on a shared network, by the data node's private address otherwise), with a health check, a
 * restart policy that brings a crashed server back, and memory and CPU limits.
 *
 * The API and frontend publish where the firewall guards them; the MCP servers on the private
 * side only.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { declareContainer, type ContainerSecrets, type DeclaredContainer } from "./containerResources";
import type { AppServicesPlan } from "./appServicesPlan";
import { DATA_HOST_PLACEHOLDER, PRIVATE_IP_PLACEHOLDER, substituteAddresses } from "./containerSpec";
import type { AppService } from "./serviceCatalog";

export const APP_SERVICES_TYPE = "orchestra:services:AppServices";

export interface AppServicesArgs {
  /**
   * What runs and how it is wired (`planAppServices` with this component's name as the prefix);
   * bind addresses may be `{privateIp}`, the store host `{dataHost}`.
   */
  readonly plan: AppServicesPlan;
  /** The Docker engine of the app host. */
  readonly provider: docker.Provider;
  /** Fills `{privateIp}`: the app node's private address (127.0.0.1 locally). */
  readonly privateIp: pulumi.Input<string>;
  /** Fills `{dataHost}`: the data node's private address when the stores run on another node. */
  readonly dataHost?: pulumi.Input<string>;
  /**
   * The Docker network to join (the data stores' when they share this host). @default a network
   * of its own, `<name>-net`
   */
  readonly networkName?: pulumi.Input<string>;
  /** Store passwords and keys (Pulumi secrets) the API and the memory server connect with. */
  readonly secrets: ContainerSecrets;
}

export class AppServices extends pulumi.ComponentResource {
  public readonly plan: AppServicesPlan;
  public readonly containers: Readonly<Partial<Record<AppService, DeclaredContainer>>>;
  /** The Docker network the app containers joined (the stores' when they share this host). */
  public readonly networkName: pulumi.Output<string>;
  /** What the post-deploy health gate checks, placeholders filled: service -> URL on the app host. */
  public readonly healthEndpoints: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: AppServicesArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(APP_SERVICES_TYPE, name, {}, opts);
    if (args.plan.settings.dataHost === DATA_HOST_PLACEHOLDER && args.dataHost === undefined) {
      throw new Error(
        `AppServices ${name}: the stores run on another node but no dataHost address was given to reach them`,
      );
    }
    this.plan = args.plan;

    const child = { parent: this, provider: args.provider };
    const networkName =
      args.networkName ??
      new docker.Network(`${name}-net`, { name: `${name}-net`, driver: "bridge", attachable: true }, child)
        .name;
    this.networkName = pulumi.output(networkName);
    const placeholders = {
      [PRIVATE_IP_PLACEHOLDER]: args.privateIp,
      ...(args.dataHost !== undefined ? { [DATA_HOST_PLACEHOLDER]: args.dataHost } : {}),
    };

    const containers: Partial<Record<AppService, DeclaredContainer>> = {};
    for (const spec of this.plan.containers) {
      containers[spec.service as AppService] = declareContainer(
        spec,
        { secrets: args.secrets, placeholders, networkName },
        child,
      );
    }
    this.containers = containers;

    this.healthEndpoints = pulumi
      .all(
        this.plan.healthEndpoints.map((endpoint) =>
          pulumi
            .output(args.privateIp)
            .apply((ip) => [
              endpoint.service,
              substituteAddresses(endpoint.url, { [PRIVATE_IP_PLACEHOLDER]: ip }),
            ]),
        ),
      )
      .apply((entries) => Object.fromEntries(entries) as Record<string, string>);
    this.registerOutputs({ healthEndpoints: this.healthEndpoints });
  }

  /** Every container, for the health gate to wait on. */
  public allContainers(): docker.Container[] {
    return Object.values(this.containers).map((declared) => declared.container);
  }
}
