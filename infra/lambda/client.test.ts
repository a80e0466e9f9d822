/** Client tier: pacing and retry arithmetic, typed errors, redaction, pagination, response parsing. */
import { createServer } from "http";
import { AddressInfo } from "net";
import { LambdaClient } from "./client";
import { LambdaApiError, LambdaResponseShapeError, classifyLambdaError } from "./errors";
import { apiCallStats, readyAtFor, reserveLaunchSlot, reserveRequestSlot, resetPacer } from "./pacer";
import { backoffDelayMs, parseRetryAfter } from "./retry";
import { TEST_API_KEY, startTestEmulator } from "../testing/emulatorHarness";

describe("pacer", () => {
  beforeEach(() => resetPacer());
  const settings = { requestIntervalMs: 1100, launchIntervalMs: 12200 };
  test("spaces requests by the request interval", () => {
    expect(reserveRequestSlot(0, settings)).toBe(0);
    expect(reserveRequestSlot(0, settings)).toBe(1100);
    expect(reserveRequestSlot(500, settings)).toBe(1700);
    expect(reserveRequestSlot(20000, settings)).toBe(0);
  });
  test("spaces launches by the launch interval without blocking other requests", () => {
    expect(reserveLaunchSlot(0, settings)).toBe(0);
    expect(reserveLaunchSlot(0, settings)).toBe(12200);
    expect(reserveLaunchSlot(0, settings)).toBe(24400);
    // Queued launches hold no general slots: a status poll still goes out at once.
    expect(reserveRequestSlot(0, settings)).toBe(0);
  });
  test("a request yields to a launch due within one request interval, and only to that", () => {
    const state = { nextRequestAt: 10_000, lastLaunchSentAt: 0, pendingLaunchSlots: [12_200] };
    // Sent at 10 000 it would hold the request slot until 11 100: the launch (due 12 200) is free.
    expect(readyAtFor("request", 10_000, state, settings)).toBe(10_000);
    // Sent at 11 500 it would hold it until 12 600, past the launch's turn: it goes after the launch.
    expect(readyAtFor("request", 11_500, { ...state, nextRequestAt: 11_500 }, settings)).toBe(13_300);
    // The launch itself goes at its turn, as soon as the request slot is free.
    expect(readyAtFor("launch", 11_500, { ...state, nextRequestAt: 11_500 }, settings)).toBe(12_200);
    // A launch sent late moves the next one's turn: the request judges by that turn.
    expect(
      readyAtFor(
        "request",
        20_500,
        { nextRequestAt: 20_500, lastLaunchSentAt: 9_000, pendingLaunchSlots: [20_500] },
        settings,
      ),
    ).toBe(21_200 + 1_100);
    expect(
      readyAtFor(
        "request",
        20_000,
        { nextRequestAt: 20_000, lastLaunchSentAt: 0, pendingLaunchSlots: [] },
        settings,
      ),
    ).toBe(20_000);
  });
});

