/**
 * Test support for the engine tier: turns a stack's exported deployment into the one the program
 * wrote before the `Layer` component existed, when the Layer's children sat at the stack root.
 * Importing it and previewing with today's program shows what a stack deployed by the old
 * program plans now (the Layer's aliases must make every old resource a `same`).
 *
 * A URN is `urn:pulumi:<stack>::<project>::<parent types $ type>::<name>`; the stack's own type is
 * not in the chain, so a root child's qualified type is its own type alone.
 */

/** The parts of `pulumi stack export` this rewrite reads and writes. */
export interface ExportedDeployment {
  readonly version: number;
  readonly deployment: {
    readonly resources: ExportedResource[];
    readonly [key: string]: unknown;
  };
}

export interface ExportedResource {
  readonly urn: string;
  readonly type: string;
  readonly parent?: string;
  readonly dependencies?: string[];
  readonly provider?: string;
  readonly propertyDependencies?: Record<string, string[]>;
  readonly [key: string]: unknown;
}

/**
 * The deployment with the component of type `componentType` removed and each of its children
 * moved to the stack root (their URNs, and every reference to them, rewritten). Throws when the
 * deployment has no such component or more than one.
 */
export function withoutComponent(exported: ExportedDeployment, componentType: string): ExportedDeployment {
  const resources = exported.deployment.resources;
  const components = resources.filter((resource) => resource.type === componentType);
  if (components.length !== 1)
    throw new Error(`expected one ${componentType} in the deployment, found ${components.length}`);
  const componentUrn = components[0].urn;
  const stackUrn = resources.find((resource) => resource.type === "pulumi:pulumi:Stack")?.urn;
  if (stackUrn === undefined) throw new Error("the deployment has no pulumi:pulumi:Stack resource");
  const hoisted = `::${componentType}$`;
  const rewrite = (text: string) => text.split(hoisted).join("::");
  const rewriteRef = (ref: string) => (ref === componentUrn ? stackUrn : rewrite(ref));
  return {
    ...exported,
    deployment: {
      ...exported.deployment,
      resources: resources
        .filter((resource) => resource.urn !== componentUrn)
        .map((resource) => ({
          ...resource,
          urn: rewrite(resource.urn),
          ...(resource.parent !== undefined ? { parent: rewriteRef(resource.parent) } : {}),
          ...(resource.provider !== undefined ? { provider: rewrite(resource.provider) } : {}),
          ...(resource.dependencies !== undefined
            ? { dependencies: resource.dependencies.filter((urn) => urn !== componentUrn).map(rewrite) }
            : {}),
          ...(resource.propertyDependencies !== undefined
            ? {
                propertyDependencies: Object.fromEntries(
                  Object.entries(resource.propertyDependencies).map(([key, urns]) => [
                    key,
                    urns.filter((urn) => urn !== componentUrn).map(rewrite),
                  ]),
                ),
              }
            : {}),
        })),
    },
  };
}
