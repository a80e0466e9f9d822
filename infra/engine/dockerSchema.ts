/**
 * Compares what the pinned @pulumi/docker SDK sends with what a Docker provider plugin's schema
 * accepts: for each resource the project uses, every input property's name, whether it is
 * required, and its shape (`string`, `number`, `boolean`, `X[]`, `map<X>`, or a named object type,
 * whose own fields are compared the same way). The SDK side is read from its `.d.ts` files with the
 * TypeScript compiler; the plugin side from `pulumi package get-schema` output.
 */
import { readFileSync } from "fs";
import { dirname, join } from "path";
import ts from "typescript";

/** One input property: whether the SDK/schema requires it, and its normalized shape. */
export interface FieldShape {
  readonly required: boolean;
  readonly shape: string;
}

/** Property name -> its shape, for one resource's inputs or one object type. */
export type ObjectShape = Record<string, FieldShape>;

/** Resources by name (`Provider`, `Container` ...) and the object types they reach, by type name. */
export interface PackageShape {
  readonly resources: Record<string, { readonly token: string; readonly inputs: ObjectShape }>;
  readonly types: Record<string, ObjectShape>;
}

/** The resources this project creates through @pulumi/docker; `Provider` is the provider itself. */
export const PROJECT_DOCKER_RESOURCES = [
  "Provider",
  "Network",
  "Volume",
  "RemoteImage",
  "Container",
] as const;

/** SDK file (without `.d.ts`) for each resource name: the SDK names files lowerFirst(name). */
function sdkFile(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function sdkRoot(): string {
  return dirname(require.resolve("@pulumi/docker/package.json"));
}

function parseDts(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.ES2022, true);
}

function findInterface(file: ts.SourceFile, name: string): ts.InterfaceDeclaration {
  const found = file.statements.find(
    (statement): statement is ts.InterfaceDeclaration =>
      ts.isInterfaceDeclaration(statement) && statement.name.text === name,
  );
  if (found === undefined) throw new Error(`interface ${name} not found in ${file.fileName}`);
  return found;
}

/** `pulumi.Input<T>` -> shape of T; `inputs.X` -> `X` (queued); arrays and index signatures. */
function tsShape(node: ts.TypeNode, queue: string[]): string {
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText();
    if (name === "pulumi.Input" && node.typeArguments?.length === 1)
      return tsShape(node.typeArguments[0], queue);
    if (name.startsWith("inputs.")) {
      const typeName = name.slice("inputs.".length);
      queue.push(typeName);
      return typeName;
    }
    return name;
  }
  if (ts.isArrayTypeNode(node)) return `${tsShape(node.elementType, queue)}[]`;
  if (ts.isTypeLiteralNode(node)) {
    const index = node.members.find(ts.isIndexSignatureDeclaration);
    if (index !== undefined) return `map<${tsShape(index.type, queue)}>`;
  }
  if (ts.isUnionTypeNode(node))
    return node.types
      .map((member) => tsShape(member, queue))
      .sort()
      .join("|");
  if (node.kind === ts.SyntaxKind.StringKeyword) return "string";
  if (node.kind === ts.SyntaxKind.NumberKeyword) return "number";
  if (node.kind === ts.SyntaxKind.BooleanKeyword) return "boolean";
  if (node.kind === ts.SyntaxKind.AnyKeyword) return "any";
  return node.getText();
}

function interfaceShape(decl: ts.InterfaceDeclaration, queue: string[]): ObjectShape {
  const shape: Record<string, FieldShape> = {};
  for (const member of decl.members) {
    if (!ts.isPropertySignature(member) || member.type === undefined) continue;
    shape[member.name.getText()] = {
      required: member.questionToken === undefined,
      shape: tsShape(member.type, queue),
    };
  }
  return shape;
}

/** What the installed @pulumi/docker sends for the given resources (its `<Name>Args` interfaces). */
export function sdkShape(names: readonly string[] = PROJECT_DOCKER_RESOURCES): PackageShape {
  const root = sdkRoot();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require("@pulumi/docker") as Record<string, { __pulumiType: string }>;
  const queue: string[] = [];
  const resources: Record<string, { token: string; inputs: ObjectShape }> = {};
  for (const name of names) {
    const file = parseDts(join(root, `${sdkFile(name)}.d.ts`));
    const token = sdk[name].__pulumiType;
    resources[name] = {
      // The provider's own token is its package name; the schema keeps it apart from resources.
      token: name === "Provider" ? `pulumi:providers:${token}` : token,
      inputs: interfaceShape(findInterface(file, `${name}Args`), queue),
    };
  }
  const inputTypes = parseDts(join(root, "types", "input.d.ts"));
  const types: Record<string, ObjectShape> = {};
  while (queue.length > 0) {
    const typeName = queue.shift() as string;
    if (typeName in types) continue;
    types[typeName] = interfaceShape(findInterface(inputTypes, typeName), queue);
  }
  return { resources, types };
}

