/**
 * Composition only: load config -> build the layer -> export outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { GpuFleet } from "./components/gpuFleet";
import { loadStackConfig, readSecrets } from "./stacks/config";

const config = loadStackConfig();
const secrets = readSecrets(config);

const fleet = new GpuFleet(`orchestra-${pulumi.getStack()}`, {
  settings: config.fleet,
  sshPublicKey: config.ssh.publicKey,
  sshPrivateKey: secrets.sshPrivateKey ?? "",
  sshUser: config.ssh.user,
  sshPort: config.ssh.port,
  readinessChecks: config.readinessChecks,
  remoteCommandRunner: config.remoteCommandRunner,
  tags: { "orchestra-layer": config.layer },
});

const firstNode = Object.values(fleet.nodes)[0];

export const layer = config.layer;
export const nodes = Object.fromEntries(
  Object.entries(fleet.nodes).map(([key, node]) => [
    key,
    {
      instanceId: node.instanceId,
      ip: node.ip,
      privateIp: node.privateIp,
      region: node.region,
      instanceType: node.instanceType,
      hourlyPriceUsd: node.hourlyPriceUsd,
      ssh: node.sshCommand,
    },
  ]),
);
export const fleetHourlyUsd = pulumi
  .all(Object.values(fleet.nodes).map((node) => node.hourlyPriceUsd))
  .apply((prices) => Math.round(prices.reduce((sum, price) => sum + price, 0) * 100) / 100);
export const nodeReadiness = fleet.readiness;
export const apiUrl = firstNode === undefined ? undefined : pulumi.interpolate`http://${firstNode.ip}:8000`;
export const databaseUrl = pulumi.secret(
  pulumi.interpolate`postgresql://orchestra:${secrets.databasePassword}@${firstNode?.privateIp ?? "localhost"}:5432/orchestra`,
);
