{#-
  Template for the dbt repository: copy to macros/query_tag.sql there.

  Cost attribution: every model's queries carry a Snowflake query tag with the pipeline's run id,
  the trigger kinds it served and the model, e.g.
  {"app": "dbt-pipeline", "run_id": "20261122t100000-ab12cd34", "triggers": "fivetran", "node": "model.shop.orders"}
  so QUERY_HISTORY can be summed per run, trigger or model.

  Why a macro and not the profile: `query_tag` in profiles.yml is one of the connection keys
  whose hash decides whether dbt may reuse its partial-parse cache (dbt-core
  parser/manifest.py, build_manifest_state_check: profile_hash over connection_info()), so a
  per-run value there would force a full parse on every run. The profile keeps a constant tag
  (`dbt-pipeline <target>`, the session default, which freshness checks and tests carry); these
  macros set the per-run tag around each materialization. dbt-snowflake calls set_query_tag()
  and unset_query_tag() from its materializations through adapter.dispatch('set_query_tag', 'dbt'),
  which finds the root project's snowflake__ version first (dbt-snowflake
  macros/adapters.sql). DBT_PIPELINE_RUN_ID and DBT_PIPELINE_TRIGGERS are set by the pipeline's
  launch for each run; elsewhere the tag says "local".
  The env vars are read when a model runs, not when dbt parses: they do not touch partial parsing.
-#}
{% macro snowflake__set_query_tag() -%}
  {%- set tag = {
    "app": "dbt-pipeline",
    "run_id": env_var("DBT_PIPELINE_RUN_ID", "local"),
    "triggers": env_var("DBT_PIPELINE_TRIGGERS", "local"),
    "node": model.unique_id,
  } -%}
  {%- set original_query_tag = get_current_query_tag() -%}
  {% do run_query("alter session set query_tag = '" ~ (tojson(tag) | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'") %}
  {{ return(original_query_tag) }}
{%- endmacro %}

{% macro snowflake__unset_query_tag(original_query_tag) -%}
  {%- if original_query_tag -%}
    {% do run_query("alter session set query_tag = '" ~ (original_query_tag | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'") %}
  {%- else -%}
    {% do run_query("alter session unset query_tag") %}
  {%- endif -%}
{%- endmacro %}
