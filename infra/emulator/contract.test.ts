/**
 * Contract tier: every emulator response, success and error, validated against Lambda's OpenAPI
 * 1.8.3 document (read from ../shared, never copied into the project).
 */
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { readFileSync } from "fs";
import { join } from "path";
import { TEST_API_KEY, startTestEmulator } from "../testing/emulatorHarness";
import type { RunningEmulator } from "./server";

const SPEC_PATH = join(__dirname, "..", "..", "..", "shared", "lambda-cloud", "openapi-1.8.3.json");
const spec = JSON.parse(readFileSync(SPEC_PATH, "utf8")) as {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat("ipv4network", /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/);
ajv.addFormat("password", true);
ajv.addSchema({ ...spec, $id: "lambda-openapi" } as object);

const pointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

let emulator: RunningEmulator;
const checked = new Set<string>();

async function call(
  method: string,
  template: string,
  path: string,
  body?: unknown,
  key = TEST_API_KEY,
): Promise<{ status: number; json: { data?: unknown } }> {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as { data?: unknown };
  const operation = spec.paths[template]?.[method.toLowerCase()];
  if (operation === undefined) throw new Error(`${method} ${template} is not in the contract`);
  const declared = operation.responses[String(response.status)];
  if (declared === undefined)
    throw new Error(`${method} ${template} answered ${response.status}, which the contract does not declare`);
  const ref = `lambda-openapi#/paths/${pointer(template)}/${method.toLowerCase()}/responses/${response.status}/content/application~1json/schema`;
  const validate = ajv.getSchema(ref);
  if (validate === undefined) throw new Error(`no schema at ${ref}`);
  if (!validate(json))
    throw new Error(
      `${method} ${path} ${response.status} breaks the contract: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(json)}`,
    );
  checked.add(`${method} ${template} ${response.status}`);
  return { status: response.status, json };
}

beforeAll(async () => {
  emulator = await startTestEmulator({ auditPageSize: 2 });
});
afterAll(() => emulator.close());

test("every operation's responses match the OpenAPI document", async () => {
  const rule = {
    protocol: "tcp",
    port_range: [22, 22],
    source_network: "198.51.100.0/24",
    description: "ssh",
  };
  await call("GET", "/api/v1/instance-types", "/api/v1/instance-types");
  const key = await call("POST", "/api/v1/ssh-keys", "/api/v1/ssh-keys", {
    name: "ops",
    public_key: "ssh-ed25519 AAAAC3Nza ops",
  });
  await call("POST", "/api/v1/ssh-keys", "/api/v1/ssh-keys", { name: "generated" });
  await call("POST", "/api/v1/ssh-keys", "/api/v1/ssh-keys", {
    name: "ops",
    public_key: "ssh-ed25519 AAAAC3Nza ops",
  });
  await call("GET", "/api/v1/ssh-keys", "/api/v1/ssh-keys");
  const fs = await call("POST", "/api/v1/filesystems", "/api/v1/filesystems", {
    name: "models",
    region: "us-west-1",
  });
  await call("POST", "/api/v1/filesystems", "/api/v1/filesystems", { name: "models", region: "us-west-1" });
  await call("GET", "/api/v1/file-systems", "/api/v1/file-systems");
  const ruleset = await call("POST", "/api/v1/firewall-rulesets", "/api/v1/firewall-rulesets", {
    name: "fleet",
    region: "us-west-1",
    rules: [rule],
  });
  const rulesetId = (ruleset.json.data as { id: string }).id;
  await call("GET", "/api/v1/firewall-rulesets", "/api/v1/firewall-rulesets");
  await call("GET", "/api/v1/firewall-rulesets/{id}", `/api/v1/firewall-rulesets/${rulesetId}`);
  await call("PATCH", "/api/v1/firewall-rulesets/{id}", `/api/v1/firewall-rulesets/${rulesetId}`, {
    name: "fleet-2",
  });
  await call("GET", "/api/v1/firewall-rulesets/{id}", "/api/v1/firewall-rulesets/missing");
  await call("GET", "/api/v1/firewall-rulesets/global", "/api/v1/firewall-rulesets/global");
  await call("PATCH", "/api/v1/firewall-rulesets/global", "/api/v1/firewall-rulesets/global", {
    rules: [rule],
  });
  await call("GET", "/api/v1/firewall-rules", "/api/v1/firewall-rules");
  await call("PUT", "/api/v1/firewall-rules", "/api/v1/firewall-rules", { data: [rule] });
  await call("GET", "/api/v1/images", "/api/v1/images");

  const launchBody = {
    region_name: "us-west-1",
    instance_type_name: "gpu_1x_a10",
    ssh_key_names: ["ops"],
    file_system_names: ["models"],
    firewall_rulesets: [{ id: rulesetId }],
    name: "n1",
    tags: [{ key: "stack", value: "test" }],
  };
  const launched = await call(
    "POST",
    "/api/v1/instance-operations/launch",
    "/api/v1/instance-operations/launch",
    launchBody,
  );
  const id = (launched.json.data as { instance_ids: string[] }).instance_ids[0];
  await call("POST", "/api/v1/instance-operations/launch", "/api/v1/instance-operations/launch", {
    ...launchBody,
    ssh_key_names: ["ops", "generated"],
  });
  await call("POST", "/api/v1/instance-operations/launch", "/api/v1/instance-operations/launch", {
    ...launchBody,
    instance_type_name: "gpu_9x_none",
  });
  await call("POST", "/api/v1/instance-operations/launch", "/api/v1/instance-operations/launch", {
    ...launchBody,
    region_name: "us-east-1",
    firewall_rulesets: [],
  });
  await fetch(`${emulator.url}/_emulator/faults`, {
    method: "POST",
    body: JSON.stringify({ capacity: { "gpu_1x_a10@us-west-1": 1 } }),
  });
  const noCapacity = await call(
    "POST",
    "/api/v1/instance-operations/launch",
    "/api/v1/instance-operations/launch",
    launchBody,
  );
  expect(noCapacity.status).toBe(400);
  await call("GET", "/api/v1/instances", "/api/v1/instances");
  await call("GET", "/api/v1/instances/{id}", `/api/v1/instances/${id}`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await call("GET", "/api/v1/instances/{id}", `/api/v1/instances/${id}`);
  await call("POST", "/api/v1/instances/{id}", `/api/v1/instances/${id}`, { name: "renamed" });
  await call("POST", "/api/v1/instances/{id}", `/api/v1/instances/${id}`, { name: "x".repeat(65) });
  await call("POST", "/api/v1/instance-operations/restart", "/api/v1/instance-operations/restart", {
    instance_ids: [id],
  });
  await call(
    "DELETE",
    "/api/v1/filesystems/{id}",
    `/api/v1/filesystems/${(fs.json.data as { id: string }).id}`,
  );
  await call("DELETE", "/api/v1/firewall-rulesets/{id}", `/api/v1/firewall-rulesets/${rulesetId}`);
  await call("POST", "/api/v1/instance-operations/terminate", "/api/v1/instance-operations/terminate", {
    instance_ids: [id],
  });
  await call("POST", "/api/v1/instance-operations/terminate", "/api/v1/instance-operations/terminate", {
    instance_ids: ["0".repeat(32)],
  });
  await call("GET", "/api/v1/instances/{id}", `/api/v1/instances/${"0".repeat(32)}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await call(
    "DELETE",
    "/api/v1/filesystems/{id}",
    `/api/v1/filesystems/${(fs.json.data as { id: string }).id}`,
  );
  await call(
    "DELETE",
    "/api/v1/filesystems/{id}",
    `/api/v1/filesystems/${(fs.json.data as { id: string }).id}`,
  );
  await call("DELETE", "/api/v1/firewall-rulesets/{id}", `/api/v1/firewall-rulesets/${rulesetId}`);
  await call("DELETE", "/api/v1/firewall-rulesets/{id}", `/api/v1/firewall-rulesets/${rulesetId}`);
  await call("DELETE", "/api/v1/ssh-keys/{id}", `/api/v1/ssh-keys/${(key.json.data as { id: string }).id}`);
  await call("DELETE", "/api/v1/ssh-keys/{id}", "/api/v1/ssh-keys/missing");
  const page = await call("GET", "/api/v1/audit-events", "/api/v1/audit-events");
  await call(
    "GET",
    "/api/v1/audit-events",
    `/api/v1/audit-events?page_token=${(page.json.data as { page_token: string }).page_token}`,
  );
  await call("GET", "/api/v1/audit-events", "/api/v1/audit-events?start=yesterday");
  await call("GET", "/api/v1/instances", "/api/v1/instances", undefined, "wrong-key");

  // Every operation of the contract was exercised at least once.
  const operations = new Set([...checked].map((entry) => entry.split(" ").slice(0, 2).join(" ")));
  const declared = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
  expect(declared.filter((operation) => !operations.has(operation))).toEqual([]);
  // ...and the error answers a client branches on were validated too.
  for (const answer of [
    "POST /api/v1/instance-operations/launch 400",
    "POST /api/v1/instance-operations/launch 404",
    "POST /api/v1/instance-operations/terminate 404",
    "GET /api/v1/instances/{id} 404",
    "POST /api/v1/instances/{id} 400",
    "POST /api/v1/filesystems 400",
    "DELETE /api/v1/filesystems/{id} 400",
    "DELETE /api/v1/filesystems/{id} 404",
    "DELETE /api/v1/firewall-rulesets/{id} 400",
    "DELETE /api/v1/firewall-rulesets/{id} 404",
    "GET /api/v1/firewall-rulesets/{id} 404",
    "DELETE /api/v1/ssh-keys/{id} 400",
    "POST /api/v1/ssh-keys 400",
    "GET /api/v1/audit-events 400",
    "GET /api/v1/instances 401",
  ]) {
    expect(checked).toContain(answer);
  }
});

test("1.8.3 has no in-use refusal for SSH keys: deleting a key a live instance uses answers 200", async () => {
  // Only SPEC 1.5.3 listed `ssh-keys/key-in-use`; 1.8.3 declares one 400 for deleteSSHKey, and it is
  // invalid-parameters. Lambda copies the key into the instance at launch, so the instance keeps it.
  const responses = spec.paths["/api/v1/ssh-keys/{id}"].delete.responses as Record<
    string,
    { content: { "application/json": { schema: { properties: { error?: { $ref: string } } } } } }
  >;
  expect(Object.keys(responses).sort()).toEqual(["200", "400", "401", "403"]);
  expect(responses["400"].content["application/json"].schema.properties.error?.$ref).toBe(
    "#/components/schemas/ApiErrorInvalidParameters",
  );
  const key = await call("POST", "/api/v1/ssh-keys", "/api/v1/ssh-keys", {
    name: "in-use",
    public_key: "ssh-ed25519 AAAAC3Nza in-use",
  });
  const launched = await call(
    "POST",
    "/api/v1/instance-operations/launch",
    "/api/v1/instance-operations/launch",
    {
      region_name: "us-east-1",
      instance_type_name: "gpu_1x_a10",
      ssh_key_names: ["in-use"],
      name: "holder",
    },
  );
  const instanceId = (launched.json.data as { instance_ids: string[] }).instance_ids[0];
  const keyId = (key.json.data as { id: string }).id;
  expect((await call("DELETE", "/api/v1/ssh-keys/{id}", `/api/v1/ssh-keys/${keyId}`)).status).toBe(200);
  const instance = await call("GET", "/api/v1/instances/{id}", `/api/v1/instances/${instanceId}`);
  expect(instance.json.data).toMatchObject({ ssh_key_names: ["in-use"] });
});

test("/instance-types lists a region with capacity exactly while a launch of that type there is accepted", async () => {
  // Lambda's list is a hint the providers order launches by (launchOrder.ts): the emulator's must
  // change with every launch and termination, as Lambda's does, or the benchmark measures nothing.
  await fetch(`${emulator.url}/_emulator/faults`, {
    method: "POST",
    body: JSON.stringify({ capacity: { "gpu_1x_gh200@us-east-1": 1, "gpu_1x_gh200@us-west-1": 0 } }),
  });
  await call("POST", "/api/v1/ssh-keys", "/api/v1/ssh-keys", {
    name: "capacity",
    public_key: "ssh-ed25519 AAAAC3Nza capacity",
  });
  await fetch(`${emulator.url}/_emulator/stats`, { method: "DELETE" });
  const listed = async () => {
    const types = await call("GET", "/api/v1/instance-types", "/api/v1/instance-types");
    const data = types.json.data as Record<string, { regions_with_capacity_available: { name: string }[] }>;
    return data.gpu_1x_gh200.regions_with_capacity_available.map((region) => region.name);
  };
  const launch = async (region: string, name: string) => {
    const answer = await call(
      "POST",
      "/api/v1/instance-operations/launch",
      "/api/v1/instance-operations/launch",
      { region_name: region, instance_type_name: "gpu_1x_gh200", ssh_key_names: ["capacity"], name },
    );
    const json = answer.json as { data?: { instance_ids: string[] }; error?: { code: string } };
    return { status: answer.status, id: json.data?.instance_ids[0], code: json.error?.code };
  };

  expect(await listed()).toEqual(["europe-central-1", "us-east-1", "us-south-1"]);
  const accepted = await launch("us-east-1", "gh200-a");
  expect(accepted.status).toBe(200);
  expect(await listed()).toEqual(["europe-central-1", "us-south-1"]);
  const refused = [await launch("us-east-1", "gh200-b"), await launch("us-west-1", "gh200-c")];
  expect(refused.map((answer) => [answer.status, answer.code])).toEqual([
    [400, "instance-operations/launch/insufficient-capacity"],
    [400, "instance-operations/launch/insufficient-capacity"],
  ]);
  // Both refusals went where the last answer listed no capacity (the benchmark counts these).
  expect([emulator.stats().refusedForCapacity, emulator.stats().refusedWhereListedWithout]).toEqual([2, 2]);
  // A terminated instance gives its unit back: listed again once it is `terminated`, not before.
  await call("POST", "/api/v1/instance-operations/terminate", "/api/v1/instance-operations/terminate", {
    instance_ids: [accepted.id],
  });
  expect(await listed()).toEqual(["europe-central-1", "us-south-1"]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await listed()).toEqual(["europe-central-1", "us-east-1", "us-south-1"]);
  expect(await launch("us-east-1", "gh200-d")).toMatchObject({ status: 200 });
  expect(emulator.stats().refusedForCapacity).toBe(2);
});
