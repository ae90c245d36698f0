/**
 * Start-up trims for the processes that evaluate the program under mocks (the offline plan, the
 * tests, the benchmarks), never for `pulumi up`. Each removes work whose result the mocks never
 * use; `bench/plan-scaling.ts` measures them (`planFixedCost`).
 *
 * 1. Lazy modules. `@pulumi/pulumi`'s index loads its automation API, which loads the closure
 *    serializer (`runtime/closure/*`): that requires `typescript` (through typescript-shim.js),
 *    `@npmcli/arborist` and `normalize-package-data` at load time although only
 *    `serializeFunction` and `computeCodePaths` use them, and this program uses neither (its
 *    Lambdas are esbuild bundles, not closures). They load on first use instead.
 * 2. No stack capture per resource and per promise (see {@link trimStackCapture}).
 *
 * Import this module before `@pulumi/pulumi` (it is the first import of offline/mocks.ts and a
 * `--require` of the plan script and of mocha) for (1) to apply.
 */
import Module from "node:module";
import * as path from "node:path";

/** Modules loaded on first use, by the `@pulumi/pulumi` file that requires them. */
const LAZY: Readonly<Record<string, string>> = {
  typescript: `@pulumi${path.sep}pulumi${path.sep}typescript-shim.js`,
  "@npmcli/arborist": `@pulumi${path.sep}pulumi${path.sep}runtime${path.sep}closure${path.sep}codePaths.js`,
  "normalize-package-data": `@pulumi${path.sep}pulumi${path.sep}runtime${path.sep}closure${path.sep}codePaths.js`,
};

/** Modules that were actually loaded through a stand-in (the tests read it). */
export const lazyLoaded = new Set<string>();

/**
 * A stand-in that loads the module on first property read, call or construction. Reading
 * `__esModule` does not load it (TypeScript's import helpers read it at require time; the three
 * modules are CommonJS without it). codePaths.js imports `@npmcli/arborist` with the old
 * `__importStar`, which copies every own property at require time, so its stand-in is an object
 * whose one property, `Arborist` (the only export used), is itself a stand-in.
 */
function standIn(request: string, load: () => unknown): unknown {
  let real: object | undefined;
  const get = () => {
    if (real === undefined) {
      real = load() as object;
      lazyLoaded.add(request);
    }
    return real;
  };
  if (request === "@npmcli/arborist") return { Arborist: proxy(() => (get() as { Arborist: object }).Arborist) };
  return proxy(get);
}

/** A loaded module as the proxy's traps use it: a namespace object, a function or a class. */
type Callable = (...args: unknown[]) => unknown;
type Constructible = new (...args: unknown[]) => object;

function proxy(get: () => object): unknown {
  return new Proxy(
    function lazy() {
      /* replaced by the real module on first use */
    },
    {
      get: (_t, key): unknown => (key === "__esModule" ? undefined : Reflect.get(get(), key)),
      has: (_t, key) => Reflect.has(get(), key),
      apply: (_t, self, args: unknown[]) => Reflect.apply(get() as Callable, self, args),
      construct: (_t, args: unknown[]) => Reflect.construct(get() as Constructible, args),
    },
  );
}

/** `DBT_PIPELINE_OFFLINE_TRIMS=off` turns both trims off (the benchmark's paired runs compare with and without). */
const enabled = process.env.DBT_PIPELINE_OFFLINE_TRIMS !== "off";

type Load = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;
const moduleWithLoad = Module as unknown as { _load: Load };
const originalLoad = moduleWithLoad._load;
if (enabled && !(originalLoad as { lazyStandIns?: boolean }).lazyStandIns) {
  const load: Load = function (this: unknown, request, parent, isMain) {
    const from = LAZY[request];
    if (from && parent?.filename?.endsWith(from))
      return standIn(request, () => originalLoad.call(this, request, parent, isMain));
    return originalLoad.call(this, request, parent, isMain);
  };
  (load as { lazyStandIns?: boolean }).lazyStandIns = true;
  moduleWithLoad._load = load;
}

/**
 * Under mocks nobody reads the source position Pulumi records for each resource, nor the stack
 * it keeps on each of its promises for a leak report; both format a full stack trace, and with
 * source maps on (tsx) each frame is mapped, about a third of an evaluation. Resource positions
 * become unknown (the engine accepts none: `sourcePosition` is optional in RegisterResourceRequest)
 * and promise stacks hold only their message. Errors thrown by the program keep their stacks.
 */
export function trimStackCapture(pulumiModule: { Resource: unknown }): void {
  const resource = pulumiModule.Resource as { stackTrace(skip: number): unknown[]; trimmed?: boolean };
  if (!enabled || resource.trimmed) return;
  resource.stackTrace = () => [];
  resource.trimmed = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
    debuggablePromise: (p: Promise<unknown>, ctx: string) => Promise<unknown>;
  };
  const original = debuggable.debuggablePromise;
  debuggable.debuggablePromise = (p, ctx) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return original(p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}
