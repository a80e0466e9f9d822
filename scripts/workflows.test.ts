/**
 * Pure tier: the rules the GitHub Actions workflows (.github/workflows/*.yml) must keep, read from
 * the YAML itself. actionlint (scripts/lint-workflows.sh) checks that they are valid workflows; this
 * checks what actionlint cannot know: pinned actions, least privilege, no untrusted or secret
 * expression inside a script, a never-cancelled concurrency group on every job that locks a stack,
 * production behind staging and its environment, and the `closed` event that destroys PR stacks.
 */
import { readdirSync, readFileSync } from "fs";
import { load } from "js-yaml";
import { join } from "path";
import { DEFAULT_IMAGES } from "../components/serviceCatalog";

type Dict = Record<string, unknown>;
interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly env?: Dict;
  readonly with?: Dict;
}
interface Job {
  readonly if?: string;
  readonly needs?: string | string[];
  readonly environment?: string;
  readonly permissions?: Dict;
  readonly concurrency?: Dict;
  readonly steps: readonly Step[];
}
interface Workflow {
  readonly on: Dict;
  readonly permissions?: unknown;
  readonly jobs: Record<string, Job>;
}

const DIR = join(__dirname, "..", ".github", "workflows");
// Every file there, so a workflow named *.yaml (which lint-workflows.sh would not lint) fails below.
const FILES = readdirSync(DIR).sort();
const WORKFLOWS: ReadonlyMap<string, Workflow> = new Map(
  FILES.map((name) => [name, load(readFileSync(join(DIR, name), "utf8")) as Workflow]),
);

function workflow(name: string): Workflow {
  const found = WORKFLOWS.get(name);
  if (found === undefined) throw new Error(`no ${name} in ${DIR}`);
  return found;
}

/** The repository's own composite actions (.github/actions/<name>/action.yml), by name. */
const ACTIONS_DIR = join(__dirname, "..", ".github", "actions");
const LOCAL_ACTIONS: ReadonlyMap<string, { runs: { steps: Step[] } }> = new Map(
  readdirSync(ACTIONS_DIR).map((name) => [
    `./.github/actions/${name}`,
    load(readFileSync(join(ACTIONS_DIR, name, "action.yml"), "utf8")) as { runs: { steps: Step[] } },
  ]),
);

/**
 * Every job of every workflow, as `file#job`, and each local composite action as a job of its own
 * (`./.github/actions/<name>`), so its steps are held to the same rules.
 */
function allJobs(): Array<[string, Job]> {
  return [
    ...[...WORKFLOWS].flatMap(([file, wf]) =>
      Object.entries(wf.jobs).map(([id, job]): [string, Job] => [`${file}#${id}`, job]),
    ),
    ...[...LOCAL_ACTIONS].map(([name, action]): [string, Job] => [name, { steps: action.runs.steps }]),
  ];
}

/** Only workflows' jobs (permissions, concurrency and environments belong to them). */
function workflowJobs(): Array<[string, Job]> {
  return allJobs().filter(([where]) => where.includes("#"));
}

/** A third-party action is pinned when its ref is a full version tag (vX.Y.Z) or a commit. */
function isPinned(uses: string): boolean {
  return /^[\w.-]+\/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/.test(uses);
}

/** What a script must not interpolate: secrets and untrusted event text go through `env:`. */
const FORBIDDEN_IN_SCRIPTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bsecrets\./, "${{ secrets."],
  [/\bgithub\.event\b/, "${{ github.event."],
  [/\bgithub\.head_ref\b/, "${{ github.head_ref"],
  [/\binputs\./, "${{ inputs."],
];
/** The kinds of forbidden text inside any `${{ ... }}` of `script` (e.g. `toJSON(github.event)`). */
function forbiddenIn(script: string): string[] {
  const expressions = script.match(/\$\{\{[\s\S]*?\}\}/g) ?? [];
  return FORBIDDEN_IN_SCRIPTS.filter(([pattern]) => expressions.some((e) => pattern.test(e))).map(
    ([, kind]) => kind,
  );
}

test("the workflows are the three this project has", () => {
  expect(FILES).toEqual([
    "backup-image.yml",
    "backups.yml",
    "deploy.yml",
    "pull-request.yml",
    "scheduled.yml",
  ]);
});

describe("pinned actions", () => {
  test("the rule: a full version tag or a 40-hex commit, never a branch or a moving major tag", () => {
    expect(isPinned("actions/checkout@v5.0.0")).toBe(true);
    expect(isPinned("actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8")).toBe(true);
    expect(isPinned("actions/checkout@v5")).toBe(false);
    expect(isPinned("actions/checkout@v5.0")).toBe(false);
    expect(isPinned("actions/checkout@main")).toBe(false);
    expect(isPinned("actions/checkout@master")).toBe(false);
    expect(isPinned("actions/checkout")).toBe(false);
    expect(isPinned("actions/checkout@08c6903")).toBe(false);
  });

  test("every uses: is pinned, and these are the actions used", () => {
    const uses = allJobs().flatMap(([where, job]) =>
      job.steps.flatMap((step) => (step.uses === undefined ? [] : [[where, step.uses] as const])),
    );
    // A local action is this repository's own code at the same commit; its steps are checked too.
    const pinnedOrLocal = (ref: string) => isPinned(ref) || LOCAL_ACTIONS.has(ref);
    expect(uses.filter(([, ref]) => !pinnedOrLocal(ref)).map(([where, ref]) => `${where}: ${ref}`)).toEqual(
      [],
    );
    expect([...new Set(uses.map(([, ref]) => ref))].sort()).toEqual([
      "./.github/actions/pulumi-job",
      "actions/checkout@v5.0.0",
      "actions/github-script@v8.0.0",
      "actions/setup-node@v5.0.0",
      "pulumi/actions@v6.6.1",
    ]);
  });
});

