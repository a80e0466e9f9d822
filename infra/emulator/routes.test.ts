/** The emulator's router against the shared operation table. */
import { LAMBDA_OPERATIONS, LambdaOperationId, operationPath } from "../lambda/operations";
import type { EmulatedAccount } from "./account";
import { matchRoute } from "./routes";

test("every operation of the table routes to itself, `global` included", () => {
  const routed = (Object.keys(LAMBDA_OPERATIONS) as LambdaOperationId[]).map((operation) => {
    const path = operationPath(operation, { id: "0920abcd" });
    return [operation, matchRoute(LAMBDA_OPERATIONS[operation].method, path)?.operation];
  });
  expect(routed.filter(([operation, match]) => operation !== match)).toEqual([]);
  expect(matchRoute("GET", "/api/v1/firewall-rulesets/global")?.operation).toBe("getGlobalFirewallRuleset");
  expect(matchRoute("GET", "/api/v1/firewall-rulesets/globalx")?.operation).toBe("getFirewallRuleset");
});

test("only the launch is a launch", () => {
  expect(matchRoute("POST", "/api/v1/instance-operations/launch")?.isLaunch).toBe(true);
  expect(matchRoute("POST", "/api/v1/instance-operations/restart")?.isLaunch).toBe(false);
});

test("no route for another method, a longer path, or an empty parameter", () => {
  expect(matchRoute("PUT", "/api/v1/instances")).toBeUndefined();
  expect(matchRoute("GET", "/api/v1/instances/a/b")).toBeUndefined();
  expect(matchRoute("GET", "/api/v1/instances/")).toBeUndefined();
  expect(matchRoute(undefined, "/api/v1/instances")).toBeUndefined();
});

test("path parameters reach the handler decoded, by name", () => {
  const account = { instances: { get: (id: string) => `got ${id}` } } as unknown as EmulatedAccount;
  const route = matchRoute("GET", "/api/v1/instances/a%20b%2Fc");
  expect(route?.run(account, {}, new URLSearchParams())).toBe("got a b/c");
});
