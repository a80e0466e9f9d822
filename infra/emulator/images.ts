/** The emulated account's images: every image family of the catalog in every stocked region. */
import { DEFAULT_IMAGE_FAMILY, EMULATED_IMAGE_FAMILIES } from "./catalog";
import type { EmulatorOptions } from "./options";
import { regionObject } from "./wireFormat";

/** When every emulated image was published (fixed, so listings compare equal across runs). */
const IMAGES_CREATED = "2026-01-15T00:00:00.000Z";

export class Images {
  constructor(private readonly options: EmulatorOptions) {}

  /** `GET /api/v1/images`: ids are `img-<family>-<region>`. */
  list(): unknown[] {
    return this.options.stockedRegions.flatMap((region) =>
      EMULATED_IMAGE_FAMILIES.map((image) => ({
        id: `img-${image.family}-${region}`,
        created_time: IMAGES_CREATED,
        updated_time: IMAGES_CREATED,
        name: image.name,
        description: `${image.name}${image.family === DEFAULT_IMAGE_FAMILY ? " (default)" : ""}`,
        family: image.family,
        version: image.version,
        architecture: image.architecture,
        region: regionObject(region),
      })),
    );
  }

  /** Whether a launch's `image` (`{ id }` or `{ family }`) names an image in `region`. */
  exists(image: unknown, region: string): boolean {
    const spec = image as { id?: string; family?: string };
    return this.list().some((candidate) => {
      const c = candidate as { id: string; family: string; region: { name: string } };
      return c.region.name === region && (c.id === spec.id || c.family === spec.family);
    });
  }
}
