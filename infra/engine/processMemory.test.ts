/** Pure tier: reading RSS from /proc text and telling the program and provider processes apart. */
import { roleOfCommandLine, rssKiBFromStatus, sumByRole } from "./processMemory";

const args = (...parts: string[]) => parts.join("\0") + "\0";

test("VmRSS is read in KiB; a status without it (a zombie) counts 0", () => {
  expect(rssKiBFromStatus("Name:\tnode\nVmPeak:\t  999999 kB\nVmRSS:\t  123456 kB\nRssAnon:\t 1 kB\n")).toBe(
    123456,
  );
  expect(rssKiBFromStatus("Name:\tnode\nState:\tZ (zombie)\n")).toBe(0);
});

test("the program, the dynamic provider (wrapper and node) and everything else are told apart", () => {
  expect(
    roleOfCommandLine(
      args("/usr/bin/node", "/work/p/node_modules/@pulumi/pulumi/cmd/run", "--monitor", "127.0.0.1:1", "."),
    ),
  ).toBe("program");
  expect(
    roleOfCommandLine(
      args("node", "/work/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js", "127.0.0.1:2"),
    ),
  ).toBe("provider");
  expect(roleOfCommandLine(args("/bin/sh", "/tc/bin/pulumi-resource-pulumi-nodejs", "127.0.0.1:2"))).toBe(
    "provider",
  );
  expect(roleOfCommandLine(args("/tc/bin/pulumi-language-nodejs", "127.0.0.1:3"))).toBe("other");
  expect(roleOfCommandLine(args("pulumi", "preview", "--refresh"))).toBe("other");
  expect(roleOfCommandLine(args("/usr/bin/node", "/work/p/node_modules/@pulumi/pulumi/cmd/run-plugin"))).toBe(
    "other",
  );
  expect(roleOfCommandLine("")).toBe("other");
});

test("one sample sums by role and over the whole tree", () => {
  expect(
    sumByRole([
      { role: "other", rssKiB: 80_000 },
      { role: "program", rssKiB: 150_000 },
      { role: "provider", rssKiB: 2_000 },
      { role: "provider", rssKiB: 90_000 },
    ]),
  ).toEqual({ programKiB: 150_000, providerKiB: 92_000, treeKiB: 322_000 });
});