describe("retry policy", () => {
  const settings = { maxAttempts: 7, baseDelayMs: 1000, maxDelayMs: 60000 };
  test("exponential with equal jitter, capped", () => {
    expect(backoffDelayMs(1, settings, undefined, () => 0)).toBe(500);
    expect(backoffDelayMs(1, settings, undefined, () => 1)).toBe(1000);
    expect(backoffDelayMs(4, settings, undefined, () => 0)).toBe(4000);
    expect(backoffDelayMs(12, settings, undefined, () => 1)).toBe(60000);
  });
  test("Retry-After wins, plus at most 10 % jitter", () => {
    expect(backoffDelayMs(1, settings, 3, () => 0)).toBe(3000);
    expect(backoffDelayMs(1, settings, 3, () => 1)).toBe(3300);
    expect(parseRetryAfter("7")).toBe(7);
    expect(parseRetryAfter("Wed, 25 Nov 2026 08:00:10 GMT", Date.parse("2026-11-25T08:00:00Z"))).toBe(10);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
  test("errors are classified by code, never by message", () => {
    expect(classifyLambdaError("instance-operations/launch/insufficient-capacity", 400)).toBe(
      "insufficient-capacity",
    );
    expect(classifyLambdaError("provider/internal-unavailable", 503)).toBe("provider");
    expect(classifyLambdaError("firewall-rulesets/firewall-ruleset-in-use", 400)).toBe("in-use");
    expect(classifyLambdaError(undefined, 429)).toBe("rate-limited");
    expect(classifyLambdaError(undefined, 502)).toBe("server");
    expect(classifyLambdaError("global/quota-exceeded", 400)).toBe("quota-exceeded");
  });
});

describe("client against the emulator", () => {
  test("definitive rejections are not retried and are typed", async () => {
    const emulator = await startTestEmulator();
    try {
      const client = new LambdaClient();
      const error = await client.getInstance("missing").catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(LambdaApiError);
      expect((error as LambdaApiError).kind).toBe("not-found");
      expect((error as LambdaApiError).message).toBe(
        "Lambda API getInstance failed: global/object-does-not-exist (HTTP 404): Specified instance does not exist. Check the instance ID.",
      );
      expect(emulator.stats().byOperation.getInstance).toBe(1);
    } finally {
      await emulator.close();
    }
  });

  test("audit events follow page_token to the last page", async () => {
    const emulator = await startTestEmulator({ auditPageSize: 2 });
    try {
      const client = new LambdaClient();
      for (const name of ["a", "b", "c", "d", "e"]) await client.addSshKey(name, "ssh-ed25519 AAAAC3Nza x");
      const events = await client.listAuditEvents();
      expect(events.map((event) => event.action)).toEqual(Array(5).fill("ssh_key.create"));
      expect(emulator.stats().byOperation.getAuditEvents).toBe(3);
    } finally {
      await emulator.close();
    }
  });

  test("a 429 storm with Retry-After is waited out and counted", async () => {
    const emulator = await startTestEmulator({ fail429: 2, retryAfterSeconds: 0 });
    try {
      resetPacer();
      expect(await new LambdaClient().listSshKeys()).toEqual([]);
      expect(apiCallStats().rateLimited).toBe(2);
      expect(emulator.stats().rateLimited).toBe(2);
    } finally {
      await emulator.close();
    }
  });
});

describe("the API key never leaks", () => {
  test("a network failure names the URL, not the key, and carries no request config", async () => {
    process.env.LAMBDA_RETRY_ATTEMPTS = "2";
    const client = new LambdaClient({ apiUrl: "http://127.0.0.1:9", apiKey: "secret-key-abcdef" });
    const error = (await client.listInstances().catch((thrown: unknown) => thrown)) as LambdaApiError;
    delete process.env.LAMBDA_RETRY_ATTEMPTS;
    expect(error.kind).toBe("network");
    expect(error.message).toBe(
      "Lambda API listInstances failed after 2 attempts: network: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:9 (http://127.0.0.1:9)",
    );
    for (const text of [error.message, String(error.stack), JSON.stringify(error)])
      expect(text).not.toContain("secret-key-abcdef");
  });

  test("a server that echoes the key has it redacted; a malformed body names the field", async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url?.includes("ssh-keys") ? 200 : 400, { "content-type": "application/json" });
      if (req.url?.includes("ssh-keys")) res.end(JSON.stringify({ data: [{ id: "k1", name: "ops" }] }));
      else
        res.end(
          JSON.stringify({
            error: { code: "global/invalid-parameters", message: `bad header ${req.headers.authorization}` },
          }),
        );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new LambdaClient({ apiUrl: url, apiKey: "secret-key-abcdef" });
      const error = (await client.listInstances().catch((thrown: unknown) => thrown)) as Error;
      expect(error.message).toBe(
        "Lambda API listInstances failed: global/invalid-parameters (HTTP 400): bad header Bearer [REDACTED]",
      );
      const shape = await client.listSshKeys().catch((thrown: unknown) => thrown);
      expect(shape).toBeInstanceOf(LambdaResponseShapeError);
      expect((shape as Error).message).toBe(
        "Lambda API listSSHKeys: unexpected response, field 0.public_key: Invalid input: expected string, received undefined",
      );
    } finally {
      server.close();
    }
  });

  test("a malformed body whose field names echo the key has it redacted, in an error and in a listing", async () => {
    // zod names a record's keys in its problems, and the keys are the server's choice.
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const echo = String(req.headers.authorization).replace("Bearer ", "");
      if (req.url?.includes("instance-types")) res.end(JSON.stringify({ data: { [echo]: {} } }));
      else res.end(JSON.stringify({ data: [{ id: "i-1", name: "odd", [echo]: 1, status: 7 }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new LambdaClient({ apiUrl: url, apiKey: "secret-key-abcdef" });
      const shape = (await client.listInstanceTypes().catch((thrown: unknown) => thrown)) as Error;
      expect(shape).toBeInstanceOf(LambdaResponseShapeError);
      expect(shape.message).toMatch(
        /^Lambda API listInstanceTypes: unexpected response, field \[REDACTED\]\./,
      );
      expect(shape.message).not.toContain("secret-key-abcdef");
      const listing = await client.listInstancesChecked();
      expect(listing.unreadable.map((entry) => entry.id)).toEqual(["i-1"]);
      expect(JSON.stringify(listing)).not.toContain("secret-key-abcdef");
    } finally {
      server.close();
    }
  });
});

test("a server that echoes the key base64-, URL- or hex-encoded has every form redacted", async () => {
  // A key with characters that URL-encoding changes; the server echoes what it received in the
  // encodings a proxy or framework might use in an error body.
  const key = "secret_orch/k3y+a1b2c3d4=";
  const server = createServer((req, res) => {
    const header = req.headers.authorization ?? "";
    const echoed = [
      `header64=${Buffer.from(header).toString("base64")}`,
      `basic=${Buffer.from(`${key}:`).toString("base64")}`,
      `key64url=${Buffer.from(key).toString("base64url")}`,
      `url=${encodeURIComponent(key)}`,
      `hex=${Buffer.from(key).toString("hex").toUpperCase()}`,
      `json=${JSON.stringify({ token: key }).replace(/\//g, "\\/")}`,
    ].join(" ");
    res.writeHead(400, { "content-type": "application/json" });
    // The key list's error puts the echo in the code, which the message prints too.
    const code = req.url?.includes("ssh-keys") ? `echo/${key}` : "global/invalid-parameters";
    res.end(JSON.stringify({ error: { code, message: echoed, suggestion: `retry ${echoed}` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const error = (await new LambdaClient({ apiUrl: url, apiKey: key })
      .listInstances()
      .catch((thrown: unknown) => thrown)) as LambdaApiError;
    const forms = [
      key,
      Buffer.from(key).toString("base64").slice(0, 32),
      Buffer.from(`Bearer ${key}`).toString("base64").slice(12, 40),
      Buffer.from(`${key}:`).toString("base64").slice(0, 32),
      Buffer.from(key).toString("base64url").slice(0, 32),
      encodeURIComponent(key),
      Buffer.from(key).toString("hex"),
      Buffer.from(key).toString("hex").toUpperCase(),
      key.replace(/\//g, "\\/"),
    ];
    for (const text of [error.message, String(error.stack), JSON.stringify(error)])
      for (const form of forms) expect([form, text.includes(form)]).toEqual([form, false]);
    // What is left of a base64 form is "Bearer " and the 1-2 characters that mix the key's first
    // or last bits with a neighbour's (or the padding).
    const echoedRedacted =
      'header64=QmVhcmVyIH[REDACTED]0= basic=[REDACTED]To= key64url=[REDACTED]Q url=[REDACTED] hex=[REDACTED] json={"token":"[REDACTED]"}';
    expect(error.message).toBe(
      `Lambda API listInstances failed: global/invalid-parameters (HTTP 400): ${echoedRedacted} retry ${echoedRedacted}`,
    );
    const coded = (await new LambdaClient({ apiUrl: url, apiKey: key })
      .listSshKeys()
      .catch((thrown: unknown) => thrown)) as LambdaApiError;
    expect([coded.code, coded.message]).toEqual([
      "echo/[REDACTED]",
      `Lambda API listSSHKeys failed: echo/[REDACTED] (HTTP 400): ${echoedRedacted} retry ${echoedRedacted}`,
    ]);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("the emulator refuses every other key", async () => {
  const emulator = await startTestEmulator();
  try {
    const error = (await new LambdaClient({ apiKey: `${TEST_API_KEY}x` })
      .listInstances()
      .catch((thrown: unknown) => thrown)) as LambdaApiError;
    expect(error.kind).toBe("invalid-api-key");
  } finally {
    await emulator.close();
  }
});
