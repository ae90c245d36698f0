/**
 * The GitHub Actions workflows of this repository and the dbt repository's templates: valid
 * YAML, the expected triggers and jobs, least-privilege permissions (`id-token: write` only
 * where a job assumes an AWS role), the variables the stacks publish, and the offline plan.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ROOT } from "./helpers/stack";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  if?: string;
  "working-directory"?: string;
}
interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  steps: Step[];
  strategy?: { matrix: { include: Record<string, string>[] } };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

const load = (file: string): Workflow => yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8")) as Workflow;
const uses = (job: Job, action: string) => job.steps.filter((s) => s.uses?.split("@")[0] === action);
const runs = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n");
/** Jobs that request an OIDC token. */
const oidcJobs = (wf: Workflow) =>
  Object.entries(wf.jobs)
    .filter(([, j]) => j.permissions?.["id-token"] === "write")
    .map(([k]) => k)
    .sort();
/** Jobs that assume an AWS role. */
const awsJobs = (wf: Workflow) =>
  Object.entries(wf.jobs)
    .filter(([, j]) => uses(j, "aws-actions/configure-aws-credentials").length)
    .map(([k]) => k)
    .sort();

const WORKFLOWS = [
  ".github/workflows/preview.yml",
  ".github/workflows/deploy.yml",
  "docs/dbt-repo/workflows/ci.yml",
  "docs/dbt-repo/workflows/build.yml",
];
/** Current majors (Node 24 runtimes; Node 20 left the hosted runners in 2026). */
const PINNED: Record<string, string> = {
  "actions/checkout": "v6",
  "actions/setup-node": "v6",
  "actions/setup-python": "v6",
  "actions/github-script": "v8",
  "actions/upload-artifact": "v7",
  "actions/download-artifact": "v7",
  "aws-actions/configure-aws-credentials": "v6",
  "pulumi/actions": "v7",
  "docker/setup-qemu-action": "v4",
  "docker/setup-buildx-action": "v4",
  "docker/build-push-action": "v7",
};

