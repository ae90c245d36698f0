import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import {
  ENV,
  PROFILE_FIELDS,
  dbtWrapperScript,
  prepareScript,
  profilesYaml,
  uploadScript,
} from "../../components/runner/scripts";
import { RUN_ID_RE } from "../../functions/lib/run-contract";

/**
 * A sandbox: the scripts' absolute paths moved under a temp dir, and a fake `aws` that logs its
 * argv and keeps the bucket as a directory (`s3/<key>`), so tests can read what ended up where.
 */
function sandbox() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runner-script-"));
  const bin = path.join(root, "bin");
  const s3 = path.join(root, "s3");
  fs.mkdirSync(bin);
  fs.mkdirSync(s3);
  fs.mkdirSync(path.join(root, "dbt-tmp"));
  fs.writeFileSync(
    path.join(bin, "aws"),
    [
      "#!/bin/sh",
      'echo "$*" >> "$FAKE_AWS_LOG"',
      'if [ -n "$FAKE_AWS_FAIL" ]; then case "$*" in *"$FAKE_AWS_FAIL"*) echo "fake aws: failing $*" >&2; exit 1;; esac; fi',
      // `aws s3 cp --recursive --only-show-errors s3://<bucket>/<prefix>/ <dest>`: like the real CLI, an empty prefix copies nothing and succeeds.
      'if [ "$3" = "--recursive" ]; then key="${5#s3://*/}"; if [ -d "$FAKE_S3/$key" ]; then cp -R "$FAKE_S3/$key." "$6"; fi; exit 0; fi',
      // `aws s3 cp --only-show-errors <file> s3://<bucket>/<key>`
      'key="${5#s3://*/}"; mkdir -p "$(dirname "$FAKE_S3/$key")" && cp "$4" "$FAKE_S3/$key"',
    ].join("\n") + "\n",
    { mode: 0o755 },
  );
  const log = path.join(root, "aws.log");
  const local = (script: string) =>
    script.replaceAll("/artifacts", path.join(root, "artifacts")).replaceAll("/dbt-tmp", path.join(root, "dbt-tmp"));
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
  /** Writes an object of the fake bucket. */
  const put = (key: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(s3, key)), { recursive: true });
    fs.writeFileSync(path.join(s3, key), text);
  };
  /** Every object of the fake bucket under `prefix`, as key → text. */
  const objects = (prefix = ""): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else out[path.relative(s3, p)] = fs.readFileSync(p, "utf8");
      }
    };
    walk(s3);
    return Object.fromEntries(
      Object.entries(out)
        .filter(([k]) => k.startsWith(prefix))
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  };
  return { root, s3, run, file, put, objects, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

const mode = (p: string) => fs.statSync(p).mode & 0o7777;
const BASE = { DBT_PIPELINE_BUCKET: "dbt-pipeline-dev-artifacts-123456789012", DBT_PIPELINE_ENV: "dev" };

describe("runner scripts", () => {
  describe("as text", () => {
    const scripts = { prepare: prepareScript, "dbt wrapper": dbtWrapperScript, upload: uploadScript };
    for (const [what, make] of Object.entries(scripts)) {
      const script = make();
      it(`${what}: one constant text, no value of any stack inside`, () => {
        expect(script).to.equal(make());
        expect(script, "no ${...}: nothing interpolated, by Pulumi or by shell parameter expansion").not.to.include(
          "${",
        );
        for (const value of ["dbt-pipeline-", "123456789012", "arn:", "ACMEORG", "eu-west-1", "prod", "git-"])
          expect(script).not.to.include(value);
      });
    }

    it("the profile is dbt_pipeline with one output named after the target, every value from env_var", () => {
      const doc = yaml.load(profilesYaml("prod"));
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
              connect_retries: 5,
              connect_timeout: 10,
              retry_on_database_errors: true,
              query_tag: "dbt-pipeline {{ env_var('DBT_TARGET') }}",
            },
          },
        },
      });
    });

    it("the private key comes from a DBT_ENV_SECRET_ variable, which dbt scrubs from its logs", () => {
      expect(PROFILE_FIELDS.find(([f]) => f === "private_key")?.[1])
        .to.equal(ENV.privateKey)
        .and.match(/^DBT_ENV_SECRET_/);
    });

    it("refuses a target that is not a dbt target name", () => {
      expect(() => profilesYaml("prod: {}")).to.throw('profilesYaml: "prod: {}" is not a dbt target name');
    });
  });

  describe("prepare, run in sh", () => {
    let box: ReturnType<typeof sandbox>;
    beforeEach(() => {
      box = sandbox();
    });
    afterEach(() => box.cleanup());
    const B = "s3://dbt-pipeline-dev-artifacts-123456789012/dev";

    it("writes profiles.yml, opens the directories to the dbt user and downloads the previous state", () => {
      box.put("dev/latest/manifest.json", "{}");
      box.put("dev/latest/sources.json", '{"results": ["previous"]}');
      box.put("dev/runs/r-20261122-0001/run_results.json", "not this one");
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" });
      expect(r.stderr).to.equal("");
      expect(r.status).to.equal(0);
      expect(fs.readFileSync(box.file("profiles/profiles.yml"), "utf8")).to.equal(profilesYaml("dev"));
      for (const dir of ["profiles", "target", "logs", "state", "retry-state", "status"])
        expect(mode(box.file(dir)), dir).to.equal(0o777);
      expect(mode(path.join(box.root, "dbt-tmp"))).to.equal(0o1777);
      expect(r.calls).to.deep.equal([`s3 cp --recursive --only-show-errors ${B}/latest/ /artifacts/state/`]);
      expect(fs.readdirSync(box.file("state")).sort()).to.deep.equal(["manifest.json", "sources.json"]);
      expect(fs.readFileSync(box.file("state/sources.json"), "utf8")).to.equal('{"results": ["previous"]}');
      expect(fs.readdirSync(box.file("retry-state"))).to.deep.equal([]);
    });

    it("on the first run (latest/ empty) seeds an empty sources.json that dbt reads as 'no source had results before'", () => {
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" });
      expect(r.status).to.equal(0);
      expect(fs.readdirSync(box.file("state")).sort()).to.deep.equal(["manifest.json", "sources.json"]);
      // dbt-core 1.8-1.10: sources artifact v3; metadata fields it does not find take their defaults.
      expect(JSON.parse(fs.readFileSync(box.file("state/sources.json"), "utf8"))).to.deep.equal({
        metadata: {
          dbt_schema_version: "https://schemas.getdbt.com/dbt/sources/v3.json",
          generated_at: "1970-01-01T00:00:00Z",
          invocation_id: null,
          env: {},
        },
        results: [],
        elapsed_time: 0,
      });
      expect(r.stdout).to.include("prepare: no previous sources.json (first run): seeded an empty one");
      // Manifest schema v12 (dbt 1.8-1.10): every mapping WritableManifest requires, empty, so state:modified+ selects every node.
      expect(JSON.parse(fs.readFileSync(box.file("state/manifest.json"), "utf8"))).to.deep.equal({
        metadata: {
          dbt_schema_version: "https://schemas.getdbt.com/dbt/manifest/v12.json",
          generated_at: "1970-01-01T00:00:00Z",
          invocation_id: null,
          env: {},
        },
        nodes: {},
        sources: {},
        macros: {},
        docs: {},
        exposures: {},
        metrics: {},
        groups: {},
        selectors: {},
        disabled: {},
        parent_map: {},
        child_map: {},
        group_map: {},
        saved_queries: {},
        semantic_models: {},
        unit_tests: {},
      });
      expect(r.stdout).to.include(
        "prepare: no previous manifest.json (no successful run yet): seeded an empty one, so state:modified+ selects every node",
      );
      expect(fs.readdirSync(box.file("target"))).to.deep.equal([]);
    });

    it("keeps the previous manifest.json when there is one (the baseline of state:modified+)", () => {
      box.put("dev/latest/manifest.json", '{"nodes": {"model.p.a": {}}}');
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" });
      expect(r.status).to.equal(0);
      expect(fs.readFileSync(box.file("state/manifest.json"), "utf8")).to.equal('{"nodes": {"model.p.a": {}}}');
      expect(r.stdout).not.to.include("no previous manifest.json");
    });

    it("seeds sources.json when the last successful runs never compared freshness", () => {
      box.put("dev/latest/manifest.json", "{}");
      box.put("dev/latest/run_results.json", "{}");
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" });
      expect(r.status).to.equal(0);
      expect(fs.readdirSync(box.file("state")).sort()).to.deep.equal([
        "manifest.json",
        "run_results.json",
        "sources.json",
      ]);
    });

    it("puts the partial-parse cache back into dbt's target path, writable by a non-root dbt user", () => {
      box.put("dev/latest/partial_parse.msgpack", "msgpack");
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" });
      expect(r.status).to.equal(0);
      expect(fs.readFileSync(box.file("target/partial_parse.msgpack"), "utf8")).to.equal("msgpack");
      expect(mode(box.file("target/partial_parse.msgpack"))).to.equal(0o666);
    });

    it("fails when the previous state cannot be downloaded", () => {
      const r = box.run(prepareScript(), { ...BASE, DBT_TARGET: "dev" }, "/latest/");
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include(`prepare: cannot download the previous state from ${B}/latest/`);
    });

    it("for a retry, downloads the named run's artifacts into their own state directory", () => {
      box.put("dev/latest/run_results.json", "latest, successful");
      box.put("dev/runs/20261121t230000-0badcafe/run_results.json", "the failed run");
      box.put("dev/runs/20261121t230000-0badcafe/manifest.json", "{}");
      const r = box.run(prepareScript(), {
        ...BASE,
        DBT_TARGET: "dev",
        DBT_PIPELINE_RETRY_OF: "20261121t230000-0badcafe",
      });
      expect(r.stderr).to.equal("");
      expect(r.status).to.equal(0);
      expect(r.calls).to.deep.equal([
        `s3 cp --recursive --only-show-errors ${B}/latest/ /artifacts/state/`,
        `s3 cp --recursive --only-show-errors ${B}/runs/20261121t230000-0badcafe/ /artifacts/retry-state/`,
      ]);
      expect(fs.readFileSync(box.file("retry-state/run_results.json"), "utf8")).to.equal("the failed run");
      expect(r.stdout).to.include("prepare: dbt retry re-runs the failures of run 20261121t230000-0badcafe");
    });

    it("fails a retry of a run that has no run_results.json (expired, or dbt never ran)", () => {
      const r = box.run(prepareScript(), {
        ...BASE,
        DBT_TARGET: "dev",
        DBT_PIPELINE_RETRY_OF: "20261121t230000-0badcafe",
      });
      expect(r.status).to.equal(1);
      expect(r.stderr.trim()).to.equal(
        `prepare: run 20261121t230000-0badcafe has no run_results.json under ${B}/runs/20261121t230000-0badcafe/: nothing to retry (dbt never ran, or its artifacts expired)`,
      );
    });

    it("fails a retry whose run cannot be downloaded", () => {
      const r = box.run(
        prepareScript(),
        { ...BASE, DBT_TARGET: "dev", DBT_PIPELINE_RETRY_OF: "20261121t230000-0badcafe" },
        "/runs/",
      );
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include(
        `prepare: cannot download run 20261121t230000-0badcafe from ${B}/runs/20261121t230000-0badcafe/`,
      );
    });

    const bad: [string, Record<string, string>, string][] = [
      [
        "a target carrying shell",
        { ...BASE, DBT_TARGET: "dev$(id)" },
        "prepare: DBT_TARGET must be a dbt target name (a-z, 0-9, _)",
      ],
      [
        "a target carrying YAML",
        { ...BASE, DBT_TARGET: "dev: {}" },
        "prepare: DBT_TARGET must be a dbt target name (a-z, 0-9, _)",
      ],
      ["no target", { ...BASE }, "prepare: DBT_TARGET must be a dbt target name (a-z, 0-9, _)"],
      [
        "an environment with a slash",
        { ...BASE, DBT_TARGET: "dev", DBT_PIPELINE_ENV: "dev/../prod" },
        "prepare: DBT_PIPELINE_ENV must be an environment name (a-z, 0-9, -)",
      ],
      [
        "no bucket",
        { DBT_PIPELINE_ENV: "dev", DBT_TARGET: "dev" },
        "prepare: DBT_PIPELINE_BUCKET must be an S3 bucket name",
      ],
      [
        "a retried run id that leaves its prefix",
        { ...BASE, DBT_TARGET: "dev", DBT_PIPELINE_RETRY_OF: "../latest" },
        "prepare: DBT_PIPELINE_RETRY_OF must be a run id (a-z, 0-9, -)",
      ],
      [
        "a retried run id that looks like a flag",
        { ...BASE, DBT_TARGET: "dev", DBT_PIPELINE_RETRY_OF: "--recursive" },
        "prepare: DBT_PIPELINE_RETRY_OF must be a run id (a-z, 0-9, -)",
      ],
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

  describe("dbt wrapper, run in sh", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "dbt-wrapper-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const wrap = (...command: string[]) =>
      spawnSync(
        "/bin/sh",
        ["-c", dbtWrapperScript(), "dbt-pipeline-wrapper", path.join(dir, "dbt-succeeded"), ...command],
        { encoding: "utf8" },
      );

    it("passes dbt's arguments through untouched and leaves the marker when dbt exits 0", () => {
      const r = wrap(
        "/bin/sh",
        "-c",
        'printf "%s|" "$@"',
        "dbt",
        "build",
        "--select",
        "source:stripe+",
        '{"error": ["x y"]}',
      );
      expect(r.status).to.equal(0);
      expect(r.stdout).to.equal('build|--select|source:stripe+|{"error": ["x y"]}|');
      expect(fs.existsSync(path.join(dir, "dbt-succeeded"))).to.equal(true);
    });

    for (const code of [1, 2]) {
      it(`exits with dbt's code ${code} and leaves no marker`, () => {
        const r = wrap("/bin/sh", "-c", `exit ${code}`);
        expect(r.status).to.equal(code);
        expect(fs.existsSync(path.join(dir, "dbt-succeeded"))).to.equal(false);
      });
    }

    it("fails the run when dbt succeeded but the marker cannot be written", () => {
      const r = spawnSync(
        "/bin/sh",
        ["-c", dbtWrapperScript(), "w", path.join(dir, "missing", "dbt-succeeded"), "/bin/sh", "-c", "exit 0"],
        { encoding: "utf8" },
      );
      expect(r.status).to.equal(1);
      expect(r.stderr).to.include(
        `dbt-pipeline: dbt succeeded but ${path.join(dir, "missing", "dbt-succeeded")} cannot be written`,
      );
    });

    it("on SIGINT to the process group (dumb-init's rewritten SIGTERM), waits for dbt to finish cleaning up and exits with its code", async () => {
      const ready = path.join(dir, "ready");
      const cleaned = path.join(dir, "cleaned");
      // A stand-in for dbt: on SIGINT it writes its results, then exits 130 as Python does after KeyboardInterrupt.
      const fakeDbt = `trap 'sleep 0.3; echo results > "${cleaned}"; exit 130' INT; touch "${ready}"; while :; do sleep 0.05; done`;
      const child = spawn(
        "/bin/sh",
        ["-c", dbtWrapperScript(), "w", path.join(dir, "dbt-succeeded"), "/bin/sh", "-c", fakeDbt],
        { detached: true, stdio: "ignore" },
      );
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("exit", (code, signal) => resolve({ code, signal })),
      );
      for (let i = 0; i < 100 && !fs.existsSync(ready); i++) await new Promise((r) => setTimeout(r, 20));
      process.kill(-child.pid!, "SIGINT");
      // The wrapper outlives the signal (a killed wrapper would end the container under dbt) and returns dbt's code.
      expect(await exited).to.deep.equal({ code: 130, signal: null });
      expect(fs.readFileSync(cleaned, "utf8")).to.equal("results\n");
      expect(fs.existsSync(path.join(dir, "dbt-succeeded"))).to.equal(false);
    });
  });

  describe("upload, run in sh", () => {
    let box: ReturnType<typeof sandbox>;
    beforeEach(() => {
      box = sandbox();
      for (const dir of ["target", "logs"]) fs.mkdirSync(box.file(dir), { recursive: true });
      box.put("dev/latest/manifest.json", "previous manifest");
      box.put("dev/latest/run_results.json", "previous results");
      box.put("dev/latest/sources.json", "previous sources");
    });
    afterEach(() => box.cleanup());
    const B = "s3://dbt-pipeline-dev-artifacts-123456789012/dev";
    const RUN = { ...BASE, DBT_PIPELINE_RUN_ID: "r-20261122-0001" };
    const succeeded = () => {
      fs.mkdirSync(box.file("status"));
      fs.writeFileSync(box.file("status/dbt-succeeded"), "");
    };
    const wrote = (files: Record<string, string>) => {
      for (const [p, text] of Object.entries(files)) fs.writeFileSync(box.file(p), text);
    };

    it("after a success: the run's prefix gets everything, then latest/ gets the state files and the parse cache", () => {
      wrote({
        "target/manifest.json": "m",
        "target/run_results.json": "r",
        "target/sources.json": "s",
        "target/partial_parse.msgpack": "pp",
        "logs/dbt.log": "log",
      });
      succeeded();
      const r = box.run(uploadScript(), RUN);
      expect(r.stderr).to.equal("");
      expect(r.status).to.equal(0);
      expect(r.calls).to.deep.equal([
        `s3 cp --only-show-errors /artifacts/target/manifest.json ${B}/runs/r-20261122-0001/manifest.json`,
        `s3 cp --only-show-errors /artifacts/target/run_results.json ${B}/runs/r-20261122-0001/run_results.json`,
        `s3 cp --only-show-errors /artifacts/target/sources.json ${B}/runs/r-20261122-0001/sources.json`,
        `s3 cp --only-show-errors /artifacts/logs/dbt.log ${B}/runs/r-20261122-0001/dbt.log`,
        `s3 cp --only-show-errors /artifacts/target/manifest.json ${B}/latest/manifest.json`,
        `s3 cp --only-show-errors /artifacts/target/run_results.json ${B}/latest/run_results.json`,
        `s3 cp --only-show-errors /artifacts/target/sources.json ${B}/latest/sources.json`,
        `s3 cp --only-show-errors /artifacts/target/partial_parse.msgpack ${B}/latest/partial_parse.msgpack`,
        `s3 cp --only-show-errors /artifacts/target/sources.json ${B}/observed/sources.json`,
      ]);
      expect(box.objects("dev/latest/")).to.deep.equal({
        "dev/latest/manifest.json": "m",
        "dev/latest/partial_parse.msgpack": "pp",
        "dev/latest/run_results.json": "r",
        "dev/latest/sources.json": "s",
      });
      expect(r.stdout)
        .to.include("upload: latest/ advanced to run r-20261122-0001")
        .and.include("upload: run r-20261122-0001: 9 object(s) copied, 0 failed");
    });

    it("after a failure: the run's prefix gets everything, latest/ keeps the last successful run", () => {
      wrote({
        "target/manifest.json": "m",
        "target/run_results.json": "errors",
        "target/sources.json": "s",
        "target/partial_parse.msgpack": "pp",
        "logs/dbt.log": "log",
      });
      const r = box.run(uploadScript(), RUN);
      expect(r.status).to.equal(0);
      expect(box.objects()).to.deep.equal({
        "dev/latest/manifest.json": "previous manifest",
        "dev/latest/run_results.json": "previous results",
        "dev/latest/sources.json": "previous sources",
        // What the freshness step observed holds whatever dbt did next: the staleness metrics read it.
        "dev/observed/sources.json": "s",
        "dev/runs/r-20261122-0001/dbt.log": "log",
        "dev/runs/r-20261122-0001/manifest.json": "m",
        "dev/runs/r-20261122-0001/run_results.json": "errors",
        "dev/runs/r-20261122-0001/sources.json": "s",
      });
      expect(r.stdout).to.include("upload: dbt did not succeed: latest/ stays at the last successful run");
    });

    it("a freshness check run by hand goes to the run's prefix only: it is no baseline", () => {
      wrote({ "target/freshness-check.json": "check", "target/manifest.json": "m", "target/run_results.json": "r" });
      succeeded();
      const r = box.run(uploadScript(), RUN);
      expect(r.status).to.equal(0);
      expect(box.objects()).to.deep.equal({
        "dev/latest/manifest.json": "m",
        "dev/latest/run_results.json": "r",
        "dev/latest/sources.json": "previous sources",
        "dev/runs/r-20261122-0001/freshness-check.json": "check",
        "dev/runs/r-20261122-0001/manifest.json": "m",
        "dev/runs/r-20261122-0001/run_results.json": "r",
      });
    });

    it("after a success without a freshness step, latest/sources.json stays the last freshness baseline", () => {
      wrote({ "target/manifest.json": "m", "target/run_results.json": "r" });
      succeeded();
      const r = box.run(uploadScript(), RUN);
      expect(r.status).to.equal(0);
      expect(box.objects("dev/latest/")).to.deep.equal({
        "dev/latest/manifest.json": "m",
        "dev/latest/run_results.json": "r",
        "dev/latest/sources.json": "previous sources",
      });
    });

    it("does not advance latest/ when the run's own copy failed, and exits 1", () => {
      wrote({ "target/manifest.json": "m", "target/run_results.json": "r", "logs/dbt.log": "log" });
      succeeded();
      const r = box.run(uploadScript(), RUN, "runs/r-20261122-0001/run_results.json");
      expect(r.status).to.equal(1);
      expect(r.calls).to.have.length(3);
      expect(box.objects("dev/latest/")).to.deep.equal({
        "dev/latest/manifest.json": "previous manifest",
        "dev/latest/run_results.json": "previous results",
        "dev/latest/sources.json": "previous sources",
      });
      expect(r.stderr).to.equal(
        `fake aws: failing s3 cp --only-show-errors /artifacts/target/run_results.json ${B}/runs/r-20261122-0001/run_results.json\n` +
          `upload: cannot copy /artifacts/target/run_results.json to ${B}/runs/r-20261122-0001/run_results.json\n` +
          "upload: not advancing latest/: the run's own copy is incomplete\n",
      );
    });

    it("exits 1 when a copy to latest/ fails, after trying every other copy", () => {
      wrote({ "target/manifest.json": "m", "target/run_results.json": "r" });
      succeeded();
      const r = box.run(uploadScript(), RUN, "latest/manifest.json");
      expect(r.status).to.equal(1);
      expect(r.calls).to.have.length(4);
      expect(r.stderr).to.include(`upload: cannot copy /artifacts/target/manifest.json to ${B}/latest/manifest.json`);
      expect(r.stdout).to.include("3 object(s) copied, 1 failed").and.not.include("advanced");
    });

    it("files a run started outside the launch Lambda under a timestamp id the run contract accepts", () => {
      wrote({ "target/run_results.json": "r" });
      const r = box.run(uploadScript(), BASE);
      expect(r.status).to.equal(0);
      const id = /\/runs\/([^/]+)\/run_results\.json$/.exec(r.calls[0])?.[1];
      expect(id)
        .to.match(/^manual-\d{8}t\d{6}z$/)
        .and.match(RUN_ID_RE);
    });

    it("ignores a run id that could escape its prefix, and says so", () => {
      wrote({ "target/run_results.json": "r" });
      const r = box.run(uploadScript(), { ...BASE, DBT_PIPELINE_RUN_ID: "../latest" });
      expect(r.stderr).to.include("upload: ignoring DBT_PIPELINE_RUN_ID=../latest: not a run id (a-z, 0-9, -)");
      expect(r.calls[0]).to.match(/\/dev\/runs\/manual-\d{8}t\d{6}z\/run_results\.json$/);
    });

    it("exits 0 with nothing to upload (dbt never wrote its target)", () => {
      const r = box.run(uploadScript(), RUN);
      expect(r.status).to.equal(0);
      expect(r.calls).to.deep.equal([]);
    });

    it("refuses an environment or bucket it could not use as a key", () => {
      const r = box.run(uploadScript(), { ...BASE, DBT_PIPELINE_BUCKET: "s3://x y" });
      expect(r.status).to.equal(1);
      expect(r.stderr.trim()).to.equal("upload: DBT_PIPELINE_BUCKET must be an S3 bucket name");
    });
  });
});