describe("least privilege", () => {
  test("every workflow grants nothing at the top; each job asks for what it needs", () => {
    expect(FILES.map((file) => [file, workflow(file).permissions])).toEqual([
      ["backup-image.yml", {}],
      ["backups.yml", {}],
      ["deploy.yml", {}],
      ["pull-request.yml", {}],
      ["scheduled.yml", {}],
    ]);
    expect(workflowJobs().map(([where, job]) => [where, job.permissions])).toEqual([
      // The only job that writes anything to GitHub besides the preview's comment: the image.
      ["backup-image.yml#publish", { contents: "read", packages: "write" }],
      ["backups.yml#verify-and-prune", { contents: "read" }],
      ["deploy.yml#staging", { contents: "read" }],
      ["deploy.yml#production", { contents: "read" }],
      ["pull-request.yml#checks", { contents: "read" }],
      ["pull-request.yml#preview", { contents: "read", "pull-requests": "write" }],
      ["pull-request.yml#pr-stack", { contents: "read" }],
      ["pull-request.yml#pr-stack-destroy", { contents: "read" }],
      ["scheduled.yml#reap", { contents: "read" }],
    ]);
  });
});

describe("no secret or untrusted expression inside a script", () => {
  test("the rule finds each pattern, with or without a space after ${{", () => {
    expect(forbiddenIn('echo "${{ secrets.KEY }}"')).toEqual(["${{ secrets."]);
    expect(forbiddenIn('echo "${{github.event.pull_request.title}}"')).toEqual(["${{ github.event."]);
    expect(forbiddenIn("git checkout ${{ github.head_ref }}")).toEqual(["${{ github.head_ref"]);
    expect(forbiddenIn("echo '${{ toJSON(github.event) }}'")).toEqual(["${{ github.event."]);
    expect(forbiddenIn('echo "${{inputs.ssh-private-key}}"')).toEqual(["${{ inputs."]);
    expect(forbiddenIn('echo "${{ github.event_name }} $SECRETS_DIR"')).toEqual([]);
    expect(forbiddenIn('npx tsx scripts/pipeline/pr-stack.ts up "$PR_NUMBER"')).toEqual([]);
  });

  test("no run: nor github-script script: interpolates one (they come in through env:)", () => {
    const scripts = allJobs().flatMap(([where, job]) =>
      job.steps.flatMap((step) => {
        const script = step.run ?? (typeof step.with?.script === "string" ? step.with.script : undefined);
        return script === undefined ? [] : [[where, script] as const];
      }),
    );
    expect(scripts).toHaveLength(19);
    expect(
      scripts.flatMap(([where, script]) => forbiddenIn(script).map((pattern) => `${where}: ${pattern}`)),
    ).toEqual([]);
  });
});

describe("concurrency", () => {
  const LOCKS = /scripts\/pipeline\/(deploy|pr-stack)\.ts|pulumi refresh/;
  test("every job that updates, destroys or refreshes a stack is in a group, never cancelled", () => {
    const locking = workflowJobs().filter(([, job]) => job.steps.some((step) => LOCKS.test(step.run ?? "")));
    expect(locking.map(([where, job]) => [where, job.concurrency])).toEqual([
      ["deploy.yml#staging", { group: "pulumi-staging", "cancel-in-progress": false }],
      ["deploy.yml#production", { group: "pulumi-production", "cancel-in-progress": false }],
      [
        "pull-request.yml#pr-stack",
        { group: "pulumi-pr-${{ github.event.pull_request.number }}", "cancel-in-progress": false },
      ],
      [
        "pull-request.yml#pr-stack-destroy",
        { group: "pulumi-pr-${{ github.event.pull_request.number }}", "cancel-in-progress": false },
      ],
      // Its own group: queued in a deploy's group it would cancel that group's pending deploy.
      ["scheduled.yml#reap", { group: "reap-${{ matrix.stack }}", "cancel-in-progress": false }],
    ]);
  });

  test("the reaper's matrix is integration (with the pr-<n> stacks) and staging", () => {
    const reap = workflow("scheduled.yml").jobs.reap as Job & { strategy: { matrix: Dict } };
    expect(reap.strategy.matrix).toEqual({ stack: ["integration", "staging"] });
  });

  test("a preview (no lock in the DIY backend) has its own group per PR, not a stack's", () => {
    expect(workflow("pull-request.yml").jobs.preview.concurrency).toEqual({
      group: "preview-pr-${{ github.event.pull_request.number }}",
      "cancel-in-progress": true,
    });
  });
});

