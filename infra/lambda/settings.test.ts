/** Pure tier: where the Lambda API is; plain http only to loopback, so the key never travels in clear. */
import { forgetConfiguredSettings, resolveLambdaSettings } from "./settings";

afterEach(() => forgetConfiguredSettings());

test("an http:// API URL other than loopback is refused before any request carries the key", () => {
  expect(() => resolveLambdaSettings({ apiUrl: "http://cloud.lambda.ai", apiKey: "k" })).toThrow(
    'Lambda API URL "http://cloud.lambda.ai": plain http:// would send the Lambda API key in clear text; use https://, or http:// only to a loopback address (127.0.0.0/8, localhost, [::1]) such as the local emulator; set LAMBDA_API_URL or lambdaApiUrl to e.g. https://cloud.lambda.ai',
  );
  expect(() => resolveLambdaSettings({ apiUrl: "http://192.168.1.20:8080", apiKey: "k" })).toThrow(
    'Lambda API URL "http://192.168.1.20:8080": plain http://',
  );
});

test("a URL with credentials is refused without repeating the password", () => {
  let message = "";
  try {
    resolveLambdaSettings({ apiUrl: "https://ops:hunter2@cloud.lambda.ai", apiKey: "k" });
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toBe(
    'Lambda API URL "https://***@cloud.lambda.ai": must not carry a user name or password (URLs are stored and logged in plain text); the API key goes in `pulumi config set --secret lambdaApiKey <key>`; set LAMBDA_API_URL or lambdaApiUrl to e.g. https://cloud.lambda.ai',
  );
});

test("https anywhere and http to loopback are accepted (the emulator listens on loopback)", () => {
  for (const apiUrl of [
    "https://cloud.lambda.ai/",
    "http://127.0.0.1:18787",
    "http://localhost:1",
    "http://[::1]:2",
  ])
    expect(resolveLambdaSettings({ apiUrl, apiKey: "k" }).apiUrl).toBe(apiUrl.replace(/\/$/, ""));
});

test("every form of user info is masked whole: a token as the user name, a password holding @", () => {
  for (const [apiUrl, shown] of [
    ["https://tok_abc123@cloud.lambda.ai", "https://***@cloud.lambda.ai"],
    ["https://u:p@ss@cloud.lambda.ai/api", "https://***@cloud.lambda.ai/api"],
    ["https://ops:hunter2@cloud.lambda.ai:443", "https://***@cloud.lambda.ai:443"],
  ]) {
    const message = (() => {
      try {
        resolveLambdaSettings({ apiUrl, apiKey: "k" });
        return "(no error)";
      } catch (error) {
        return (error as Error).message;
      }
    })();
    const prefix = `Lambda API URL "${shown}": must not carry a user name or password`;
    expect(message.slice(0, prefix.length)).toBe(prefix);
  }
});

test("an empty query or fragment is refused: the API paths would be appended after it", () => {
  for (const apiUrl of ["https://cloud.lambda.ai?", "https://cloud.lambda.ai/#"])
    expect(() => resolveLambdaSettings({ apiUrl, apiKey: "k" })).toThrow(
      `Lambda API URL "${apiUrl}": must be an https:// URL such as https://cloud.lambda.ai, without a query or fragment`,
    );
});
