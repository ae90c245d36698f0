/**
 * The shell around each operator command: argument parsing and the one rule for failures (one
 * line on stderr, a non-zero exit code; 2 for a wrong command line, 1 for everything else).
 */
import { OpsError, STACK_RE, UsageError } from "./stack";

/** Where a command prints. */
export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** The console. */
export const CONSOLE_IO: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Parsed command line: the stack, flags with a value, and switches. */
export interface ParsedArgs {
  readonly stack: string;
  readonly values: Readonly<Record<string, string>>;
  readonly switches: ReadonlySet<string>;
}

/**
 * Parses `<stack> [--flag value] [--switch]` against the flags a command knows; `usage` is shown
 * in every error. Throws {@link UsageError}.
 */
export function parseArgs(
  argv: readonly string[],
  spec: { values: readonly string[]; switches: readonly string[] },
  usage: string,
): ParsedArgs {
  const values: Record<string, string> = {};
  const switches = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (spec.switches.includes(name)) switches.add(name);
    else if (spec.values.includes(name)) {
      const value = argv[++i];
      if (value === undefined || value === "") throw new UsageError(`--${name} needs a value; usage: ${usage}`);
      if (values[name] !== undefined) throw new UsageError(`--${name} given twice; usage: ${usage}`);
      values[name] = value;
    } else throw new UsageError(`unknown option ${arg}; usage: ${usage}`);
  }
  if (positional.length !== 1)
    throw new UsageError(
      positional.length
        ? `expected one stack, got ${positional.join(" ")}; usage: ${usage}`
        : `name the stack; usage: ${usage}`,
    );
  if (!STACK_RE.test(positional[0]))
    throw new UsageError(`${JSON.stringify(positional[0])} is not a stack name; usage: ${usage}`);
  return { stack: positional[0], values, switches };
}

/** Runs a command: its exit code, or 2/1 with one line on stderr when it throws. */
export async function runCli(main: () => Promise<number>, io: Io): Promise<number> {
  try {
    return await main();
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}`);
      return 2;
    }
    const message =
      error instanceof OpsError
        ? error.message
        : `unexpected failure: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    io.err(`error: ${message.split("\n")[0]}`);
    return 1;
  }
}