/** The subset of a Pulumi package schema this comparison reads. */
export interface SchemaProperty {
  readonly type?: string;
  readonly $ref?: string;
  readonly items?: SchemaProperty;
  readonly additionalProperties?: SchemaProperty;
  readonly default?: unknown;
  readonly defaultInfo?: { readonly environment?: string[] };
}
export interface SchemaObject {
  readonly inputProperties?: Record<string, SchemaProperty>;
  readonly requiredInputs?: string[];
  readonly properties?: Record<string, SchemaProperty>;
  readonly required?: string[];
}
export interface PackageSchema {
  readonly name: string;
  readonly version?: string;
  readonly config?: { readonly variables?: Record<string, SchemaProperty> };
  readonly provider: SchemaObject;
  readonly resources: Record<string, SchemaObject>;
  readonly types?: Record<string, SchemaObject>;
}

function schemaShape(property: SchemaProperty, queue: string[]): string {
  if (property.$ref !== undefined) {
    if (property.$ref === "pulumi.json#/Any") return "any";
    const typeToken = decodeURIComponent(property.$ref.replace(/^#\/types\//, ""));
    queue.push(typeToken);
    return typeToken.split(":").pop() as string;
  }
  switch (property.type) {
    case "integer":
    case "number":
      return "number";
    case "array":
      return `${schemaShape(property.items ?? {}, queue)}[]`;
    case "object":
      return `map<${property.additionalProperties === undefined ? "any" : schemaShape(property.additionalProperties, queue)}>`;
    default:
      return property.type ?? "any";
  }
}

function objectShape(
  properties: Record<string, SchemaProperty> | undefined,
  required: string[] | undefined,
  queue: string[],
): ObjectShape {
  const shape: Record<string, FieldShape> = {};
  for (const [key, property] of Object.entries(properties ?? {}))
    shape[key] = { required: (required ?? []).includes(key), shape: schemaShape(property, queue) };
  return shape;
}

/** The plugin's side for the same resources, located by the SDK's tokens. */
export function pluginShape(schema: PackageSchema, sdk: PackageShape): PackageShape {
  const queue: string[] = [];
  const resources: Record<string, { token: string; inputs: ObjectShape }> = {};
  for (const [name, { token }] of Object.entries(sdk.resources)) {
    const object = name === "Provider" ? schema.provider : schema.resources[token];
    if (object === undefined) continue; // reported by compareShapes as a missing resource
    resources[name] = { token, inputs: objectShape(object.inputProperties, object.requiredInputs, queue) };
  }
  const types: Record<string, ObjectShape> = {};
  while (queue.length > 0) {
    const token = queue.shift() as string;
    const typeName = token.split(":").pop() as string;
    if (typeName in types) continue;
    const object = schema.types?.[token];
    types[typeName] = object === undefined ? {} : objectShape(object.properties, object.required, queue);
  }
  return { resources, types };
}

function compareObjects(where: string, sdk: ObjectShape, plugin: ObjectShape, out: string[]): void {
  for (const key of [...new Set([...Object.keys(sdk), ...Object.keys(plugin)])].sort()) {
    const want = sdk[key];
    const got = plugin[key];
    if (got === undefined) out.push(`${where}.${key}: the SDK sends it, the plugin does not accept it`);
    else if (want === undefined)
      out.push(`${where}.${key}: the plugin accepts it, the SDK has no such input`);
    else {
      if (want.required !== got.required)
        out.push(`${where}.${key}: required in the ${want.required ? "SDK" : "plugin"} only`);
      if (want.shape !== got.shape)
        out.push(`${where}.${key}: SDK shape ${want.shape}, plugin shape ${got.shape}`);
    }
  }
}

/** Every difference, one line each (`Container.command: ...`); empty when they match field for field. */
export function compareShapes(sdk: PackageShape, plugin: PackageShape): string[] {
  const out: string[] = [];
  for (const [name, { token, inputs }] of Object.entries(sdk.resources)) {
    const got = plugin.resources[name];
    if (got === undefined) out.push(`${name}: the plugin has no resource ${token}`);
    else compareObjects(name, inputs, got.inputs, out);
  }
  // A type the plugin never reaches is already reported at the property that should reach it.
  for (const [typeName, fields] of Object.entries(sdk.types))
    if (typeName in plugin.types) compareObjects(typeName, fields, plugin.types[typeName], out);
  return out;
}
