/**
 * Error classes shared by the handlers. Each names what went wrong and what to change; wrapping
 * errors keep the original as `cause`.
 */

/** The function's environment or packaged configuration is wrong: fix the deployment. */
export class ConfigurationError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ConfigurationError";
  }
}

/** An AWS call the handler depends on failed; the work can be retried as it is. */
export class DownstreamError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DownstreamError";
  }
}

/** `error.message` when it is an Error, else its string form; never throws. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return "unknown error";
  }
}

/** {@link errorMessage} of `error.cause`, or undefined when there is none. */
export function causeMessage(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? undefined : errorMessage(cause);
}

/**
 * Cuts `text` to at most `max` characters, marking the cut with `...`: ASCII, so the result is
 * also a valid SNS subject and ECS tag value (neither allows `…`).
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 3 ? text.slice(0, max) : `${text.slice(0, max - 3)}...`;
}
