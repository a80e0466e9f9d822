/**
 * Test fixture: the smallest valid staging stack config (plain values, as the engine hands them
 * over), shared by the config tests so each shows only the keys it changes.
 */
export const validStagingConfig = {
  layer: "staging",
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops",
  allowedCidrs: ["203.0.113.0/24"],
  nodes: { app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] } },
  // Staging backs up by default: the bucket is required.
  backup: { region: "us-east-1", bucket: "orchestra-backups-staging" },
  monthlyBudgetUsd: 3000,
} as const;
