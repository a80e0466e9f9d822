/**
 * What `npm run backup -- restore|drill` acts on, from the stack's own plan: Pulumi.<stack>.yaml's
 * values validated as `pulumi preview` does (scripts/cost.ts stackFileConfig, validateStackConfig
 * with every secret taken as present: none is read) and planned by stacks/layerPlan.ts planLayer.
 * So the container names are the planner's (`orchestra-<stack>-stores-<store>`, the backup
 * container `orchestra-<stack>-backups-<data node>`), never spelled here.
 */
import type { BackupMethod } from "../components/backupsPlan";
import type { ContainerSpec } from "../components/containerSpec";
import { storePort } from "../components/dataServicesPlan";
import type { Store } from "../infra/backup/layout";
import { validateStackConfig } from "../stacks/config";
import { SECRET_KEYS } from "../stacks/configSchema";
import { planLayer } from "../stacks/layerPlan";
import { stackFileConfig } from "./cost";

/** One store the stack backs up, as the restore and the drill reach it. */
export interface StoreTarget {
  readonly store: Store;
  /** Its container (the planner's name). */
  readonly container: string;
  /** The port it listens on inside its container (the stack's port map). */
  readonly port: number;
  /** How it is backed up: pgbackrest is restored to a time, the others from a backupId. */
  readonly method: BackupMethod;
}

export interface RestoreTargets {
  readonly stack: string;
  /** The backup container on the stores' node, where `orchestra-backup restore` runs. */
  readonly backupContainer: string;
  /** The stores the stack backs up, by store. */
  readonly stores: Readonly<Partial<Record<Store, StoreTarget>>>;
}

/**
 * Container names do not depend on the Pulumi project's name (it only tags instances), so the
 * plan is made under a fixed one.
 */
const PROJECT = "orchestra";

/**
 * `Pulumi.<stack>.yaml`'s text -> the containers a restore or drill acts on. Throws an Error naming
 * the file when its config does not validate (every problem, as preview lists them), when it
 * deploys no containers, or when its layer keeps no backups.
 */
export function restoreTargetsFromStackFile(text: string, stack: string): RestoreTargets {
  const file = `Pulumi.${stack}.yaml`;
  let plan;
  try {
    const { raw, setKeys } = stackFileConfig(text);
    plan = planLayer(validateStackConfig(raw, SECRET_KEYS, setKeys), { project: PROJECT, stack });
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  const containers = plan.containers;
  if (containers === undefined)
    throw new Error(
      `${file} deploys no containers (services.deployContainers is false), so no store runs where a restore could reach it`,
    );
  const backups = containers.backups;
  if (backups === undefined)
    throw new Error(`${file}: the ${plan.layer} layer keeps no backups here, so there is nothing to restore`);
  const [backupSpec] = Object.values(backups.containers).flat();
  const specOf = (store: Store): ContainerSpec | undefined =>
    containers.data.containers.find((spec) => spec.service === store);
  const stores: Partial<Record<Store, StoreTarget>> = {};
  for (const planned of backups.stores) {
    const spec = specOf(planned.store);
    if (spec === undefined) continue;
    stores[planned.store] = {
      store: planned.store,
      container: spec.containerName,
      port: storePort(containers.data.settings.ports, planned.store),
      method: planned.method,
    };
  }
  return {
    stack,
    backupContainer: backupSpec.containerName,
    stores,
  };
}
