/**
 * Pure tier: no planner binds or routes to an empty address. Docker reads an empty host address as
 * every interface, so a node that reported no private IP must fail the deploy, not publish the stores.
 */
import { planAppServices, type AppServicesSettings } from "./appServicesPlan";
import {
  dockerCpus,
  envSecretProblem,
  renderFileSecrets,
  requireAddress,
  substituteAddresses,
} from "./containerSpec";
import { planDataServices } from "./dataServicesPlan";
import { DEFAULT_IMAGES } from "./serviceCatalog";

const EMPTY =
  "is an empty address; Docker would publish on every interface and a URL to it reaches nothing. " +
  "Give the address to bind or reach (the node's private IP, or 127.0.0.1 locally); for a Lambda node, run `pulumi refresh` and check its privateIp output.";

const appSettings: AppServicesSettings = {
  environment: "staging",
  stores: ["postgres"],
  mcpServers: ["memory"],
  images: DEFAULT_IMAGES,
  ports: { api: 8000, frontend: 3000, postgres: 5432, "mcp-memory": 8003 },
  dataHost: "{dataHost}",
  publicBindAddress: "0.0.0.0",
  privateBindAddress: "{privateIp}",
};

test("the data stores' planner refuses an empty bind address", () => {
  const settings = { stores: ["postgres" as const], images: DEFAULT_IMAGES, ports: {}, bindAddress: "" };
  expect(() => planDataServices("data", settings)).toThrow(`DataServices data: bindAddress ${EMPTY}`);
  expect(planDataServices("data", { ...settings, bindAddress: "{privateIp}" }).containers[0].ports).toEqual([
    { internal: 5432, external: 5432, hostIp: "{privateIp}" },
  ]);
});

test("the app planner refuses an empty or blank bind address or data host", () => {
  expect(() => planAppServices("app", { ...appSettings, privateBindAddress: "" })).toThrow(
    `AppServices app: privateBindAddress ${EMPTY}`,
  );
  expect(() => planAppServices("app", { ...appSettings, publicBindAddress: " " })).toThrow(
    `AppServices app: publicBindAddress ${EMPTY}`,
  );
  expect(() => planAppServices("app", { ...appSettings, dataHost: "" })).toThrow(
    `AppServices app: dataHost ${EMPTY}`,
  );
});

test("an address placeholder filled with an empty value fails, in a port binding and in a URL", () => {
  expect(substituteAddresses("{privateIp}", { "{privateIp}": "10.19.0.7" })).toBe("10.19.0.7");
  expect(() => substituteAddresses("{privateIp}", { "{privateIp}": "" })).toThrow(
    `{privateIp} in "{privateIp}" ${EMPTY}`,
  );
  const template = "postgresql://orchestra:{databasePassword}@{dataHost}:5432/orchestra";
  expect(() => substituteAddresses(template, { "{dataHost}": "", "{privateIp}": "10.19.0.7" })).toThrow(
    `{dataHost} in "${template}" ${EMPTY}`,
  );
  // A placeholder the text does not use is not checked.
  expect(substituteAddresses("0.0.0.0", { "{privateIp}": "" })).toBe("0.0.0.0");
  expect(requireAddress("127.0.0.1", "bind")).toBe("127.0.0.1");
});

test("CPUs are spelled as the Docker provider reads them back, so cpus (force-new) never diffs", () => {
  expect([2, 1, 0.5, 1.5, 0.25, 16].map(dockerCpus)).toEqual(["2.0", "1.0", "0.5", "1.5", "0.25", "16.0"]);
});

