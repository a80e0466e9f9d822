/**
 * The budget gate: live prices from the emulator, the snapshot fallback labelled, a RunError (no
 * stack trace at preview) over budget, and the diff against the stack's own last `costReport`
 * read through a StackReference (mocked here; the engine tier runs it on the file backend).
 */
import * as pulumi from "@pulumi/pulumi";
import type { RunningEmulator } from "../infra/emulator/server";
import { snapshotPriceBook } from "../infra/pricing/priceBook";
import { startTestEmulator, TEST_API_KEY, unsetEnv } from "../infra/testing/emulatorHarness";
import { validateStackConfig } from "./config";
import { costReportForStack, costReportOutput, priceStackConfig } from "./costGate";
import { priceStack } from "./costPlan";
import { loadStack, revealForGate } from "./loadStack";

const staging = {
  layer: "staging",
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops",
  allowedCidrs: ["203.0.113.0/24"],
  nodes: {
    app: { role: "app", instanceType: "gpu_1x_a10", regions: ["us-west-1"] },
    "gpu-a": { role: "gpu", instanceType: "gpu_1x_a100_sxm4", regions: ["us-west-1"] },
  },
  // Off, so the topology can be priced as any layer (a bucket is refused where backups do not run).
  backup: { enabled: false },
  monthlyBudgetUsd: 3000,
};

let previousReport: unknown;
let referenced: string[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        if (args.type === "pulumi:pulumi:StackReference") {
          referenced.push(args.inputs.name as string);
          const outputs = previousReport === undefined ? {} : { costReport: previousReport };
          return { id: args.inputs.name as string, state: { name: args.inputs.name, outputs } };
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "orchestra",
    "staging",
    false,
    "organization",
  );
});

describe("pricing a stack", () => {
  let emulator: RunningEmulator;
  beforeEach(async () => {
    emulator = await startTestEmulator();
  });
  afterEach(async () => {
    await emulator.close();
  });

  test("live from the API when a key is at hand: the emulator's prices times the fleet", async () => {
    const priced = await priceStackConfig(validateStackConfig(staging), { apiUrl: emulator.url });
    expect(priced.fallbackReason).toBeUndefined();
    expect(priced.report.priceSource).toBe("lambda-api");
    expect(priced.report.totalHourlyUsd).toBe(3.28);
    expect(priced.report.totalMonthlyUsd).toBe(2394.4);
    expect(emulator.stats().byOperation.listInstanceTypes).toBe(1);
  });

  test("without a key: the snapshot and the reason", async () => {
    unsetEnv("LAMBDA_API_KEY");
    const priced = await priceStackConfig(validateStackConfig(staging), { apiUrl: emulator.url });
    expect(priced.fallbackReason).toBe("no Lambda API key to ask");
    expect(priced.report.priceSource).toBe("snapshot");
  });

  test("a layer without nodes never asks the API and has nothing to warn about", async () => {
    const local = validateStackConfig({ ...staging, layer: "local", nodes: {} });
    const priced = await priceStackConfig(local, { apiUrl: emulator.url });
    expect(priced).toEqual({ report: priceStack(local, snapshotPriceBook()) });
    expect(emulator.stats().byOperation.listInstanceTypes).toBeUndefined();
  });
});