describe("GitHub workflows", () => {
  for (const file of WORKFLOWS) {
    describe(file, () => {
      const wf = load(file);

      it("defaults to read-only contents and requests an OIDC token exactly where it assumes an AWS role", () => {
        expect(wf.permissions).to.deep.equal({ contents: "read" });
        expect(oidcJobs(wf)).to.deep.equal(awsJobs(wf));
        for (const [name, job] of Object.entries(wf.jobs)) {
          expect(job.permissions, `${name} declares its permissions`).to.be.an("object");
          const granted = Object.entries(job.permissions!)
            .filter(([, v]) => v === "write")
            .map(([k]) => k);
          expect(
            granted.filter((k) => !["id-token", "pull-requests"].includes(k)),
            name,
          ).to.deep.equal([]);
        }
      });

      it("pins every action to a known major version from GitHub, AWS, Pulumi or Docker", () => {
        for (const [name, job] of Object.entries(wf.jobs)) {
          for (const step of job.steps.filter((s) => s.uses)) {
            const [action, ref] = step.uses!.split("@");
            expect(PINNED, `${name}: ${step.uses}`).to.have.property(action);
            expect(ref, `${name}: ${step.uses}`).to.equal(PINNED[action]);
          }
        }
      });

      it("never persists the checkout's token and never splices pull-request text into a script", () => {
        for (const job of Object.values(wf.jobs)) {
          for (const s of uses(job, "actions/checkout")) expect(s.with?.["persist-credentials"]).to.equal(false);
          expect(runs(job)).not.to.match(/\$\{\{\s*github\.event\.pull_request\.(title|body|head\.ref)/);
          for (const s of uses(job, "actions/github-script")) expect(String(s.with?.script)).not.to.include("${{");
        }
      });
    });
  }

  describe("preview.yml", () => {
    const wf = load(".github/workflows/preview.yml");
    const sameRepo = "github.event.pull_request.head.repo.full_name == github.repository";

    it("runs on every pull request, one run per pull request at a time", () => {
      expect(Object.keys(wf.on)).to.deep.equal(["pull_request"]);
      expect(wf.concurrency).to.deep.equal({
        group: "preview-${{ github.event.pull_request.number }}",
        "cancel-in-progress": true,
      });
      expect(Object.keys(wf.jobs)).to.deep.equal(["offline", "comment", "preview-dev"]);
    });

    it("offline: no secret, no token; build, tests, then the offline plans of main and of the pull request with the diff", () => {
      const job = wf.jobs.offline;
      expect(job.if).to.equal(undefined);
      expect(job.permissions).to.deep.equal({ contents: "read" });
      expect(JSON.stringify(job)).not.to.match(/secrets\.|vars\./);
      const checkouts = uses(job, "actions/checkout");
      expect(checkouts.map((s) => s.with)).to.deep.equal([
        { path: "pr", "persist-credentials": false },
        { ref: "${{ github.event.pull_request.base.sha }}", path: "main", "persist-credentials": false },
      ]);
      expect(uses(job, "actions/setup-node")[0].with).to.include({ "node-version": 22, cache: "npm" });
      const pr = job.steps.filter((s) => s["working-directory"] === "pr").map((s) => s.run!.trim());
      expect(pr.slice(0, 4)).to.deep.equal(["npm ci", "npm run build", "npm run lint", "npm test"]);
      const main = job.steps.find((s) => s["working-directory"] === "main")!.run!;
      expect(main).to.include("npm ci").and.include("npm run plan -- dev").and.include("npm run plan -- prod");
      const diff = job.steps.find((s) => s.name?.includes("diffed against main"))!;
      expect(diff["working-directory"]).to.equal("pr");
      expect(diff.run)
        .to.include('npm run --silent plan -- "$1" --diff "../main/plan/$1.json"')
        .and.include("for stack in dev prod");
      expect(diff.run).to.include("GITHUB_STEP_SUMMARY").and.include("GITHUB_OUTPUT");
      expect(job.outputs).to.deep.equal({ diff: "${{ steps.diff.outputs.diff }}" });
    });

    it("comment: same-repository pull requests only, one comment updated in place with actions/github-script", () => {
      const job = wf.jobs.comment;
      expect(job.needs).to.equal("offline");
      expect(job.if).to.equal(sameRepo);
      expect(job.permissions).to.deep.equal({ "pull-requests": "write" });
      const [script] = uses(job, "actions/github-script");
      expect(script.env).to.deep.equal({ BODY: "${{ needs.offline.outputs.diff }}" });
      expect(String(script.with!.script))
        .to.include("updateComment")
        .and.include("createComment")
        .and.include("<!-- dbt-pipeline offline plan diff -->");
      expect(runs(wf.jobs.offline)).to.include("<!-- dbt-pipeline offline plan diff -->");
    });

    it("preview-dev: same-repository pull requests only, in the dev-preview environment with dev's read-only role, the policy pack, commenting", () => {
      const job = wf.jobs["preview-dev"];
      expect(job.needs).to.equal("offline");
      expect(job.if).to.equal(sameRepo);
      expect(
        job.environment,
        "the environment that holds dev's preview secrets and gives the subject dev's preview role trusts",
      ).to.equal("dev-preview");
      expect(job.permissions).to.deep.equal({ contents: "read", "id-token": "write", "pull-requests": "write" });
      expect(job.strategy).to.equal(undefined);
      expect(uses(job, "aws-actions/configure-aws-credentials")[0].with).to.deep.equal({
        "role-to-assume": "${{ vars.AWS_ROLE_ARN }}",
        "aws-region": "${{ vars.AWS_REGION }}",
      });
      const [pulumi] = uses(job, "pulumi/actions");
      expect(pulumi.with).to.include({
        command: "preview",
        "comment-on-pr": true,
        "work-dir": "./",
        policyPacks: "policy",
      });
      expect(pulumi.with!["stack-name"]).to.include("vars.PULUMI_STACK").and.include("'dev'");
      expect(pulumi.env).to.deep.equal({
        PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
        PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
        GITHUB_TOKEN: "${{ github.token }}",
      });
    });

    it("no pull-request job holds prod's credentials: no prod environment, no prod variable, no secret outside an environment", () => {
      for (const [name, job] of Object.entries(wf.jobs)) {
        expect(job.environment ?? "", name).not.to.match(/prod/i);
        expect(JSON.stringify(job), name).not.to.match(/vars\.[A-Z_]*PROD|matrix\.stack/);
        if (/secrets\./.test(JSON.stringify(job)))
          expect(job.environment, `${name} reads secrets, so it must declare the environment that holds them`).to.equal(
            "dev-preview",
          );
      }
    });
  });

  describe("deploy.yml", () => {
    const wf = load(".github/workflows/deploy.yml");

    it("runs on pushes to main, never two at once and never cancelled half-way", () => {
      expect(wf.on).to.deep.equal({ push: { branches: ["main"] } });
      expect(wf.concurrency).to.deep.equal({ group: "deploy", "cancel-in-progress": false });
    });

    it("deploys dev, then prod after it, each in its GitHub environment with that environment's deploy role", () => {
      expect(Object.keys(wf.jobs)).to.deep.equal(["dev", "prod"]);
      expect(wf.jobs.dev.needs).to.equal(undefined);
      expect(wf.jobs.prod.needs).to.equal("dev");
      for (const stack of ["dev", "prod"] as const) {
        const job = wf.jobs[stack];
        expect(job.environment).to.equal(stack);
        expect(job.permissions).to.deep.equal({ contents: "read", "id-token": "write" });
        expect(job.steps.map((s) => s.uses?.split("@")[0] ?? s.run)).to.deep.equal([
          "actions/checkout",
          "actions/setup-node",
          "npm ci",
          "aws-actions/configure-aws-credentials",
          "pulumi/actions",
        ]);
        expect(uses(job, "aws-actions/configure-aws-credentials")[0].with).to.deep.equal({
          "role-to-assume": "${{ vars.AWS_ROLE_ARN }}",
          "aws-region": "${{ vars.AWS_REGION }}",
        });
        const [pulumi] = uses(job, "pulumi/actions");
        expect(pulumi.with).to.include({ command: "up", "work-dir": "./", refresh: true, policyPacks: "policy" });
        expect(pulumi.with!["stack-name"]).to.include("vars.PULUMI_STACK").and.include(`'${stack}'`);
        expect(pulumi.env).to.deep.equal({
          PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
          PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
          GITHUB_TOKEN: "${{ secrets.PULUMI_GITHUB_TOKEN }}",
        });
      }
    });
  });

  it("infrastructure workflows read secrets only in jobs that declare an environment (environment secrets, never repository-wide)", () => {
    for (const file of [".github/workflows/preview.yml", ".github/workflows/deploy.yml"]) {
      for (const [name, job] of Object.entries(load(file).jobs)) {
        const secrets = [...JSON.stringify(job).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]);
        if (secrets.length) expect(job.environment, `${file} ${name} reads ${secrets.join(", ")}`).to.be.a("string");
      }
    }
  });

  describe("dbt repository templates", () => {
    it("ci.yml: slim CI on pull requests with prod's state role, then dev's CI role; artifacts to dev/runs/ci-<sha>/", () => {
      const wf = load("docs/dbt-repo/workflows/ci.yml");
      expect(Object.keys(wf.on)).to.deep.equal(["pull_request"]);
      const job = wf.jobs["slim-ci"];
      expect(job.environment, "the pull_request subject is what both roles trust").to.equal(undefined);
      expect(job.if).to.equal("github.event.pull_request.head.repo.full_name == github.repository");
      expect(uses(job, "aws-actions/configure-aws-credentials").map((s) => s.with)).to.deep.equal([
        { "role-to-assume": "${{ vars.DBT_STATE_ROLE_ARN_PROD }}", "aws-region": "${{ vars.AWS_REGION_PROD }}" },
        { "role-to-assume": "${{ vars.DBT_CI_ROLE_ARN_DEV }}", "aws-region": "${{ vars.AWS_REGION_DEV }}" },
      ]);
      const script = runs(job);
      expect(script).to.include('"s3://$BUCKET/prod/latest/manifest.json" prod-artifacts/manifest.json');
      expect(script).to.include("dbt build --select state:modified+ --defer --state prod-artifacts/ --target ci");
      expect(script).to.include('"s3://$BUCKET/dev/runs/ci-$SHA/');
      expect(job.env!.DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY).to.equal("${{ secrets.SNOWFLAKE_CI_PRIVATE_KEY }}");
    });

    it("build.yml: one arm64 build, pushed as git-<sha> to dev's and then prod's repository by their dbt-CI roles", () => {
      const wf = load("docs/dbt-repo/workflows/build.yml");
      expect(wf.on).to.deep.equal({ push: { branches: ["main"] } });
      expect(Object.keys(wf.jobs)).to.deep.equal(["image", "push-dev", "push-prod"]);
      const [build] = uses(wf.jobs.image, "docker/build-push-action");
      expect(build.with).to.include({ platforms: "linux/arm64" });
      expect(build.with!.push).to.equal(undefined);
      expect(runs(wf.jobs.image)).to.include("tag=git-${GITHUB_SHA::7}");
      expect(wf.jobs["push-prod"].needs).to.deep.equal(["image", "push-dev"]);
      for (const [name, env] of [
        ["push-dev", "dev"],
        ["push-prod", "prod"],
      ]) {
        const job = wf.jobs[name];
        expect(job.environment).to.equal(env);
        expect(uses(job, "aws-actions/configure-aws-credentials")[0].with).to.deep.equal({
          "role-to-assume": "${{ vars.DBT_CI_ROLE_ARN }}",
          "aws-region": "${{ vars.AWS_REGION }}",
        });
        expect(job.steps.find((s) => s.run?.includes("docker push"))!.env).to.deep.equal({
          REPOSITORY_URL: "${{ vars.ECR_REPOSITORY_URL }}",
          TAG: "${{ needs.image.outputs.tag }}",
        });
      }
    });
  });
});
