/**
 * The engine tier's sandbox: the sandbox sshd, an emulator with Lambda's limits scaled down
 * ten-fold, an ssh-agent holding the sandbox key (Docker's ssh reads keys from an agent), and an
 * EngineStack (Automation API) from Pulumi.sandbox.yaml with random secrets. One per test file; `close` stops what
 * it started (an operator's own sshd stays).
 */
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import { readFileSync } from "fs";
import * as yaml from "js-yaml";
import type { StackSettings } from "@pulumi/pulumi/automation";
import type { RunningEmulator } from "../emulator/server";
import { startEmulator } from "../emulator/server";
import { LambdaClient } from "../lambda/client";
import { EngineStack } from "./engineStack";
import { buildToolchain, PROJECT_ROOT } from "./toolchain";
import { SSH_PORT, startSandboxSshd, stopSandboxSshd } from "./sandboxSshd";
import { startTestAgent, type TestAgent } from "./sshAgent";

/** The stack's secrets, random per run, so a test can search state and logs for each. */
export interface SandboxSecrets {
  readonly lambdaApiKey: string;
  readonly databasePassword: string;
  readonly redisPassword: string;
  readonly weaviateApiKey: string;
}

export interface SandboxFixture {
  readonly emulator: RunningEmulator;
  readonly client: LambdaClient;
  readonly stack: EngineStack;
  readonly agent: TestAgent;
  readonly keyPath: string;
  readonly secrets: SandboxSecrets;
  close(): Promise<void>;
}

const random = (prefix: string) => `${prefix}-${randomBytes(16).toString("hex")}`;

/**
 * The engine tier's emulator: every instance is this machine's sshd (loopback addresses), short
 * boots, and Lambda's limits kept on but scaled down ten-fold so the pacer is exercised through the
 * engine (the program's pacer gets LAMBDA_REQUEST_INTERVAL_MS 150 and LAMBDA_LAUNCH_INTERVAL_MS 1300).
 */
export function startSandboxEmulator(apiKey: string): Promise<RunningEmulator> {
  return startEmulator({
    port: 0,
    apiKey,
    ipMode: "loopback",
    bootDelayMs: 1500,
    terminateDelayMs: 300,
    requestIntervalMs: 100,
    launchIntervalMs: 1200,
    quiet: true,
  });
}

export async function startSandboxFixture(
  stackName: string,
  options: { deployContainers: boolean },
): Promise<SandboxFixture> {
  const toolchain = buildToolchain();
  // The nodes' containers need the Docker engine and the stand-in images (a no-op when built);
  // first, so the engine's docker group exists when the sshd script adds the sandbox user to it.
  if (options.deployContainers)
    execFileSync("bash", [`${PROJECT_ROOT}/scripts/standin-images/build.sh`], {
      stdio: ["ignore", "ignore", "inherit"],
    });
  const sshd = startSandboxSshd();
  const secrets: SandboxSecrets = {
    lambdaApiKey: random("lambda-e2e"),
    databasePassword: random("db"),
    redisPassword: random("redis"),
    weaviateApiKey: random("weaviate"),
  };
  const emulator = await startSandboxEmulator(secrets.lambdaApiKey);
  const agent = await startTestAgent();
  agent.add(sshd.keyPath);
  let stack: EngineStack | undefined;
  const close = async () => {
    await stack?.stopAll();
    stack?.removeSettingsFile();
    await emulator.close();
    await agent.stop();
    if (sshd.started) stopSandboxSshd();
  };
  try {
    stack = await EngineStack.create({
      name: stackName,
      workDir: PROJECT_ROOT,
      settings: yaml.load(readFileSync(`${PROJECT_ROOT}/Pulumi.sandbox.yaml`, "utf8")) as StackSettings,
      toolchain,
      env: {
        LAMBDA_REQUEST_INTERVAL_MS: "150",
        LAMBDA_LAUNCH_INTERVAL_MS: "1300",
        SSH_AUTH_SOCK: agent.socket,
      },
    });
    await stack.setConfig("lambdaApiUrl", emulator.url);
    if (SSH_PORT !== 2222) await stack.setConfig("sshPort", String(SSH_PORT), { path: true });
    if (!options.deployContainers) await stack.setConfig("deployContainers", "false");
    await stack.setConfig("lambdaApiKey", secrets.lambdaApiKey, { secret: true });
    await stack.setConfig("databasePassword", secrets.databasePassword, { secret: true });
    await stack.setConfig("redisPassword", secrets.redisPassword, { secret: true });
    await stack.setConfig("weaviateApiKey", secrets.weaviateApiKey, { secret: true });
    await stack.setConfig("sshPrivateKey", readFileSync(sshd.keyPath, "utf8"), { secret: true });
    await stack.setConfig("sshPublicKey", readFileSync(`${sshd.keyPath}.pub`, "utf8").trim());
  } catch (error) {
    await close();
    throw error;
  }
  return {
    emulator,
    client: new LambdaClient({ apiUrl: emulator.url, apiKey: secrets.lambdaApiKey }),
    stack,
    agent,
    keyPath: sshd.keyPath,
    secrets,
    close,
  };
}
