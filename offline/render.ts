/**
 * Turns an {@link Evaluation} into the offline plan's three views: a terminal tree, a JSON
 * document (`plan/<stack>.json`) and a Markdown review page (`plan/<stack>.md`), plus the diff
 * of two JSON plans. Secret inputs and outputs are redacted in all of them.
 */
import { truncate } from "../functions/lib/errors";
import { Evaluation, keyOf } from "./mocks";

/** Banner that every view carries: this is not `pulumi preview`. */
export const BANNER =
  "OFFLINE PLAN: the real program evaluated under Pulumi runtime mocks. This is not `pulumi preview`: " +
  "no cloud was contacted, ids and ARNs are fake, and secrets are placeholders that were never decrypted.";
export const REDACTED = "[secret]";

/** A resource as the JSON plan stores it. */
export interface PlanResource {
  readonly key: string;
  readonly type: string;
  readonly name: string;
  readonly parent?: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  readonly secretInputs: readonly string[];
  readonly options: Record<string, unknown>;
}

/** The JSON plan document. */
export interface PlanDocument {
  readonly kind: "dbt-pipeline offline plan";
  readonly note: string;
  readonly stack: string;
  readonly resources: readonly PlanResource[];
  readonly outputs: Record<string, unknown>;
}

function redact(value: unknown, secretPaths: readonly string[], at = ""): unknown {
  if (secretPaths.includes(at) && at !== "") return REDACTED;
  if (Array.isArray(value)) return value.map((v, i) => redact(v, secretPaths, at ? `${at}.${i}` : String(i)));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, redact(v, secretPaths, at ? `${at}.${k}` : k)]),
    );
  }
  return value;
}

/** Builds the JSON plan (secrets redacted, resources in a stable order). */
export function toPlanDocument(ev: Evaluation): PlanDocument {
  const resources = [...ev.resources]
    .sort((a, b) => keyOf(a.type, a.name).localeCompare(keyOf(b.type, b.name)))
    .map((r): PlanResource => ({
      key: keyOf(r.type, r.name),
      type: r.type,
      name: r.name,
      parent: r.parent,
      custom: r.custom,
      inputs: redact(r.inputs, r.secretPaths) as Record<string, unknown>,
      secretInputs: r.secretPaths,
      options: r.options as Record<string, unknown>,
    }));
  return {
    kind: "dbt-pipeline offline plan",
    note: BANNER,
    stack: ev.stack,
    resources,
    outputs: redact(ev.outputs, ev.secretOutputs) as Record<string, unknown>,
  };
}

/** Inputs a reviewer cares about, by resource type. */
const HIGHLIGHTS: Record<string, string[]> = {
  "snowflake:index/database:Database": ["name", "dataRetentionTimeInDays"],
  "snowflake:index/schema:Schema": ["name", "withManagedAccess"],
  "snowflake:index/warehouse:Warehouse": ["name", "warehouseSize", "autoSuspend", "resourceMonitor"],
  "snowflake:index/resourceMonitor:ResourceMonitor": ["name", "creditQuota", "notifyTriggers", "suspendTrigger"],
  "snowflake:index/accountRole:AccountRole": ["name"],
  "snowflake:index/serviceUser:ServiceUser": ["name", "defaultRole", "defaultWarehouse"],
  "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole": ["accountRoleName", "privileges"],
  "snowflake:index/grantAccountRole:GrantAccountRole": ["roleName", "parentRoleName", "userName"],
  "snowflake:index/table:Table": ["name"],
  "snowflake:index/notificationIntegration:NotificationIntegration": ["name", "notificationProvider"],
  "aws:sns/topic:Topic": ["name"],
  "aws:ecs/taskDefinition:TaskDefinition": ["family", "cpu", "memory", "runtimePlatform"],
  "aws:ecs/cluster:Cluster": ["name", "settings"],
  "aws:lambda/function:Function": ["runtime", "architectures", "memorySize", "timeout", "reservedConcurrentExecutions"],
  "aws:sqs/queue:Queue": ["name", "fifoQueue", "visibilityTimeoutSeconds", "messageRetentionSeconds"],
  "aws:scheduler/schedule:Schedule": ["scheduleExpression", "scheduleExpressionTimezone", "state"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "retentionInDays"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["metricName", "threshold", "evaluationPeriods"],
  "aws:s3/bucket:Bucket": ["bucket"],
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ["rules"],
  "aws:ecr/repository:Repository": ["name", "imageTagMutability"],
  "aws:apigatewayv2/route:Route": ["routeKey"],
  "aws:apigatewayv2/stage:Stage": ["name", "defaultRouteSettings"],
  "aws:dynamodb/table:Table": ["name", "billingMode", "ttl"],
};

function brief(value: unknown): string {
  const s = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return truncate(s, 70);
}

/** One line of settings for a resource. */
export function summary(r: PlanResource): string {
  const parts = (HIGHLIGHTS[r.type] ?? [])
    .filter((k) => r.inputs[k] !== undefined)
    .map((k) => `${k}=${brief(r.inputs[k])}`);
  for (const flag of ["protect", "retainOnDelete", "deleteBeforeReplace"]) if (r.options[flag]) parts.push(flag);
  return parts.join("  ");
}

/** The terminal tree, grouped by component. */
export function renderTree(doc: PlanDocument): string {
  const children = new Map<string | undefined, PlanResource[]>();
  for (const r of doc.resources) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const lines: string[] = [
    BANNER,
    "",
    `Stack ${doc.stack}: ${doc.resources.filter((r) => r.custom).length} resources in ${doc.resources.filter((r) => !r.custom).length} components`,
  ];
  const walk = (parent: string | undefined, indent: string) => {
    const list = (children.get(parent) ?? []).sort(
      (a, b) => Number(a.custom) - Number(b.custom) || a.key.localeCompare(b.key),
    );
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      const s = summary(r);
      lines.push(`${indent}${last ? "└─ " : "├─ "}${r.type}  ${r.name}${s ? `  ${s}` : ""}`);
      walk(r.key, indent + (last ? "   " : "│  "));
    });
  };
  walk(undefined, "");
  lines.push("", "Outputs:");
  for (const [k, v] of Object.entries(doc.outputs)) lines.push(`  ${k}: ${brief(v)}`);
  return lines.join("\n");
}

