/**
 * The slice of Powertools Logger and Metrics the pure cores use. The handlers pass their
 * module-scope Powertools instances; tests pass recorders.
 */

/** Structured logging (Powertools `Logger` satisfies it). */
export interface Log {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** Units the handlers emit. */
export type MetricUnitName = "Count" | "Seconds";

/** EMF metrics (Powertools `Metrics` satisfies it). */
export interface MetricSink {
  addMetric(name: string, unit: MetricUnitName, value: number): unknown;
}
