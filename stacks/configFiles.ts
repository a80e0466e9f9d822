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
import { engineConfigText, readRawConfig } from "./configRead";

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

/** Plain values of a committed stack file as the program sees them (see stackValuesFromText). */
export function stackValues(stack: string): Record<string, unknown> {
  return stackValuesFromText(readStackFileText(stack));
}

/**
 * Plain values of a stack file's text as the engine hands them to the program: project defaults
 * under the stack's own values, each turned into the text the engine stores (engineConfigText),
 * then read back by the program's own readRawConfig. So a quoted `"true"` or `"2222"` means here
 * what it means under `pulumi up`. @throws Error for a value the engine could not store.
 */
export function stackValuesFromText(text: string): Record<string, unknown> {
  const file = yaml.load(text) as { config?: Record<string, unknown> } | undefined;
  const texts = new Map<string, string>();
  for (const [key, declared] of Object.entries(readProjectConfig())) {
    if ("default" in declared && !(SECRET_KEYS as readonly string[]).includes(key))
      texts.set(key, engineConfigText(declared.default, `orchestra:${key}`));
  }
  for (const [key, value] of Object.entries(file?.config ?? {}))
    texts.set(key.replace(/^orchestra:/, ""), engineConfigText(value, key));
  return readRawConfig((key) => texts.get(key));
}
