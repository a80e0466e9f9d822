/**
 * `LambdaFilesystem`: a persistent Lambda filesystem, mounted at /lambda/nfs/<name> on instances in
 * its region. Cost: billed per GiB-month of data stored, even when nothing mounts it. Names are
 * unique, so a replacement deletes first; deleting destroys the data (production retains it).
 */
import * as pulumi from "@pulumi/pulumi";
import { isLambdaError } from "../lambda/errors";
import { PUBLIC_REGION_CODES } from "../lambda/schemas";
import {
  configureFromStack,
  describeInstances,
  diffByKeys,
  isUnknown,
  keepOutputs,
  lambdaClient,
  LIVE_STATUSES,
} from "./common";
import { invalidateListing, memoFilesystems, memoInstances } from "./listingMemo";

export interface LambdaFilesystemArgs {
  /** Filesystem name: a letter first, then letters, digits and hyphens, at most 60. @default the resource name */
  readonly name?: pulumi.Input<string>;
  /** The region it lives in; only instances in this region can mount it. */
  readonly region: pulumi.Input<string>;
}

const FILESYSTEM_NAME = /^[a-zA-Z]+[0-9a-zA-Z-]*$/;

export const lambdaFilesystemProvider: pulumi.dynamic.ResourceProvider = {
  configure: (req) => configureFromStack(req),
  check: async (_olds, news) => {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const name = news.name as unknown;
    if (!isUnknown(name) && (typeof name !== "string" || !FILESYSTEM_NAME.test(name) || name.length > 60)) {
      failures.push({
        property: "name",
        reason: `filesystem name ${JSON.stringify(name)} must match ${FILESYSTEM_NAME.source} and be at most 60 characters`,
      });
    }
    const region = news.region as unknown;
    if (!isUnknown(region) && !(PUBLIC_REGION_CODES as readonly unknown[]).includes(region)) {
      failures.push({
        property: "region",
        reason: `region ${JSON.stringify(region)} is not a Lambda region; allowed: ${PUBLIC_REGION_CODES.join(", ")}`,
      });
    }
    return { inputs: news, failures };
  },
  diff: async (_id, olds, news) => diffByKeys(olds, news, { replace: ["name", "region"], update: [] }, true),
  create: async (inputs) => {
    const client = lambdaClient();
    const name = inputs.name as string;
    const region = inputs.region as string;
    const existing = (await memoFilesystems(client)).find((fs) => fs.name === name);
    if (existing !== undefined && existing.region.name !== region) {
      throw new Error(
        `A filesystem named "${name}" already exists in ${existing.region.name}, not ${region}; choose another name`,
      );
    }
    // An interrupted run may have created it already: adopt it rather than fail on global/duplicate.
    const fs = existing ?? (await client.createFilesystem(name, region));
    if (existing === undefined) invalidateListing("filesystems");
    return { id: fs.id, outs: { name, region, filesystemId: fs.id, mountPoint: fs.mount_point } };
  },
  // diff replaces on every identity change, so an update changes nothing at Lambda; it keeps the
  // stored outputs (DESIGN §4: without update, an update wipes them).
  update: async (_id, olds, news) => ({ outs: keepOutputs(olds, news) }),
  read: async (id, props) => {
    // One listing serves every filesystem's read in a refresh (listingMemo.ts).
    const fs = (await memoFilesystems(lambdaClient())).find((candidate) => candidate.id === id);
    if (fs === undefined) return {};
    return {
      id,
      props: {
        ...props,
        name: fs.name,
        region: fs.region.name,
        filesystemId: fs.id,
        mountPoint: fs.mount_point,
        bytesUsed: fs.bytes_used ?? 0,
      },
    };
  },
  delete: async (id, props) => {
    const client = lambdaClient();
    try {
      await client.deleteFilesystem(id);
      invalidateListing("filesystems");
    } catch (error) {
      if (isLambdaError(error, "not-found")) return;
      if (isLambdaError(error, "in-use")) {
        const holders = (await memoInstances(client)).instances.filter(
          (instance) =>
            LIVE_STATUSES.includes(instance.status) &&
            instance.file_system_names.includes(props.name as string),
        );
        throw new Error(
          `Filesystem "${props.name}" is still mounted by ${describeInstances(holders)}; terminate those instances first`,
        );
      }
      throw error;
    }
  },
};

export class LambdaFilesystem extends pulumi.dynamic.Resource {
  declare readonly filesystemId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly mountPoint: pulumi.Output<string>;

  constructor(name: string, args: LambdaFilesystemArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      lambdaFilesystemProvider,
      name,
      { name: args.name ?? name, region: args.region, filesystemId: undefined, mountPoint: undefined },
      opts,
      "lambda",
      "Filesystem",
    );
  }
}
