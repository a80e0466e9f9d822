/**
 * Provider tier: LambdaInstance `check` refuses, at preview, what Lambda would refuse only at
 * launch (a filesystem, image family or image id that does not exist; list inputs that are not
 * lists), tolerates the preview placeholder, and without an API key checks the form alone.
 */
import { LambdaClient } from "../lambda/client";
import type { RunningEmulator } from "../emulator/server";
import { serializeProvider, type SerializedProvider } from "../testing/serializedProvider";
import { pointClientAt, startTestEmulator, unsetEnv } from "../testing/emulatorHarness";
import { UNKNOWN } from "./common";
import { lambdaInstanceProvider } from "./instanceProvider";
import { instanceInputs } from "../testing/instanceFixtures";

let emulator: RunningEmulator;
let provider: SerializedProvider["provider"];
let client: LambdaClient;

function inputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return instanceInputs({ tags: {}, ...overrides });
}

async function reasons(news: Record<string, unknown>): Promise<string[]> {
  const result = await provider.check({}, news);
  return (result.failures ?? []).map((failure) => `${failure.property}: ${failure.reason}`);
}

beforeAll(async () => {
  ({ provider } = await serializeProvider(lambdaInstanceProvider));
});
beforeEach(async () => {
  emulator = await startTestEmulator();
  client = new LambdaClient();
});
afterEach(() => emulator.close());

test("a filesystem that does not exist is refused at check, naming the ones that do", async () => {
  await client.createFilesystem("models", "us-west-1");
  expect(await reasons(inputs({ regions: ["us-west-1"], fileSystemNames: ["modles"] }))).toEqual([
    'fileSystemNames: filesystem "modles" does not exist in the Lambda account; existing: models (us-west-1). Fix the name, or create it first (a LambdaFilesystem resource, or the fleet\'s `filesystem` config)',
  ]);
  expect(await reasons(inputs({ regions: ["us-west-1"], fileSystemNames: ["models"] }))).toEqual([]);
  expect(emulator.stats().launchesAccepted).toBe(0);
});

test("an unknown image family is refused at check with the families offered in those regions", async () => {
  expect(await reasons(inputs({ imageFamily: "lambda-stack-99-04" }))).toEqual([
    'imageFamily: image family "lambda-stack-99-04" is not offered in us-west-1, us-east-1; families offered there: lambda-stack-22-04, lambda-stack-24-04, ubuntu-24-04',
  ]);
  expect(await reasons(inputs({ imageFamily: "lambda-stack-22-04" }))).toEqual([]);
});

test("an image id that does not exist in every listed region is refused at check", async () => {
  expect(await reasons(inputs({ imageId: "img-lambda-stack-24-04-us-west-1" }))).toEqual([
    'imageId: image id "img-lambda-stack-24-04-us-west-1" is offered only in us-west-1, not in us-east-1 (an image id belongs to one region); list only us-west-1 in regions, or set imageFamily instead',
  ]);
  expect(await reasons(inputs({ imageId: "img-missing" }))).toEqual([
    'imageId: image id "img-missing" does not exist on Lambda; set imageFamily instead (families offered in us-west-1, us-east-1: lambda-stack-22-04, lambda-stack-24-04, ubuntu-24-04)',
  ]);
  expect(
    await reasons(inputs({ regions: ["us-west-1"], imageId: "img-lambda-stack-24-04-us-west-1" })),
  ).toEqual([]);
});

test("list inputs that are not lists are refused by name, not with a TypeError", async () => {
  expect(
    await reasons(
      inputs({ regions: "us-west-1", sshKeyNames: "ops", fileSystemNames: "models", tags: "a=b" }),
    ),
  ).toEqual([
    'regions: regions must be a list of region names, e.g. ["us-west-1"], got "us-west-1"',
    'sshKeyNames: sshKeyNames must be a list with one SSH key name, e.g. ["ops"], got "ops"',
    'fileSystemNames: fileSystemNames must be a list of filesystem names, e.g. ["models"], got "models"',
    'tags: tags must be a map of tag key to string value, e.g. {"team": "ml"}, got "a=b"',
  ]);
});

test("unknown values during preview are not looked up", async () => {
  expect(
    await reasons(inputs({ fileSystemNames: [UNKNOWN], imageFamily: UNKNOWN, imageId: undefined })),
  ).toEqual([]);
  expect(emulator.stats().byOperation.listFilesystems).toBeUndefined();
  expect(emulator.stats().byOperation.listImages).toBeUndefined();
});

test("without an API key, check still refuses bad forms and skips the lookups", async () => {
  unsetEnv("LAMBDA_API_KEY");
  try {
    expect(
      await reasons(
        inputs({ instanceType: "gpu_9x_imaginary", fileSystemNames: ["nope"], hostname: "Bad_Host" }),
      ),
    ).toEqual([
      'hostname: hostname "Bad_Host" must match ^[a-z0-9][0-9a-z-]{0,62}$ (lowercase letters, digits and hyphens, at most 63, not starting with a hyphen)',
    ]);
    expect(emulator.stats().requests).toBe(0);
  } finally {
    pointClientAt(emulator.url);
  }
});
