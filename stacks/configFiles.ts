/**
 * Test support (pure tier and mocks): reads Pulumi.yaml and the committed Pulumi.<layer>.yaml
 * files the way the engine hands them to the program: project defaults under the stack's own
 * values, `orchestra:` stripped. Secrets are never in these files; tests supply their own.
 */
import { readFileSync } from "fs";
// js-yaml is a direct dependency (package.json), shared with `npm run cost -- --from-config`.
import * as yaml from "js-yaml";
import { join } from "path";
import { SECRET_KEYS } from "./configSchema";

export interface DeclaredKey {
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly secret?: boolean;
}

export const PROJECT_ROOT = join(__dirname, "..");

export function readProjectConfig(): Record<string, DeclaredKey> {
  const project = yaml.load(readFileSync(join(PROJECT_ROOT, "Pulumi.yaml"), "utf8")) as {
    config: Record<string, DeclaredKey>;
  };
  return project.config;
}

export function readStackFileText(stack: string): string {
  return readFileSync(join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8");
}

/** Plain values of a stack as the program sees them ("" defaults mean "not set" and are left out). */
export function stackValues(stack: string): Record<string, unknown> {
  const file = yaml.load(readStackFileText(stack)) as { config: Record<string, unknown> };
  const values: Record<string, unknown> = {};
  for (const [key, declared] of Object.entries(readProjectConfig())) {
    if ("default" in declared && declared.default !== "" && !(SECRET_KEYS as readonly string[]).includes(key))
      values[key] = declared.default;
  }
  for (const [key, value] of Object.entries(file.config)) values[key.replace(/^orchestra:/, "")] = value;
  return values;
}
