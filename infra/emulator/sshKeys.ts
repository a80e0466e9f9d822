/** The emulated account's SSH keys: `GET/POST /api/v1/ssh-keys`, `DELETE /api/v1/ssh-keys/{id}`. */
import { invalid } from "./apiFailure";
import type { AuditLog } from "./auditLog";
import { randomHex } from "./wireFormat";

interface StoredSshKey {
  id: string;
  name: string;
  public_key: string;
}

export class SshKeys {
  private readonly keys = new Map<string, StoredSshKey>();

  constructor(private readonly audit: AuditLog) {}

  list(): unknown[] {
    return [...this.keys.values()];
  }

  hasName(name: string): boolean {
    return [...this.keys.values()].some((key) => key.name === name);
  }

  /**
   * Adds `{ name, public_key? }`. Without a public key the emulator "generates" a pair and returns
   * a placeholder private key once, as Lambda does. Throws invalid-parameters for a bad name or key
   * or a name already taken.
   */
  add(body: Record<string, unknown>): Record<string, unknown> {
    const { name, public_key: publicKey } = body;
    if (typeof name !== "string" || name.length < 1 || name.length > 64)
      throw invalid("name must be 1 to 64 characters.");
    if (
      publicKey !== undefined &&
      (typeof publicKey !== "string" ||
        !/^(ssh-(rsa|ed25519)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+/.test(publicKey))
    ) {
      throw invalid("public_key is not a valid OpenSSH public key.");
    }
    if (this.hasName(name)) throw invalid("SSH key name must be unique.");
    const id = randomHex(16);
    const key = {
      id,
      name,
      public_key:
        (publicKey as string | undefined) ?? `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA${randomHex(16)} generated`,
    };
    this.keys.set(id, key);
    this.audit.record("ssh_key.create", id);
    return publicKey === undefined
      ? {
          ...key,
          private_key: "-----BEGIN OPENSSH PRIVATE KEY-----\nemulated\n-----END OPENSSH PRIVATE KEY-----\n",
        }
      : key;
  }

  /** Deletes a key (1.8.3: even one a live instance uses; the instance keeps its copy). */
  delete(id: string): Record<string, never> {
    if (!this.keys.delete(id)) throw invalid(`SSH key ${id} does not exist.`);
    this.audit.record("ssh_key.delete", id);
    return {};
  }
}
