import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ENV, PROFILE_FIELDS, prepareScript, profilesYaml, uploadScript } from "../../components/runner/scripts";
import { RUN_ID_RE } from "../../functions/lib/run-contract";

/** A sandbox: the scripts' absolute paths moved under a temp dir, and a fake `aws` that logs its argv. */
function sandbox() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runner-script-"));
  const bin = path.join(root, "bin");
  const s3 = path.join(root, "s3-latest");
  fs.mkdirSync(bin);
  fs.mkdirSync(s3);
  fs.mkdirSync(path.join(root, "dbt-tmp"));
  fs.writeFileSync(path.join(bin, "aws"), [
    "#!/bin/sh",
    'echo "$*" >> "$FAKE_AWS_LOG"',
    'if [ -n "$FAKE_AWS_FAIL" ]; then case "$*" in *"$FAKE_AWS_FAIL"*) echo "fake aws: failing $*" >&2; exit 1;; esac; fi',
    // `aws s3 cp --recursive --only-show-errors <src> <dest>`: copy the fake bucket's latest/ into dest.
    'if [ "$3" = "--recursive" ]; then cp -R "$FAKE_S3/." "$6"; fi',
    "exit 0",
  ].join("\n") + "\n", { mode: 0o755 });
  const log = path.join(root, "aws.log");
  const local = (script: string) => script.replaceAll("/artifacts", path.join(root, "artifacts")).replaceAll("/dbt-tmp", path.join(root, "dbt-tmp"));
  const run = (script: string, env: Record<string, string>, fail = "") => {
    const r = spawnSync("/bin/sh", ["-c", local(script)], {
      encoding: "utf8",
      env: { PATH: `${bin}:${process.env.PATH}`, FAKE_AWS_LOG: log, FAKE_AWS_FAIL: fail, FAKE_S3: s3, ...env },
    });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
    fs.rmSync(log, { force: true });
    const strip = (t: string) => t.replaceAll(root, "");
    return { status: r.status, stdout: strip(r.stdout), stderr: strip(r.stderr), calls: calls.map(strip) };
  };
  const file = (p: string) => path.join(root, "artifacts", p);
  return { root, s3, run, file, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

const mode = (p: string) => fs.statSync(p).mode & 0o7777;
const BASE = { DBT_PIPELINE_BUCKET: "dbt-pipeline-dev-artifacts-123456789012", DBT_PIPELINE_ENV: "dev" };

describe("runner scripts", () => {
  describe("as text", () => {
    for (const [what, script] of [["prepare", prepareScript()], ["upload", uploadScript()]] as const) {
      it(`${what}: one constant text, no value of any stack inside`, () => {
        expect(script).to.equal(what === "prepare" ? prepareScript() : uploadScript());
        expect(script, "no ${...}: nothing interpolated, by Pulumi or by shell parameter expansion").not.to.include("${");
        for (const value of ["dbt-pipeline-", "123456789012", "arn:", "ACMEORG", "eu-west-1", "prod", "git-"]) expect(script).not.to.include(value);
      });
    }

    it("the profile is dbt_pipeline with one output named after the target, every value from env_var", () => {
      const doc = yaml.load(profilesYaml("prod")) as any;
      expect(doc).to.deep.equal({
        dbt_pipeline: {
          target: "prod",
          outputs: {
            prod: {
              type: "snowflake",
              account: "{{ env_var('SNOWFLAKE_ACCOUNT') }}",
              user: "{{ env_var('SNOWFLAKE_USER') }}",
              role: "{{ env_var('SNOWFLAKE_ROLE') }}",
              private_key: "{{ env_var('DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY') }}",
              warehouse: "{{ env_var('SNOWFLAKE_WAREHOUSE') }}",
              database: "{{ env_var('SNOWFLAKE_DATABASE') }}",
              schema: "{{ env_var('SNOWFLAKE_SCHEMA') }}",
              threads: "{{ env_var('DBT_THREADS') | int }}",
            },
          },
        },
      });
    });

    it("the private key comes from a DBT_ENV_SECRET_ variable, which dbt scrubs from its logs", () => {
      expect(PROFILE_FIELDS.find(([f]) => f === "private_key")?.[1]).to.equal(ENV.privateKey).and.match(/^DBT_ENV_SECRET_/);
    });

    it("refuses a target that is not a dbt target name", () => {
      expect(() => profilesYaml("prod: {}")).to.throw('profilesYaml: "prod: {}" is not a dbt target name');
    });
  });

  describe("prepare, run in sh", () => {
    let box: ReturnType<typeof sandbox>;
    beforeEach(() => { box = sandbox(); });
    afterEach(() => box.cleanup());

    it("writes profiles.yml, opens the directories to the dbt user and downloads the previous state", () => {
      fs.writeFileSync(path.join(box.s3, "manifest.json"), "{}");
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" });
      expect(r.stderr).to.equal("");
      expect(r.status).to.equal(0);
      expect(fs.readFileSync(box.file("profiles/profiles.yml"), "utf8")).to.equal(profilesYaml("dev"));
      for (const dir of ["profiles", "target", "logs", "state"]) expect(mode(box.file(dir)), dir).to.equal(0o777);
      expect(mode(path.join(box.root, "dbt-tmp"))).to.equal(0o1777);
      expect(r.calls).to.deep.equal(["s3 cp --recursive --only-show-errors s3://dbt-pipeline-dev-artifacts-123456789012/dev/latest/ /artifacts/state/"]);
      expect(fs.readFileSync(box.file("state/manifest.json"), "utf8")).to.equal("{}");
    });

    it("succeeds on the first run, when latest/ is empty", () => {
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" });
      expect(r.status).to.equal(0);
      expect(fs.readdirSync(box.file("state"))).to.deep.equal([]);
    });

    it("fails when the previous state cannot be downloaded", () => {
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" }, "/latest/");
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include("prepare: cannot download the previous state from s3://dbt-pipeline-dev-artifacts-123456789012/dev/latest/");
    });

    const bad: [string, Record<string, string>, string][] = [
      ["a target carrying shell", { ...BASE, DBT_TARGET: "dev$(id)" }, "prepare: DBT_TARGET must be a dbt target name (a-z, 0-9, _)"],
      ["a target carrying YAML", { ...BASE, DBT_TARGET: "dev: {}" }, "prepare: DBT_TARGET must be a dbt target name (a-z, 0-9, _)"],
      ["no target", { ...BASE }, "prepare: DBT_TARGET must be a dbt target name (a-z, 0-9, _)"],
      ["an environment with a slash", { ...BASE, DBT_TARGET: "dev", DBT_PIPELINE_ENV: "dev/../prod" }, "prepare: DBT_PIPELINE_ENV must be an environment name (a-z, 0-9, -)"],
      ["no bucket", { DBT_PIPELINE_ENV: "dev", DBT_TARGET: "dev" }, "prepare: DBT_PIPELINE_BUCKET must be an S3 bucket name"],
    ];
    for (const [what, env, message] of bad) {
      it(`stops before touching anything on ${what}`, () => {
        const r = box.run(prepareScript(), env);
        expect(r.status).to.equal(1);
        expect(r.stderr.trim()).to.equal(message);
        expect(r.calls).to.deep.equal([]);
        expect(fs.existsSync(box.file("profiles"))).to.equal(false);
      });
    }
  });

  describe("upload, run in sh", () => {
    let box: ReturnType<typeof sandbox>;
    beforeEach(() => {
      box = sandbox();
      for (const dir of ["target", "logs"]) fs.mkdirSync(box.file(dir), { recursive: true });
    });
    afterEach(() => box.cleanup());
    const B = "s3://dbt-pipeline-dev-artifacts-123456789012/dev";

    it("copies what dbt wrote to the run's prefix and to latest/, and dbt.log to the run only", () => {
      fs.writeFileSync(box.file("target/manifest.json"), "{}");
      fs.writeFileSync(box.file("target/run_results.json"), "{}");
      fs.writeFileSync(box.file("logs/dbt.log"), "log");
      const r = box.run(uploadScript(), { ...BASE, DBT_PIPELINE_RUN_ID: "r-20261122-0001" });
      expect(r.status).to.equal(0);
      expect(r.calls).to.deep.equal([
        `s3 cp --only-show-errors /artifacts/target/manifest.json ${B}/runs/r-20261122-0001/manifest.json`,
        `s3 cp --only-show-errors /artifacts/target/manifest.json ${B}/latest/manifest.json`,
        `s3 cp --only-show-errors /artifacts/target/run_results.json ${B}/runs/r-20261122-0001/run_results.json`,
        `s3 cp --only-show-errors /artifacts/target/run_results.json ${B}/latest/run_results.json`,
        `s3 cp --only-show-errors /artifacts/logs/dbt.log ${B}/runs/r-20261122-0001/dbt.log`,
      ]);
      expect(r.stdout).to.include("upload: run r-20261122-0001: 5 object(s) copied");
    });

    it("includes sources.json when freshness wrote one", () => {
      fs.writeFileSync(box.file("target/sources.json"), "{}");
      const r = box.run(uploadScript(), { ...BASE, DBT_PIPELINE_RUN_ID: "r-20261122-0001" });
      expect(r.calls).to.deep.equal([
        `s3 cp --only-show-errors /artifacts/target/sources.json ${B}/runs/r-20261122-0001/sources.json`,
        `s3 cp --only-show-errors /artifacts/target/sources.json ${B}/latest/sources.json`,
      ]);
    });

    it("files a run started outside the launch Lambda under a timestamp id the run contract accepts", () => {
      fs.writeFileSync(box.file("target/run_results.json"), "{}");
      const r = box.run(uploadScript(), BASE);
      expect(r.status).to.equal(0);
      const id = /\/runs\/([^/]+)\/run_results\.json$/.exec(r.calls[0])?.[1];
      expect(id).to.match(/^manual-\d{8}t\d{6}z$/).and.match(RUN_ID_RE);
    });

    it("ignores a run id that could escape its prefix, and says so", () => {
      fs.writeFileSync(box.file("target/run_results.json"), "{}");
      const r = box.run(uploadScript(), { ...BASE, DBT_PIPELINE_RUN_ID: "../latest" });
      expect(r.stderr).to.include("upload: ignoring DBT_PIPELINE_RUN_ID=../latest: not a run id (a-z, 0-9, -)");
      expect(r.calls[0]).to.match(/\/dev\/runs\/manual-\d{8}t\d{6}z\/run_results\.json$/);
    });

    it("exits 0 with nothing to upload (dbt never wrote its target)", () => {
      const r = box.run(uploadScript(), { ...BASE, DBT_PIPELINE_RUN_ID: "r-20261122-0001" });
      expect(r.status).to.equal(0);
      expect(r.calls).to.deep.equal([]);
    });

    it("exits 1 when a copy fails, after trying every other copy", () => {
      fs.writeFileSync(box.file("target/manifest.json"), "{}");
      fs.writeFileSync(box.file("target/run_results.json"), "{}");
      const r = box.run(uploadScript(), { ...BASE, DBT_PIPELINE_RUN_ID: "r-20261122-0001" }, "latest/manifest.json");
      expect(r.status).to.equal(1);
      expect(r.calls).to.have.length(4);
      expect(r.stderr).to.include(`upload: cannot copy /artifacts/target/manifest.json to ${B}/latest/manifest.json`);
      expect(r.stdout).to.include("3 object(s) copied").and.include("1 failed");
    });

    it("refuses an environment or bucket it could not use as a key", () => {
      const r = box.run(uploadScript(), { ...BASE, DBT_PIPELINE_BUCKET: "s3://x y" });
      expect(r.status).to.equal(1);
      expect(r.stderr.trim()).to.equal("upload: DBT_PIPELINE_BUCKET must be an S3 bucket name");
    });
  });
});
