/**
 * The dbt-pipeline policy pack: `pulumi preview --policy-pack policy` (and CI) checks every
 * resource of a stack against the rules this pipeline lives by. The rules live in rules.ts so
 * the test suite can run them over both stacks without starting the policy server.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./rules";

new PolicyPack("dbt-pipeline", { policies: POLICIES, description: "Safety rules for the dbt-pipeline stacks." });