/** The Mermaid diagram of the pipeline, drawn from what the stack declares. */
export function renderMermaid(doc: PlanDocument): string {
  const has = (type: string) => doc.resources.some((r) => r.type === type);
  const lines = ["flowchart LR"];
  if (has("aws:apigatewayv2/api:Api"))
    lines.push("  wh[Airbyte / Fivetran webhooks] --> api[HTTP API]", "  api --> dispatch");
  // The streams and tasks are made in Snowflake by the change-detection reconciler; its integration marks the path.
  if (has("snowflake:index/notificationIntegration:NotificationIntegration"))
    lines.push("  raw[(RAW tables)] --> stream[streams + triggered tasks] --> sns[SNS] --> dispatch");
  if (has("aws:scheduler/schedule:Schedule")) lines.push("  sched[EventBridge Scheduler] --> dispatch");
  if (has("aws:sqs/queue:Queue"))
    lines.push("  dispatch[dispatch Lambda] --> queue[(run queue)] --> launch[launch Lambda]");
  if (has("aws:ecs/taskDefinition:TaskDefinition"))
    lines.push(
      "  launch --> ecs[ECS Fargate: dbt build]",
      "  ecs --> sf[(Snowflake RAW → STAGING → ANALYTICS → METRICS)]",
      "  ecs --> s3[(S3 artifacts)]",
    );
  if (has("aws:cloudwatch/eventRule:EventRule"))
    lines.push("  ecs -- task stopped --> notify[notify Lambda] --> out[Slack / SNS / event bus]");
  return lines.join("\n");
}

/** The Markdown review page. */
export function renderMarkdown(doc: PlanDocument): string {
  const byParent = new Map<string, PlanResource[]>();
  for (const r of doc.resources) {
    if (!r.custom) continue;
    const list = byParent.get(r.parent ?? "(stack)") ?? [];
    list.push(r);
    byParent.set(r.parent ?? "(stack)", list);
  }
  const out = [
    `# Offline plan: stack \`${doc.stack}\``,
    "",
    `> ${BANNER}`,
    "",
    "```mermaid",
    renderMermaid(doc),
    "```",
    "",
  ];
  for (const [parent, list] of [...byParent].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`## ${parent}`, "", "| type | name | settings |", "|---|---|---|");
    for (const r of list) out.push(`| \`${r.type}\` | ${r.name} | ${summary(r).replace(/\|/g, "\\|")} |`);
    out.push("");
  }
  out.push("## Outputs", "", "| output | value |", "|---|---|");
  for (const [k, v] of Object.entries(doc.outputs)) out.push(`| ${k} | \`${brief(v).replace(/\|/g, "\\|")}\` |`);
  return out.join("\n") + "\n";
}

/** A changed input or option: its dotted path and both values. */
export interface Change {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** What differs between two plans. */
export interface PlanDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly { key: string; changes: readonly Change[] }[];
}

function changes(a: unknown, b: unknown, at: string, out: Change[]): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of [...keys].sort()) changes(a[k], b[k], at ? `${at}.${k}` : k, out);
    return;
  }
  out.push({ path: at, before: a, after: b });
}

/** Compares an earlier plan with this one. */
export function diffPlans(before: PlanDocument, after: PlanDocument): PlanDiff {
  const a = new Map(before.resources.map((r) => [r.key, r]));
  const b = new Map(after.resources.map((r) => [r.key, r]));
  const changed: { key: string; changes: Change[] }[] = [];
  for (const [key, r] of b) {
    const old = a.get(key);
    if (!old) continue;
    const list: Change[] = [];
    changes(old.inputs, r.inputs, "inputs", list);
    changes(old.options, r.options, "options", list);
    changes(old.parent, r.parent, "parent", list);
    if (list.length) changed.push({ key, changes: list });
  }
  return {
    added: [...b.keys()].filter((k) => !a.has(k)).sort(),
    removed: [...a.keys()].filter((k) => !b.has(k)).sort(),
    changed: changed.sort((x, y) => x.key.localeCompare(y.key)),
  };
}

/** The diff as text. */
export function renderDiff(diff: PlanDiff): string {
  const lines = [
    `Offline plan diff: ${diff.added.length} to add, ${diff.removed.length} to remove, ${diff.changed.length} to change`,
  ];
  for (const k of diff.added) lines.push(`+ ${k}`);
  for (const k of diff.removed) lines.push(`- ${k}`);
  for (const c of diff.changed) {
    lines.push(`~ ${c.key}`);
    for (const ch of c.changes) lines.push(`    ${ch.path}: ${brief(ch.before)} => ${brief(ch.after)}`);
  }
  return lines.join("\n");
}
