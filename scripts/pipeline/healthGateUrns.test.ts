import { healthGateCheckUrns } from "./healthGateUrns";

const urn = (chain: string, name: string) => `urn:pulumi:staging::orchestra-lambda-fleet::${chain}::${name}`;

test("only the custom resources directly under a HealthGate are the gate's checks", () => {
  const check = urn(
    "orchestra:stack:Layer$orchestra:services:HealthGate$command:remote:Command",
    "gate-check",
  );
  const dynamicCheck = urn(
    "orchestra:stack:Layer$orchestra:services:HealthGate$pulumi-nodejs:dynamic:Resource",
    "gate-check",
  );
  expect(
    healthGateCheckUrns([
      { urn: urn("pulumi:pulumi:Stack", "orchestra-lambda-fleet-staging"), custom: false },
      { urn: urn("orchestra:stack:Layer$orchestra:services:HealthGate", "gate"), custom: false },
      { urn: check, custom: true },
      { urn: dynamicCheck, custom: true },
      {
        urn: urn(
          "orchestra:stack:Layer$orchestra:services:AppServices$docker:index/container:Container",
          "api",
        ),
        custom: true,
      },
      {
        urn: urn("orchestra:services:HealthGate$orchestra:x:Other$command:remote:Command", "deeper"),
        custom: true,
      },
    ]),
  ).toEqual([check, dynamicCheck]);
  expect(healthGateCheckUrns([])).toEqual([]);
});
