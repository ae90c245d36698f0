/**
 * IAM policy documents as plain data. Components describe statements with exact ARNs; these
 * helpers serialize them (Outputs included) so tests can assert the JSON AWS will receive.
 */
import * as pulumi from "@pulumi/pulumi";

/** One IAM statement; `Resource` is never `*` unless the action requires it (say why). */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  readonly Resource: pulumi.Input<string> | readonly pulumi.Input<string>[];
  readonly Condition?: Record<string, Record<string, pulumi.Input<string> | readonly pulumi.Input<string>[]>>;
}

/** A policy document: `{"Version":"2012-10-17","Statement":[...]}` as an Output<string>. */
export function policyDocument(statements: readonly Statement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/** Trust policy for an AWS service principal (e.g. `lambda.amazonaws.com`), optionally scoped by conditions. */
export function servicePrincipalTrust(service: string, condition?: Statement["Condition"]): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        ...(condition ? { Condition: condition } : {}),
      },
    ],
  });
}
