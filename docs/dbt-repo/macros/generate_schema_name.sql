{#-
  Template for the dbt repository: copy to macros/generate_schema_name.sql there.

  Layer schemas, exactly. The pipeline creates the layer schemas (STAGING, ANALYTICS, METRICS,
  MONITORING) and lets its TRANSFORMER role create tables and views in them, not schemas. dbt's
  default generate_schema_name renders `+schema: analytics` as `<target schema>_analytics`
  (dbt-adapters, macros/get_custom_name/get_custom_schema.sql: `{{ default_schema }}_{{ custom_schema_name | trim }}`),
  i.e. STAGING_ANALYTICS, which TRANSFORMER cannot create. This macro:

  - in the pipeline's task, where DBT_PIPELINE_SCHEMA_<LAYER> holds each layer schema's name (set
    by the task definition from the stack's config), puts a model with `+schema: <layer>` in
    exactly that schema, and refuses a custom schema that is not a layer;
  - anywhere else (Slim CI, a laptop), builds into `<target schema>_<layer>`, e.g.
    `ci_pr_123_analytics` for pull request 123: every pull request and layer is isolated, and
    drop_pr_schemas removes them together.

  A model without `+schema` goes to the target's schema (STAGING in the pipeline).
  The env vars are read while dbt parses, so dbt's partial parsing tracks them per file; they
  are constant for a stack, so they never force a re-parse.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}
    {{ target.schema }}
  {%- else -%}
    {%- set layer = custom_schema_name | trim | lower -%}
    {%- set in_pipeline = env_var('DBT_PIPELINE_SCHEMA_STAGING', '') != '' -%}
    {%- if in_pipeline -%}
      {%- set schema = env_var('DBT_PIPELINE_SCHEMA_' ~ (layer | upper), '') -%}
      {%- if schema == '' or layer == 'raw' -%}
        {{ exceptions.raise_compiler_error("schema '" ~ custom_schema_name ~ "' of " ~ node.unique_id ~ " is not a layer the pipeline builds (staging, analytics, metrics, monitoring)") }}
      {%- endif -%}
      {{ schema }}
    {%- else -%}
      {{ target.schema }}_{{ layer }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}
