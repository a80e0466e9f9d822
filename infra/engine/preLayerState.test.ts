/** Pure tier: the deployment rewrite the engine tier uses to stand for a stack deployed before the Layer. */
import { withoutComponent, type ExportedDeployment } from "./preLayerState";

const STACK = "urn:pulumi:ctr::orchestra::pulumi:pulumi:Stack::orchestra-ctr";
const LAYER = "urn:pulumi:ctr::orchestra::orchestra:stack:Layer::orchestra-ctr";
const FLEET = "urn:pulumi:ctr::orchestra::orchestra:stack:Layer$orchestra:fleet:GpuFleet::orchestra-ctr";
const NODE =
  "urn:pulumi:ctr::orchestra::orchestra:stack:Layer$orchestra:fleet:GpuFleet$pulumi-nodejs:dynamic:Resource::orchestra-ctr-app";
const DOCKER =
  "urn:pulumi:ctr::orchestra::orchestra:stack:Layer$pulumi:providers:docker::orchestra-ctr-app-docker";

const exported: ExportedDeployment = {
  version: 3,
  deployment: {
    manifest: { time: "t" },
    resources: [
      { urn: STACK, type: "pulumi:pulumi:Stack" },
      { urn: LAYER, type: "orchestra:stack:Layer", parent: STACK },
      { urn: FLEET, type: "orchestra:fleet:GpuFleet", parent: LAYER },
      {
        urn: NODE,
        type: "pulumi-nodejs:dynamic:Resource",
        parent: FLEET,
        dependencies: [LAYER, FLEET],
        propertyDependencies: { sshKeyNames: [FLEET] },
      },
      { urn: DOCKER, type: "pulumi:providers:docker", parent: LAYER, provider: `${DOCKER}::id-1` },
    ],
  },
};

test("the Layer is removed and its children moved to the stack root, references included", () => {
  expect(withoutComponent(exported, "orchestra:stack:Layer")).toEqual({
    version: 3,
    deployment: {
      manifest: { time: "t" },
      resources: [
        { urn: STACK, type: "pulumi:pulumi:Stack" },
        {
          urn: "urn:pulumi:ctr::orchestra::orchestra:fleet:GpuFleet::orchestra-ctr",
          type: "orchestra:fleet:GpuFleet",
          parent: STACK,
        },
        {
          urn: "urn:pulumi:ctr::orchestra::orchestra:fleet:GpuFleet$pulumi-nodejs:dynamic:Resource::orchestra-ctr-app",
          type: "pulumi-nodejs:dynamic:Resource",
          parent: "urn:pulumi:ctr::orchestra::orchestra:fleet:GpuFleet::orchestra-ctr",
          dependencies: ["urn:pulumi:ctr::orchestra::orchestra:fleet:GpuFleet::orchestra-ctr"],
          propertyDependencies: {
            sshKeyNames: ["urn:pulumi:ctr::orchestra::orchestra:fleet:GpuFleet::orchestra-ctr"],
          },
        },
        {
          urn: "urn:pulumi:ctr::orchestra::pulumi:providers:docker::orchestra-ctr-app-docker",
          type: "pulumi:providers:docker",
          parent: STACK,
          provider: "urn:pulumi:ctr::orchestra::pulumi:providers:docker::orchestra-ctr-app-docker::id-1",
        },
      ],
    },
  });
});

test("a deployment without exactly one such component is refused", () => {
  expect(() => withoutComponent(exported, "orchestra:stack:Missing")).toThrow(
    "expected one orchestra:stack:Missing in the deployment, found 0",
  );
});
