/**
 * Composition only: load config -> build the layer -> export outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, readSecrets } from "./stacks/config";
import { buildLayer } from "./stacks/layer";

const config = loadStackConfig();
const secrets = readSecrets(config);
// The cost gate goes here, between config load and the layer (`const cost = ...`), so an
// over-budget change fails at preview before anything is created.

const built = buildLayer(`orchestra-${pulumi.getStack()}`, config, secrets, {
  stackTag: `${pulumi.getProject()}/${pulumi.getStack()}`,
});
const fleetNodes = built.fleet?.nodes ?? {};

export const layer = config.layer;
export const apiUrl = built.apiUrl;
export const frontendUrl = built.frontendUrl;
export const mcpEndpoints = built.mcpEndpoints;
/** The node table: where each node landed, what it costs and how to reach it. */
export const nodes = Object.fromEntries(
  Object.entries(fleetNodes).map(([key, node]) => [
    key,
    {
      instanceId: node.instanceId,
      ip: node.ip,
      privateIp: node.privateIp,
      region: node.region,
      instanceType: node.instanceType,
      hourlyPriceUsd: node.hourlyPriceUsd,
      ssh: node.sshCommand,
      expiresAt: node.expiresAt,
    },
  ]),
);
export const fleetHourlyUsd = pulumi
  .all(Object.values(fleetNodes).map((node) => node.hourlyPriceUsd))
  .apply((prices) => Math.round(prices.reduce((sum, price) => sum + price, 0) * 100) / 100);
export const nodeReadiness = built.fleet?.readiness ?? {};
// Connection strings carry passwords: secrets (built as secrets; pulumi.secret again is a no-op guard).
export const databaseUrl = built.databaseUrl === undefined ? undefined : pulumi.secret(built.databaseUrl);
export const redisUrl = built.redisUrl === undefined ? undefined : pulumi.secret(built.redisUrl);
export const weaviateUrl = built.weaviateUrl === undefined ? undefined : pulumi.secret(built.weaviateUrl);
export const healthGate = built.gate?.report;
// costReport: the cost issue exports the report here (`export const costReport = cost.report`).
