/**
 * The operation table against Lambda's OpenAPI 1.8.3 document (read from ../shared, never copied):
 * the same operations, ids, methods, path templates, path and query parameters.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { LAMBDA_OPERATIONS, LambdaOperation, operationPath } from "./operations";
import { lambdaSchemas } from "./schemas";

interface SpecParameter {
  readonly in: string;
  readonly name: string;
}
interface SpecOperation {
  readonly operationId: string;
  readonly parameters?: SpecParameter[];
}

const SPEC_PATH = join(__dirname, "..", "..", "..", "shared", "lambda-cloud", "openapi-1.8.3.json");
const spec = JSON.parse(readFileSync(SPEC_PATH, "utf8")) as {
  paths: Record<string, Record<string, SpecOperation>>;
};
const table: Record<string, LambdaOperation> = LAMBDA_OPERATIONS;

/** "operationId METHOD path path-params query-params", one line per operation, sorted. */
function lines(
  operations: { id: string; method: string; path: string; pathParams: string[]; query: string[] }[],
): string[] {
  return operations
    .map(
      ({ id, method, path, pathParams, query }) =>
        `${id} ${method} ${path} path:[${[...pathParams].sort().join(",")}] query:[${[...query].sort().join(",")}]`,
    )
    .sort();
}

test("the table holds exactly the document's operations, ids, methods, paths and parameters", () => {
  const documented = Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const parameters = operation.parameters ?? [];
      const named = (where: string) => parameters.filter((p) => p.in === where).map((p) => p.name);
      return {
        id: operation.operationId,
        method: method.toUpperCase(),
        path,
        pathParams: named("path"),
        query: named("query"),
      };
    }),
  );
  const ours = Object.entries(table).map(([id, operation]) => ({
    id,
    method: operation.method,
    path: operation.path,
    pathParams: [...operation.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]),
    query: [...(operation.query ?? [])],
  }));
  expect(lines(ours)).toEqual(lines(documented));
  expect(ours).toHaveLength(24);
});

test("every operation names a response schema that exists", () => {
  const schemas = lambdaSchemas();
  const missing = Object.entries(table).filter(([, operation]) => !(operation.response in schemas));
  expect(missing).toEqual([]);
});

test("only the launch counts against the launch limit", () => {
  const launches = Object.entries(table).filter(([, operation]) => operation.kind === "launch");
  expect(launches.map(([id]) => id)).toEqual(["launchInstance"]);
});

test("operationPath fills and encodes path parameters, and names a missing one", () => {
  expect(operationPath("listInstances")).toBe("/api/v1/instances");
  expect(operationPath("getInstance", { id: "a b/c" })).toBe("/api/v1/instances/a%20b%2Fc");
  expect(operationPath("getGlobalFirewallRuleset")).toBe("/api/v1/firewall-rulesets/global");
  expect(() => operationPath("deleteSSHKey")).toThrow("deleteSSHKey: path parameter id is missing");
});

test("the table is plain data, as closure serialization needs: a JSON round trip keeps it whole", () => {
  expect(JSON.parse(JSON.stringify(LAMBDA_OPERATIONS))).toEqual(LAMBDA_OPERATIONS);
});