describe("renderFileSecrets: a secret in a configuration file", () => {
  const content = "url: {secret:alertWebhookUrl}\n";

  test("a file that is only the placeholder is the bare value (trimmed); inside other text, a JSON string", () => {
    expect(renderFileSecrets("{secret:redisPassword}", { redisPassword: 'p"w\\\n' })).toBe('p"w\\');
    expect(renderFileSecrets(" {secret:redisPassword}", { redisPassword: "p" })).toBe(' "p"');
  });

  test("is written as a JSON string, whatever it holds", () => {
    expect(renderFileSecrets(content, { alertWebhookUrl: 'https://h.example.test/a?b="c"&d=\\e' })).toBe(
      'url: "https://h.example.test/a?b=\\"c\\"&d=\\\\e"\n',
    );
  });

  test("a webhook URL that is not one is refused without repeating it", () => {
    const refused = (value: string) => {
      try {
        renderFileSecrets(content, { alertWebhookUrl: value });
      } catch (error) {
        const message = (error as Error).message;
        expect(message.includes(value.trim())).toBe(false);
        return message;
      }
      throw new Error("accepted");
    };
    const fix = "set it with `pulumi config set --secret alertWebhookUrl < url-file`";
    const noHost = `orchestra:alertWebhookUrl must start with http:// or https:// and a host name (its value is not shown); ${fix}`;
    // What Go's net/url (Alertmanager's parser) refuses, though a browser's URL would take it.
    for (const value of [
      "hooks-secret-token",
      "admin:Sup3rS3cret@hooks.example.test/x",
      "ftp://hooks.example.test/secret-token",
      "https:///hooks.example.test/secret-token",
      "https:hooks.example.test/secret-token",
      "https://:8080/secret-token",
      "https://h.example.test\\secret-token",
    ])
      expect([value, refused(value)]).toEqual([value, noHost]);
    for (const value of ["https://h.example.test/a\u0001secret", "https://h.example.test/a\u007fsecret"])
      expect([value, refused(value)]).toEqual([
        value,
        `orchestra:alertWebhookUrl contains a control character (its value is not shown); ${fix}`,
      ]);
    expect(refused("https://h.example.test/%zzsecret")).toBe(
      `orchestra:alertWebhookUrl has a "%" that is not followed by two hex digits (its value is not shown); ${fix}`,
    );
    expect(
      renderFileSecrets(content, { alertWebhookUrl: "https://user:pw@h.example.test:8443/p%20q?a=b#c" }),
    ).toBe('url: "https://user:pw@h.example.test:8443/p%20q?a=b#c"\n');
    expect(renderFileSecrets(content, { alertWebhookUrl: " https://h.example.test/t\n" })).toBe(
      'url: "https://h.example.test/t"\n',
    );
    expect(refused("https://hooks.example.test/secret token")).toBe(
      `orchestra:alertWebhookUrl contains white space or a line break (its value is not shown); ${fix}`,
    );
  });

  test("an unknown or missing secret names the placeholder only", () => {
    expect(() => renderFileSecrets("{secret:nope}", {})).toThrow(
      "unknown secret placeholder {secret:nope} in a container file",
    );
    expect(() => renderFileSecrets(content, {})).toThrow(
      "no value for {secret:alertWebhookUrl} in a container file",
    );
  });
});

describe("renderFileSecrets: the backup encryption key", () => {
  test("an age identity is written as is; anything else is refused without repeating it", () => {
    const identity = `AGE-SECRET-KEY-1${"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".repeat(2).slice(0, 58)}`;
    expect(renderFileSecrets("{secret:backupEncryptionKey}", { backupEncryptionKey: identity })).toBe(
      identity,
    );
    for (const bad of [
      "correct horse battery staple",
      identity.toLowerCase(),
      `${identity}Q`,
      identity.replace("Q", "B"),
    ])
      expect(() => renderFileSecrets("{secret:backupEncryptionKey}", { backupEncryptionKey: bad })).toThrow(
        new Error(
          "orchestra:backupEncryptionKey is not an age identity (AGE-SECRET-KEY-1 and 58 characters; its value is not shown); make one with `age-keygen 2>/dev/null | grep '^AGE-SECRET-KEY-1' | pulumi config set --secret backupEncryptionKey` and keep a copy outside the stack: without it no backup can be read",
        ),
      );
  });
});

describe("envSecretProblem: a store's secret as an environment value", () => {
  test.each([
    ["redisPassword", "p4ss word", undefined],
    ["weaviateApiKey", "k-1", undefined],
    [
      "redisPassword",
      "p4ss\n",
      "has white space or a line break at its start or end (its value is not shown); set it again without: `printf '%s' '<value>' | pulumi config set --secret redisPassword`",
    ],
    [
      "databasePassword",
      " p4ss",
      "has white space or a line break at its start or end (its value is not shown); set it again without: `printf '%s' '<value>' | pulumi config set --secret databasePassword`",
    ],
    [
      "weaviateApiKey",
      "k-1,k-2",
      "contains a comma, which Weaviate reads as two keys (its value is not shown); choose a key without commas",
    ],
    ["databasePassword", "a,b", undefined],
  ] as const)("%s %j", (name, value, problem) => {
    expect(envSecretProblem(name, value)).toBe(problem);
  });
});
