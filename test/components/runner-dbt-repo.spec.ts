/**
 * The dbt repository's templates agree with what the runner and the Snowflake components
 * provide: the env var names the macros read, the entry point the Dockerfile must support, the
 * Slim CI flags and the pull-request cleanup.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { DBT_ENTRY_POINT, layerSchemaVariable } from "../../components/runner/containers";
import { SCHEMA_KEYS } from "../../components/snowflake/access";
import { OVERRIDE_ENV } from "../../functions/lib/run-contract";
import { ROOT } from "../helpers/stack";
import { at, obj, objs } from "./recorded";

const read = (file: string) => fs.readFileSync(path.join(ROOT, "docs/dbt-repo", file), "utf8");

describe("dbt repository templates and the runner", () => {
  it("the task names every layer schema DBT_PIPELINE_SCHEMA_<LAYER>, as the schema macro reads them", () => {
    expect(SCHEMA_KEYS.map(layerSchemaVariable)).to.deep.equal([
      "DBT_PIPELINE_SCHEMA_RAW",
      "DBT_PIPELINE_SCHEMA_STAGING",
      "DBT_PIPELINE_SCHEMA_ANALYTICS",
      "DBT_PIPELINE_SCHEMA_METRICS",
      "DBT_PIPELINE_SCHEMA_MONITORING",
    ]);
    const macro = read("macros/generate_schema_name.sql");
    expect(macro).to.include("env_var('DBT_PIPELINE_SCHEMA_STAGING', '')");
    expect(macro).to.include("env_var('DBT_PIPELINE_SCHEMA_' ~ (layer | upper), '')");
    expect(macro).to.include("{{ target.schema }}_{{ layer }}");
  });

  it("the query-tag macro reads the run id and trigger kinds the launch sets", () => {
    const macro = read("macros/query_tag.sql");
    for (const name of [OVERRIDE_ENV.runId, OVERRIDE_ENV.triggers])
      expect(macro).to.include(`env_var("${name}", "local")`);
    expect(macro)
      .to.include("{% macro snowflake__set_query_tag() -%}")
      .and.include("{% macro snowflake__unset_query_tag(original_query_tag) -%}");
  });

  it("the Dockerfile provides the entry point the task definition sets", () => {
    const dockerfile = read("Dockerfile");
    expect(DBT_ENTRY_POINT).to.deep.equal(["dumb-init", "--rewrite", "15:2", "--"]);
    expect(dockerfile).to.match(/^RUN pip install --no-cache-dir dumb-init==\d+\.\d+\.\d+$/m);
    expect(dockerfile).to.include('ENTRYPOINT ["dumb-init", "--rewrite", "15:2", "--", "dbt"]');
  });

  it("ci.yml defers with --favor-state and tells a missing prod manifest from a denied one", () => {
    const ci = read("workflows/ci.yml");
    expect(ci).to.include(
      "dbt build --select state:modified+ --defer --state prod-artifacts/ --target ci --favor-state",
    );
    expect(ci).to.include(
      'aws s3api list-objects-v2 --bucket "$BUCKET" --prefix prod/latest/manifest.json --query KeyCount --output text',
    );
    expect(ci).to.include("set -eu");
  });

  it("ci-cleanup.yml drops the pull request's schemas when it closes, with no AWS role and no OIDC token", () => {
    const wf = obj(yaml.load(read("workflows/ci-cleanup.yml")));
    expect(wf.on).to.deep.equal({ pull_request: { types: ["closed"] } });
    expect(wf.permissions).to.deep.equal({ contents: "read" });
    const job = obj(at(wf, "jobs", "drop-pr-schemas"));
    expect(job.permissions).to.deep.equal({ contents: "read" });
    expect(job.if).to.equal("github.event.pull_request.head.repo.full_name == github.repository");
    expect(at(job, "env", "PR_NUMBER")).to.equal("${{ github.event.pull_request.number }}");
    expect(
      objs(job.steps)
        .map((s) => (typeof s.run === "string" ? s.run : ""))
        .join("\n"),
    ).to.include('dbt run-operation drop_pr_schemas --args "{pr: $PR_NUMBER}" --target ci');
    expect(JSON.stringify(job)).not.to.include("configure-aws-credentials");
    expect(read("macros/drop_pr_schemas.sql")).to.include(
      "schema_name = '\" ~ base ~ \"' or startswith(schema_name, '\" ~ base ~ \"_')",
    );
  });
});
