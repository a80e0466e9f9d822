/**
 * Backups: the backup container on the node the stores run on (components/backupsPlan.ts plans it).
 * It joins the stores' Docker network (it reaches them by container name), mounts what its methods
 * read (Postgres's data read-only, the WAL spool and socket, Weaviate's snapshots), and runs the
 * `orchestra-backup` job's schedule (images/backup): with `restart: unless-stopped` the schedule
 * survives a crash and a node reboot.
 *
 * Its secrets (the bucket's keys, the encryption key, the stores' passwords its clients need) are
 * files of mode 0600 under /run/secrets, rendered from Pulumi secrets inside the container's
 * `uploads`, which the engine keeps as secret outputs: none is in its environment or command line.
 *
 * Errors: a secret the plan needs and the stack lacks fails the preview naming the config key.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { backupOutputs, type BackupOutput, type BackupsPlan } from "./backupsPlan";
import { declareContainer, type ContainerSecrets, type DeclaredContainer } from "./containerResources";
import type { BackupStore } from "../stacks/policy";

export const BACKUPS_TYPE = "orchestra:services:Backups";

export interface BackupsArgs {
  /** `planBackups` with this component's name as the prefix. */
  readonly plan: BackupsPlan;
  /** The Docker engine of each node the plan puts a backup container on (node key -> provider). */
  readonly providers: Readonly<Record<string, docker.Provider>>;
  /** The stores' Docker network (DataServices.networkName). */
  readonly networkName: pulumi.Input<string>;
  /** The backup and store secrets, each a Pulumi secret; only those the plan names are read. */
  readonly secrets: ContainerSecrets;
}

export class Backups extends pulumi.ComponentResource {
  public readonly plan: BackupsPlan;
  /** Container name -> the backup container (a node may hold more than one: keyed by name, not node). */
  public readonly containers: Readonly<Record<string, DeclaredContainer>>;
  /** Per store: where its backups go, the schedule, retention, RPO and the restore command. */
  public readonly outputs: Partial<Record<BackupStore, BackupOutput>>;

  constructor(name: string, args: BackupsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(BACKUPS_TYPE, name, {}, opts);
    this.plan = args.plan;
    const containers: Record<string, DeclaredContainer> = {};
    for (const [node, specs] of Object.entries(args.plan.containers)) {
      const provider = args.providers[node];
      if (provider === undefined)
        throw new Error(
          `Backups ${name}: no Docker provider for node "${node}" (the plan puts a backup container there)`,
        );
      for (const spec of specs) {
        containers[spec.containerName] = declareContainer(
          spec,
          { secrets: args.secrets, placeholders: {}, networkName: args.networkName },
          { parent: this, provider },
        );
      }
    }
    this.containers = containers;
    this.outputs = backupOutputs(args.plan);
    this.registerOutputs({ outputs: this.outputs });
  }
}
