/**
 * The emulated account's filesystems: listed at `GET /api/v1/file-systems`, created and deleted at
 * `/api/v1/filesystems` (1.8.3's paths). One in use by a live instance cannot be deleted.
 */
import { PUBLIC_REGION_CODES } from "../lambda/schemas";
import { ApiFailure, invalid, notFound } from "./apiFailure";
import type { AuditLog } from "./auditLog";
import { isoTime, randomHex, regionObject } from "./wireFormat";

export interface StoredFilesystem {
  id: string;
  name: string;
  region: string;
  created: string;
}

const EMULATOR_USER = { id: "emulator-user", email: "operator@example.com", status: "active" as const };

export class Filesystems {
  private readonly filesystems = new Map<string, StoredFilesystem>();

  /** `usersOf(name)`: ids of the live instances that mount the filesystem of that name. */
  constructor(
    private readonly now: () => number,
    private readonly audit: AuditLog,
    private readonly usersOf: (name: string) => string[],
  ) {}

  private render(fs: StoredFilesystem): Record<string, unknown> {
    return {
      id: fs.id,
      name: fs.name,
      mount_point: `/lambda/nfs/${fs.name}`,
      created: fs.created,
      created_by: EMULATOR_USER,
      is_in_use: this.usersOf(fs.name).length > 0,
      region: regionObject(fs.region),
      bytes_used: 0,
    };
  }

  findByName(name: string): StoredFilesystem | undefined {
    return [...this.filesystems.values()].find((fs) => fs.name === name);
  }

  list(): unknown[] {
    return [...this.filesystems.values()].map((fs) => this.render(fs));
  }

  /** `{ name, region }`; throws invalid-parameters or `global/duplicate` for a name already taken. */
  create(body: Record<string, unknown>): Record<string, unknown> {
    const { name, region } = body;
    if (typeof name !== "string" || !/^[a-zA-Z]+[0-9a-zA-Z-]*$/.test(name) || name.length > 60) {
      throw invalid("name must match ^[a-zA-Z]+[0-9a-zA-Z-]*$ and be at most 60 characters.");
    }
    if (typeof region !== "string" || !(PUBLIC_REGION_CODES as readonly string[]).includes(region))
      throw invalid(`Region ${String(region)} does not exist.`);
    if (this.findByName(name) !== undefined) {
      throw new ApiFailure(
        400,
        "global/duplicate",
        `A filesystem named ${name} already exists.`,
        "Choose another name.",
      );
    }
    const fs = { id: randomHex(16), name, region, created: isoTime(this.now()) };
    this.filesystems.set(fs.id, fs);
    this.audit.record("filesystem.create", fs.id);
    return this.render(fs);
  }

  delete(id: string): Record<string, unknown> {
    const fs = this.filesystems.get(id);
    if (fs === undefined) throw notFound("Filesystem was not found.", "Check the filesystem ID.");
    if (this.usersOf(fs.name).length > 0) {
      throw new ApiFailure(
        400,
        "filesystems/filesystem-in-use",
        "Filesystem is in use by one or more instances.",
        "Terminate the instances that use it first.",
      );
    }
    this.filesystems.delete(id);
    this.audit.record("filesystem.delete", id);
    return { deleted_ids: [id] };
  }
}
