/**
 * The health gate's check commands in a stack's state, so a deploy can replace them: the gate
 * (components/healthGate.ts) runs when a container is created or replaced, and a deploy that
 * changes no container would otherwise keep the last report without checking anything. Pure.
 */
import { HEALTH_GATE_TYPE } from "../../components/healthGate";

/** A resource of `pulumi stack export`'s `deployment.resources`, as far as this reads it. */
export interface ExportedResource {
  readonly urn: string;
  readonly custom?: boolean;
}

/**
 * The URNs of the custom resources whose parent is a HealthGate component. A URN's third `::`
 * part is the type chain, parents first, joined by `$`
 * (`orchestra:stack:Layer$orchestra:services:HealthGate$command:remote:Command`).
 */
export function healthGateCheckUrns(resources: readonly ExportedResource[]): string[] {
  return resources
    .filter((resource) => resource.custom === true)
    .filter((resource) => {
      const chain = (resource.urn.split("::")[2] ?? "").split("$");
      return chain.length >= 2 && chain[chain.length - 2] === HEALTH_GATE_TYPE;
    })
    .map((resource) => resource.urn);
}
