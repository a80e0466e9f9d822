import { secretEnvName, secretsFromEnv } from "./stackSecrets";

test("each secret config key has the environment variable a workflow passes it in", () => {
  expect(
    [
      "lambdaApiKey",
      "sshPrivateKey",
      "databasePassword",
      "redisPassword",
      "weaviateApiKey",
      "alertWebhookUrl",
      "backupAccessKeyId",
      "backupSecretAccessKey",
      "backupEncryptionKey",
    ].map((key) => secretEnvName(key as Parameters<typeof secretEnvName>[0])),
  ).toEqual([
    "LAMBDA_API_KEY",
    "SSH_PRIVATE_KEY",
    "DATABASE_PASSWORD",
    "REDIS_PASSWORD",
    "WEAVIATE_API_KEY",
    "ALERT_WEBHOOK_URL",
    "BACKUP_ACCESS_KEY_ID",
    "BACKUP_SECRET_ACCESS_KEY",
    "BACKUP_ENCRYPTION_KEY",
  ]);
});

test("only the secrets set and non-empty are taken, in SECRET_KEYS order", () => {
  expect(
    secretsFromEnv({ REDIS_PASSWORD: "r", DATABASE_PASSWORD: "d", WEAVIATE_API_KEY: "", HOME: "/root" }),
  ).toEqual([
    { key: "databasePassword", value: "d" },
    { key: "redisPassword", value: "r" },
  ]);
});