describe("backup-image.yml", () => {
  test("publishes on main when images/backup changes, as the tag the stack pins by default", () => {
    expect(workflow("backup-image.yml").on).toEqual({
      push: { branches: ["main"], paths: ["images/backup/**"] },
      workflow_dispatch: null,
    });
    const version = readFileSync(join(__dirname, "..", "images", "backup", "VERSION"), "utf8").trim();
    expect(DEFAULT_IMAGES["orchestra-backup"]).toBe(`ghcr.io/ai-cherry/orchestra-backup:${version}`);
  });
});

describe("backups.yml", () => {
  test("daily, per stack in its own never-cancelled group; verify, then retention even after a failed verify", () => {
    const backups = workflow("backups.yml");
    expect(backups.on).toEqual({ schedule: [{ cron: "41 5 * * *" }], workflow_dispatch: null });
    const job = backups.jobs["verify-and-prune"] as Job & { strategy: { matrix: Dict } };
    expect(job.strategy.matrix).toEqual({ stack: ["staging", "production"] });
    expect(job.concurrency).toEqual({ group: "backups-${{ matrix.stack }}", "cancel-in-progress": false });
    const steps = job.steps.filter((step) => step.run?.startsWith("npm run backup"));
    expect(steps.map((step) => [step.run, step.if, step.env])).toEqual(
      ["verify", "prune"].map((command) => [
        `npm run backup -- ${command} --stack "$STACK"`,
        command === "prune" ? "${{ !cancelled() }}" : undefined,
        // The backup bucket's keys, never the state bucket's.
        {
          AWS_ACCESS_KEY_ID: "${{ secrets.BACKUP_ACCESS_KEY_ID }}",
          AWS_SECRET_ACCESS_KEY: "${{ secrets.BACKUP_SECRET_ACCESS_KEY }}",
        },
      ]),
    );
  });
});

describe("deploy.yml", () => {
  test("main and manual runs only", () => {
    expect(workflow("deploy.yml").on).toEqual({ push: { branches: ["main"] }, workflow_dispatch: null });
  });

  test("production waits for staging and runs in the production environment; staging in its own", () => {
    const { staging, production } = workflow("deploy.yml").jobs;
    expect([staging.environment, staging.needs, staging.if]).toEqual([
      "staging",
      undefined,
      "github.ref == 'refs/heads/main'",
    ]);
    expect([production.environment, production.needs]).toEqual(["production", "staging"]);
  });

  test("each job deploys its stack (deploy.ts sets the stack's secrets first)", () => {
    const runs = (job: Job) =>
      job.steps.flatMap((step) => (step.run?.includes("scripts/pipeline/") ? [step.run] : []));
    const { staging, production } = workflow("deploy.yml").jobs;
    expect(runs(staging)).toEqual(["npx tsx scripts/pipeline/deploy.ts staging"]);
    expect(runs(production)).toEqual(["npx tsx scripts/pipeline/deploy.ts production"]);
  });
});

describe("pull-request.yml", () => {
  const pr = workflow("pull-request.yml");

  test("it receives exactly these events, closed among them", () => {
    expect(pr.on).toEqual({
      pull_request: { types: ["opened", "synchronize", "reopened", "closed", "labeled"] },
    });
  });

  test("which job runs when", () => {
    const sameRepo = "github.event.pull_request.head.repo.full_name == github.repository";
    expect(Object.entries(pr.jobs).map(([id, job]) => [id, job.if, job.needs])).toEqual([
      ["checks", "github.event.action != 'closed'", undefined],
      ["preview", `github.event.action != 'closed' && ${sameRepo}`, "checks"],
      [
        "pr-stack",
        `github.event.action != 'closed' && ${sameRepo} && contains(github.event.pull_request.labels.*.name, 'preview-stack')`,
        "checks",
      ],
      ["pr-stack-destroy", `github.event.action == 'closed' && ${sameRepo}`, undefined],
    ]);
  });

  test("the closed-PR job destroys the PR's stack", () => {
    const destroy = pr.jobs["pr-stack-destroy"].steps.find((step) => step.run?.includes("pr-stack.ts"));
    expect([destroy?.run, destroy?.env?.PR_NUMBER]).toEqual([
      'npx tsx scripts/pipeline/pr-stack.ts down "$PR_NUMBER"',
      "${{ github.event.pull_request.number }}",
    ]);
  });

  test("the preview diffs against the base branch, passed through env:", () => {
    const preview = pr.jobs.preview.steps.find((step) => step.run?.includes("preview.ts"));
    expect([preview?.run, preview?.env?.BASE_REF]).toEqual([
      'npx tsx scripts/pipeline/preview.ts --base "origin/$BASE_REF" --comment-file "$COMMENT_FILE"',
      "${{ github.base_ref }}",
    ]);
    expect(pr.jobs.preview.steps[0]).toEqual({ uses: "actions/checkout@v5.0.0", with: { "fetch-depth": 0 } });
  });
});
