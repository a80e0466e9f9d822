/**
 * LambdaInstance `check`: the pure checks (instanceInputs.ts), then what only the API knows, so
 * that a bad instance type, a filesystem that does not exist (or is in another region), or an
 * image family or id that is not offered fails at preview with the fix, not at launch.
 *
 * - Values still unknown during preview are not looked up.
 * - Without an API key (a preview on a machine without the secret) only the form is checked;
 *   `create` stops with the no-key error before it launches anything.
 * - An API error is thrown as it is (a `LambdaApiError`, key redacted): the check could not run.
 * - A value the last deployment already had (same as `olds`, with the same regions) is not looked up
 *   again: Lambda accepted it then, and a no-change `preview --refresh` must cost one listing per
 *   resource kind and one price list, not a type, image and filesystem look-up on top (the price
 *   list is the program's cost gate, in another process, so it cannot be shared with this one).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Image } from "../lambda/schemas";
import { pinnedRegions } from "../launchRules";
import { lambdaApiKeyConfigured } from "../lambda/settings";
import { isUnknown, lambdaClient, stableJson } from "./common";
import { InstanceInputs, validateInstanceInputs } from "./instanceInputs";
import { memoFilesystems, memoImages, memoInstanceTypes } from "./listingMemo";

function knownStrings(value: unknown): string[] | undefined {
  return Array.isArray(value) && !isUnknown(value) && value.every((item) => typeof item === "string")
    ? value
    : undefined;
}

function knownString(value: unknown): string | undefined {
  return typeof value === "string" && !isUnknown(value) ? value : undefined;
}

/** True when every key has the value the last deployment had (never true on a create: no olds). */
function unchanged(olds: Record<string, unknown>, news: Record<string, unknown>, keys: string[]): boolean {
  return Object.keys(olds).length > 0 && keys.every((key) => stableJson(olds[key]) === stableJson(news[key]));
}

export async function checkInstance(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Promise<pulumi.dynamic.CheckResult> {
  const inputs = news as Partial<InstanceInputs>;
  const failures = validateInstanceInputs(inputs);
  if (!lambdaApiKeyConfigured()) return { inputs: news, failures };
  const client = lambdaClient();
  const regions = knownStrings(inputs.regions);

  const instanceType = knownString(inputs.instanceType);
  if (instanceType !== undefined && !unchanged(olds, news, ["instanceType"])) {
    const types = await memoInstanceTypes(client);
    if (types[instanceType] === undefined) {
      failures.push({
        property: "instanceType",
        reason: `instance type "${instanceType}" does not exist on Lambda; valid types: ${Object.keys(types).sort().join(", ")}`,
      });
    }
  }

  const fsNames = knownStrings(inputs.fileSystemNames);
  if (fsNames !== undefined && fsNames.length > 0 && !unchanged(olds, news, ["fileSystemNames", "regions"])) {
    const filesystems = await memoFilesystems(client);
    for (const fsName of fsNames) {
      const fs = filesystems.find((candidate) => candidate.name === fsName);
      if (fs === undefined) {
        const existing = filesystems.map((candidate) => `${candidate.name} (${candidate.region.name})`);
        failures.push({
          property: "fileSystemNames",
          reason: `filesystem "${fsName}" does not exist in the Lambda account; existing: ${existing.join(", ") || "none"}. Fix the name, or create it first (a LambdaFilesystem resource, or the fleet's \`filesystem\` config)`,
        });
      } else if (regions !== undefined && pinnedRegions(regions, fs.region.name).length === 0) {
        failures.push({
          property: "fileSystemNames",
          reason: `filesystem "${fsName}" is in ${fs.region.name}, but regions is [${regions.join(", ")}]; a filesystem attaches only to instances in its own region: set regions to ["${fs.region.name}"] or use a filesystem in ${regions[0]}`,
        });
      }
    }
  }

  const imageFamily = knownString(inputs.imageFamily);
  const imageId = knownString(inputs.imageId);
  if (
    (imageFamily !== undefined || imageId !== undefined) &&
    !unchanged(olds, news, ["imageFamily", "imageId", "regions"])
  ) {
    const images = await memoImages(client);
    const failure =
      imageFamily !== undefined
        ? checkImageFamily(images, imageFamily, regions)
        : checkImageId(images, imageId as string, regions);
    if (failure !== undefined) failures.push(failure);
  }
  return { inputs: news, failures };
}

/**
 * The regions to judge an image by: the listed ones Lambda lists any image in (a region with no
 * images at all says nothing about this one), or every region when `regions` is not known yet.
 */
function regionsWithImages(images: Image[], regions: string[] | undefined): string[] {
  const listed = [...new Set(images.map((image) => image.region.name))];
  return regions === undefined ? listed : regions.filter((region) => listed.includes(region));
}

function familiesIn(images: Image[], regions: string[]): string[] {
  const families = images.filter((image) => regions.includes(image.region.name)).map((image) => image.family);
  return [...new Set(families)].sort();
}

function checkImageFamily(
  images: Image[],
  family: string,
  regions: string[] | undefined,
): pulumi.dynamic.CheckFailure | undefined {
  const judged = regionsWithImages(images, regions);
  const offeredIn = judged.filter((region) =>
    images.some((image) => image.family === family && image.region.name === region),
  );
  const missing = judged.filter((region) => !offeredIn.includes(region));
  if (missing.length === 0) return undefined;
  if (offeredIn.length === 0) {
    return {
      property: "imageFamily",
      reason: `image family "${family}" is not offered in ${judged.join(", ")}; families offered there: ${familiesIn(images, judged).join(", ")}`,
    };
  }
  const everywhere = familiesIn(images, judged).filter((candidate) =>
    judged.every((region) =>
      images.some((image) => image.family === candidate && image.region.name === region),
    ),
  );
  return {
    property: "imageFamily",
    reason: `image family "${family}" is offered in ${offeredIn.join(", ")} but not in ${missing.join(", ")}; drop those regions, or choose a family offered in all of them: ${everywhere.join(", ") || "none"}`,
  };
}

function checkImageId(
  images: Image[],
  id: string,
  regions: string[] | undefined,
): pulumi.dynamic.CheckFailure | undefined {
  const judged = regionsWithImages(images, regions);
  const offeredIn = images.filter((image) => image.id === id).map((image) => image.region.name);
  const missing = judged.filter((region) => !offeredIn.includes(region));
  if (offeredIn.length === 0) {
    return {
      property: "imageId",
      reason: `image id "${id}" does not exist on Lambda; set imageFamily instead (families offered in ${judged.join(", ")}: ${familiesIn(images, judged).join(", ")})`,
    };
  }
  if (missing.length === 0 || regions === undefined) return undefined;
  return {
    property: "imageId",
    reason: `image id "${id}" is offered only in ${offeredIn.join(", ")}, not in ${missing.join(", ")} (an image id belongs to one region); list only ${offeredIn.join(", ")} in regions, or set imageFamily instead`,
  };
}
