/**
 * Builds one component alone under the offline mocks: no stack file, no config, only the
 * arguments a spec writes out. `evaluateAlone(() => new X("x", {...}))` runs alone-program.ts,
 * which calls the function given here, and returns what the mocks recorded.
 */
import * as path from "node:path";
import { Evaluation, evaluate } from "../../offline/mocks";

let pending: (() => Record<string, unknown> | void) | undefined;

/** Called by alone-program.ts: runs the build function of the current evaluation. */
export function runPendingBuild(): Record<string, unknown> | void {
  if (!pending) throw new Error("alone-program.ts runs only through evaluateAlone");
  return pending();
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Evaluates a program whose only content is `build()` (which declares the component) for a stack
 * named `alone` in eu-west-1. Evaluations share the Pulumi runtime, so they run one at a time.
 */
export function evaluateAlone(build: () => Record<string, unknown> | void): Promise<Evaluation> {
  const run = queue
    .catch(() => undefined)
    .then(async () => {
      pending = build;
      try {
        return await evaluate({
          stack: "alone",
          config: { "aws:region": "eu-west-1" },
          programPath: path.join(__dirname, "alone-program.ts"),
        });
      } finally {
        pending = undefined;
      }
    });
  queue = run;
  return run;
}
