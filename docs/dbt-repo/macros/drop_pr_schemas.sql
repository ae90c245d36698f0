{#-
  Template for the dbt repository: copy to macros/drop_pr_schemas.sql there.

  Drops every schema a pull request's Slim CI created in the CI database: `ci_pr_<n>` and
  `ci_pr_<n>_<layer>` (generate_schema_name.sql). Run by workflows/ci-cleanup.yml when the pull
  request closes:  dbt run-operation drop_pr_schemas --args '{pr: 123}' --target ci
  Matches names exactly or by the `ci_pr_<n>_` prefix (so pull request 12 never drops 123's),
  with STARTSWITH rather than LIKE, where `_` is a wildcard.
-#}
{% macro drop_pr_schemas(pr) -%}
  {%- if not (pr | string).isdigit() -%}
    {{ exceptions.raise_compiler_error("drop_pr_schemas: pr must be a pull request number, got " ~ pr) }}
  {%- endif -%}
  {%- set base = "CI_PR_" ~ pr -%}
  {%- set found = run_query(
    "select schema_name from " ~ adapter.quote(target.database) ~ ".information_schema.schemata"
    ~ " where schema_name = '" ~ base ~ "' or startswith(schema_name, '" ~ base ~ "_')"
  ) -%}
  {%- for row in found.rows -%}
    {% do log("dropping schema " ~ target.database ~ "." ~ row[0], info=true) %}
    {% do run_query("drop schema if exists " ~ adapter.quote(target.database) ~ "." ~ adapter.quote(row[0]) ~ " cascade") %}
  {%- endfor -%}
  {% do log("dropped " ~ (found.rows | length) ~ " schema(s) of pull request " ~ pr, info=true) %}
{%- endmacro %}