describe("the API key from stack config", () => {
  let emulator: RunningEmulator;
  beforeEach(async () => {
    emulator = await startTestEmulator();
    unsetEnv("LAMBDA_API_KEY");
  });
  afterEach(async () => {
    pulumi.runtime.setAllConfig({});
    jest.restoreAllMocks();
    await emulator.close();
  });

  /** The stack's config as the engine hands it to the program, lambdaApiKey a secret. */
  function setStackConfig(apiKey: string): void {
    pulumi.runtime.setAllConfig(
      {
        "orchestra:layer": "staging",
        "orchestra:sshPublicKey": staging.sshPublicKey,
        "orchestra:allowedCidrs": JSON.stringify(staging.allowedCidrs),
        "orchestra:nodes": JSON.stringify(staging.nodes),
        "orchestra:monthlyBudgetUsd": "5000",
        "orchestra:lambdaApiUrl": emulator.url,
        // Fleet only: no store secrets to supply.
        "orchestra:deployContainers": "false",
        "orchestra:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----test",
        "orchestra:lambdaApiKey": apiKey,
      },
      ["orchestra:sshPrivateKey", "orchestra:lambdaApiKey"],
    );
  }

  test("is read once with the rest of the config and prices live, and the config never carries it", async () => {
    setStackConfig(TEST_API_KEY);
    const stack = loadStack();
    const apiKey = stack.lambda.apiKey;
    expect(apiKey === undefined ? false : await pulumi.isSecret(apiKey)).toBe(true);
    expect(apiKey === undefined ? undefined : await revealForGate(apiKey)).toBe(TEST_API_KEY);
    expect(JSON.stringify(stack.config)).not.toContain(TEST_API_KEY);
    const report = await costReportForStack(stack.config, stack.lambda);
    expect([report.priceSource, report.status, report.totalMonthlyUsd]).toEqual(["lambda-api", "OK", 2394.4]);
    expect(JSON.stringify(report)).not.toContain(TEST_API_KEY);
    expect(emulator.stats().byOperation.listInstanceTypes).toBe(1);
  });

  test("bad config reaches the engine as a RunError: its message alone, no stack trace, no repeated problems", () => {
    setStackConfig(TEST_API_KEY);
    pulumi.runtime.setConfig("orchestra:ttlHours", "1e12");
    let thrown: unknown;
    try {
      loadStack();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(pulumi.RunError);
    expect((thrown as Error).message.split("\n")[0]).toBe("Stack config has 1 problem:");
    expect(Object.keys(thrown as object)).not.toContain("problems");
  });

  test("a rejected key falls back to the snapshot with a warning that never shows the key", async () => {
    setStackConfig("wrong-key-31337");
    const warnings: string[] = [];
    jest.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => {
      warnings.push(message);
    });
    const stack = loadStack();
    const report = await costReportForStack(stack.config, stack.lambda);
    expect(report.priceSource).toBe("snapshot");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Cost: priced from the price snapshot dated 2026-11-25 because /);
    expect(warnings[0]).not.toContain("wrong-key-31337");
  });
});

describe("the gate", () => {
  beforeEach(() => unsetEnv("LAMBDA_API_KEY"));

  test("over budget: a RunError carrying the full failure message", async () => {
    const failure = await costReportForStack(
      validateStackConfig({ ...staging, monthlyBudgetUsd: 1000 }),
    ).catch((error: unknown) => error);
    expect(pulumi.RunError.isInstance(failure)).toBe(true);
    expect((failure as Error).message).toMatch(
      /^Projected cost \$2,394\.40\/month \(730 h\) is 239\.44% of the monthly budget \$1,000\.00; deployments fail at 100%\. Prices: the price snapshot dated 2026-11-25\.\nTop cost items:\n {2}1\. gpu-a \(gpu_1x_a100_sxm4, us-west-1\): \$1,452\.70\/month, \$1\.99\/h\n/,
    );
  });

  test("an unpriced type is a RunError naming the fix", async () => {
    const config = validateStackConfig({ ...staging, prices: { gpu_9x_new: 9 } });
    const mutated = {
      ...config,
      fleet: { ...config.fleet, nodes: [{ ...config.fleet.nodes[0], instanceType: "gpu_9x_other" }] },
    };
    const failure = await costReportForStack(mutated).catch((error: unknown) => error);
    expect(pulumi.RunError.isInstance(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/^No price for instance type "gpu_9x_other" \(used by app\)/);
  });

  test("under budget: the report", async () => {
    const report = await costReportForStack(validateStackConfig({ ...staging, monthlyBudgetUsd: 5000 }));
    expect([report.status, report.totalMonthlyUsd]).toEqual(["OK", 2394.4]);
  });

  test("the override passes and the reason is in the report", async () => {
    const report = await costReportForStack(
      validateStackConfig({
        ...staging,
        monthlyBudgetUsd: 1000,
        budgetOverride: true,
        budgetOverrideReason: "demo day",
      }),
    );
    expect([report.status, report.budget.overrideReason]).toEqual(["OVER_BUDGET", "demo day"]);
  });
});

describe("the diff against the last deployment", () => {
  const report = priceStack(validateStackConfig(staging), snapshotPriceBook());

  beforeEach(() => {
    referenced = [];
  });

  test("reads the stack's own costReport and diffs against it", async () => {
    previousReport = priceStack(
      validateStackConfig({ ...staging, nodes: { app: staging.nodes.app } }),
      snapshotPriceBook(),
    );
    const diffed = await new Promise((resolve) =>
      costReportOutput(report, { project: "orchestra", stack: "staging" }).apply(resolve),
    );
    expect(referenced).toEqual(["organization/orchestra/staging"]);
    expect(diffed).toMatchObject({
      diffMonthlyUsd: 1452.7,
      rows: [
        { name: "app", diffMonthlyUsd: 0 },
        { name: "gpu-a", diffMonthlyUsd: 1452.7 },
      ],
    });
  });

  test("a first deployment (no previous output) has no diff", async () => {
    previousReport = undefined;
    const plain = await new Promise((resolve) =>
      costReportOutput(report, { project: "orchestra", stack: "staging" }).apply(resolve),
    );
    expect(plain).toEqual(report);
  });
});
